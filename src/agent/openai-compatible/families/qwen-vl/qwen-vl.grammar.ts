import type { ChatCompletionMessage } from 'openai/resources/chat/completions';
import type { ComputerAction, Coordinate } from '../../../../computer/computer.module';
import type { FamilyReading, FamilyStep } from '../../chat-family';

/** What a Qwen step keeps: the answer as written (tool calls in `<tool_call>` blocks), and an `answer` it gave. */
export interface QwenKept {
  text: string;
  answer?: string;
}

/** The `computer_use` actions of each version's tool (Qwen's cookbook, cookbooks/utils/agent_function_call.py). */
export const QWEN25_ACTIONS = ['key', 'type', 'mouse_move', 'left_click', 'left_click_drag', 'right_click', 'middle_click', 'double_click', 'scroll', 'wait', 'terminate'] as const;
export const QWEN3_ACTIONS = [
  'key', 'type', 'mouse_move', 'left_click', 'left_click_drag', 'right_click', 'middle_click', 'double_click', 'triple_click',
  'scroll', 'hscroll', 'wait', 'terminate', 'answer',
] as const;

/** Scroll amounts are wheel clicks (what pyautogui.scroll, the authors' executor, does with them on Linux); at most this many. */
export const QWEN_MAX_SCROLL = 100;

class Unreadable extends Error {}

const FORMAT_HINT =
  'Call the computer_use function in a <tool_call></tool_call> block holding JSON, e.g. <tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [500, 300]}}\n</tool_call>';

const CLICKS: Record<string, ComputerAction['action']> = {
  left_click: 'left_click', right_click: 'right_click', middle_click: 'middle_click', double_click: 'double_click', triple_click: 'triple_click',
};

interface ToolCall {
  name?: unknown;
  arguments?: unknown;
}

/** The tool calls of an answer: `<tool_call>` blocks in its text, or the ones the server already parsed out. */
function toolCalls(message: ChatCompletionMessage): { calls: ToolCall[]; text: string; thought?: string } {
  const content = message.content ?? '';
  const calls: ToolCall[] = [];
  const blocks = [...content.matchAll(/<tool_call>([\s\S]*?)(?:<\/tool_call>|$)/g)];
  for (const [, body] of blocks) {
    try {
      calls.push(JSON.parse(body.trim()) as ToolCall);
    } catch (e) {
      throw new Unreadable(`A <tool_call> block is not valid JSON (${(e as Error).message}): ${body.trim().slice(0, 200)}.`);
    }
  }
  let text = content;
  for (const call of message.tool_calls ?? []) {
    if (call.type !== 'function') continue;
    let args: unknown;
    try {
      args = JSON.parse(call.function.arguments || '{}');
    } catch (e) {
      throw new Unreadable(`The arguments of ${call.function.name} are not valid JSON (${(e as Error).message}).`);
    }
    calls.push({ name: call.function.name, arguments: args });
    text += `\n<tool_call>\n${JSON.stringify({ name: call.function.name, arguments: args })}\n</tool_call>`;
  }
  const thought = content.replace(/<tool_call>[\s\S]*?(<\/tool_call>|$)/g, '').trim() || undefined;
  return { calls, text: text.trim(), thought };
}

function point(args: Record<string, unknown>, convention: 'image' | 'grid-999', required: boolean, action: string): Coordinate | undefined {
  const c = args.coordinate;
  if (c === undefined || c === null) {
    if (required) throw new Unreadable(`${action} needs coordinate: [x, y].`);
    return undefined;
  }
  if (!Array.isArray(c) || c.length !== 2 || !c.every((n) => typeof n === 'number' && Number.isFinite(n))) {
    throw new Unreadable(`${action}: coordinate must be [x, y] with two numbers${convention === 'grid-999' ? ' from 0 to 999' : ''}, not ${JSON.stringify(c)}.`);
  }
  return [c[0] as number, c[1] as number];
}

/** The text of the `answer` the model gave in an earlier step, the latest first. */
function earlierAnswer(steps: readonly FamilyStep[]): string | undefined {
  for (let i = steps.length - 1; i >= 0; i--) {
    const a = (steps[i].kept as QwenKept | undefined)?.answer;
    if (a) return a;
  }
  return undefined;
}

/**
 * Reads one answer of a Qwen-VL model driving the `computer_use` tool: `<tool_call>{"name": "computer_use",
 * "arguments": {...}}</tool_call>` blocks (one or several) after a short thought. Points stay in the version's
 * convention (`image` pixels for Qwen2.5-VL, the 0–999 grid for Qwen3-VL); the model maps them. terminate
 * ends the task (success: with the `answer` given, failure: AGENT_GAVE_UP); anything unreadable, an unknown
 * action or a bad argument is a reading with `error` and nothing runs.
 */
export function readQwenComputerUse(message: ChatCompletionMessage, version: '2.5' | '3', steps: readonly FamilyStep[]): FamilyReading {
  const convention = version === '3' ? 'grid-999' : 'image';
  const known: readonly string[] = version === '3' ? QWEN3_ACTIONS : QWEN25_ACTIONS;
  const kept: QwenKept = { text: message.content ?? '' };
  let thought: string | undefined;
  try {
    const parsed = toolCalls(message);
    kept.text = parsed.text;
    thought = parsed.thought;
    if (!parsed.calls.length) {
      throw new Unreadable(`The answer holds no tool call. ${FORMAT_HINT}. When the task is done, call it with "action": "terminate".`);
    }
    const actions: ComputerAction[] = [];
    for (const call of parsed.calls) {
      if (call.name !== 'computer_use') throw new Unreadable(`Unknown function ${JSON.stringify(call.name)}: the only function is computer_use.`);
      const args = (call.arguments && typeof call.arguments === 'object' ? call.arguments : {}) as Record<string, unknown>;
      const action = args.action;
      if (typeof action !== 'string' || !known.includes(action)) {
        throw new Unreadable(`Unknown action ${JSON.stringify(action ?? null)}. The actions are: ${known.join(', ')}.`);
      }
      const click = CLICKS[action];
      if (click) {
        const at = point(args, convention, false, action);
        actions.push({ action: click, ...(at ? { coordinate: at } : {}) });
        continue;
      }
      switch (action) {
        case 'key': {
          const keys = Array.isArray(args.keys) ? args.keys : typeof args.keys === 'string' ? [args.keys] : undefined;
          if (!keys?.length || !keys.every((k) => typeof k === 'string' && k.trim())) throw new Unreadable('key needs keys: a list of key names, e.g. ["ctrl", "c"].');
          actions.push({ action: 'key', text: (keys as string[]).map((k) => k.trim()).join('+') });
          break;
        }
        case 'type':
          if (typeof args.text !== 'string' || !args.text) throw new Unreadable('type needs text: the text to type.');
          actions.push({ action: 'type', text: args.text });
          break;
        case 'mouse_move':
          actions.push({ action: 'mouse_move', coordinate: point(args, convention, true, action) });
          break;
        case 'left_click_drag':
          // From where the pointer is to the coordinate, as the tool says.
          actions.push({ action: 'left_click_drag', coordinate: point(args, convention, true, action) });
          break;
        case 'scroll':
        case 'hscroll': {
          const pixels = args.pixels;
          if (typeof pixels !== 'number' || !Number.isFinite(pixels) || Math.round(pixels) === 0 || Math.abs(Math.round(pixels)) > QWEN_MAX_SCROLL) {
            throw new Unreadable(
              `${action} needs pixels: a whole number of wheel clicks from 1 to ${QWEN_MAX_SCROLL}, positive ${action === 'scroll' ? 'up' : 'right'} and negative ${action === 'scroll' ? 'down' : 'left'}, not ${JSON.stringify(pixels ?? null)}.`,
            );
          }
          const n = Math.round(pixels);
          const direction = action === 'scroll' ? (n > 0 ? 'up' : 'down') : n > 0 ? 'right' : 'left';
          const at = point(args, convention, false, action);
          actions.push({ action: 'scroll', scroll_direction: direction, scroll_amount: Math.abs(n), ...(at ? { coordinate: at } : {}) });
          break;
        }
        case 'wait': {
          const time = args.time;
          if (typeof time !== 'number' || !Number.isFinite(time) || time < 0 || time > 100) throw new Unreadable('wait needs time: the seconds to wait, 0 to 100.');
          actions.push({ action: 'wait', duration: time });
          break;
        }
        case 'answer':
          if (typeof args.text !== 'string' || !args.text.trim()) throw new Unreadable('answer needs text: the answer.');
          kept.answer = args.text.trim();
          break;
        case 'terminate': {
          const status = args.status;
          if (status === 'failure') {
            return { thought, actions, gaveUp: `The model ended the task as failed (terminate with status "failure")${thought ? `: ${thought}` : '.'}`, kept };
          }
          if (status !== 'success') throw new Unreadable(`terminate needs status: "success" or "failure", not ${JSON.stringify(status ?? null)}.`);
          // Without an `answer`, the thought stands for it (its "Thought:" part when it has the layout the prompt asks for).
          const said = thought && (/^Thought:\s*([\s\S]*?)\s*(?:\nAction:[\s\S]*)?$/.exec(thought)?.[1] || thought);
          return { thought, actions, done: { answer: kept.answer ?? earlierAnswer(steps) ?? said ?? 'The model reported the task done.' }, kept };
        }
      }
    }
    return { thought, actions, kept };
  } catch (e) {
    if (e instanceof Unreadable) return { thought, actions: [], error: `${e.message} Nothing was done.`, kept };
    throw e;
  }
}

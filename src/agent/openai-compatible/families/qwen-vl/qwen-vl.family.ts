import { Injectable } from '@nestjs/common';
import type { ChatCompletionContentPart, ChatCompletionMessage, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { ChatFamily, FamilyPrompt, FamilyReading, FamilyRequest, FamilyStep, RegisterChatFamily } from '../../chat-family';
import type { SentImage, SmartResize } from '../../image-sizing';
import { QWEN25_ACTIONS, QWEN3_ACTIONS, QwenKept, readQwenComputerUse } from './qwen-vl.grammar';

export const QWEN_OMITTED = '(An older screenshot was here; only the most recent ones are kept.)';

/** What each action does, in our words; the names and parameters are the `computer_use` tool's. */
const ACTION_NOTES: Record<string, string> = {
  key: 'press the keys in `keys` together (a chord such as ["ctrl", "c"]), then release them',
  type: 'type `text` on the keyboard',
  mouse_move: 'move the pointer to `coordinate`',
  left_click: 'left-click at `coordinate`',
  left_click_drag: 'press the left button where the pointer is and drag to `coordinate`',
  right_click: 'right-click at `coordinate`',
  middle_click: 'middle-click at `coordinate`',
  double_click: 'double-click at `coordinate`',
  triple_click: 'triple-click at `coordinate` (selects a line or paragraph)',
  scroll: 'turn the mouse wheel by `pixels` clicks: positive scrolls up, negative down',
  hscroll: 'scroll sideways by `pixels` clicks: positive to the right, negative to the left',
  wait: 'wait `time` seconds, then look at the screen again',
  terminate: 'end the task, with `status` "success" when it is done or "failure" when it cannot be done',
  answer: 'give `text` as the answer to the user\'s question (before terminate)',
};

/** The `computer_use` function as Qwen's agent cookbook declares it, for a screen of the given resolution. */
function computerUseTool(actions: readonly string[], width: number, height: number) {
  return {
    type: 'function',
    function: {
      name: 'computer_use',
      description: [
        'Use a mouse and keyboard to interact with a computer, and take screenshots.',
        '* This is a Linux desktop; start programs from what the screen shows.',
        '* Programs may take a while to open or to react: wait, and look at the next screenshot, before acting again.',
        `* The screen's resolution is ${width}x${height}.`,
        '* Look at the screenshot to find where an element is before you point at it.',
        '* Point at the centre of buttons, links, icons and fields, not at their edges.',
      ].join('\n'),
      parameters: {
        properties: {
          action: { description: `The action to perform:\n${actions.map((a) => `* \`${a}\`: ${ACTION_NOTES[a]}.`).join('\n')}`, enum: actions, type: 'string' },
          keys: { description: 'Required only by `action=key`.', type: 'array' },
          text: { description: `Required only by \`action=type\`${actions.includes('answer') ? ' and `action=answer`' : ''}.`, type: 'string' },
          coordinate: { description: '(x, y): pixels from the left edge and from the top edge.', type: 'array' },
          pixels: { description: `Wheel clicks. Required only by \`action=scroll\`${actions.includes('hscroll') ? ' and `action=hscroll`' : ''}.`, type: 'number' },
          time: { description: 'Seconds. Required only by `action=wait`.', type: 'number' },
          status: { description: 'Required only by `action=terminate`.', type: 'string', enum: ['success', 'failure'] },
        },
        required: ['action'],
        type: 'object',
      },
    },
  };
}

/**
 * Qwen's function-calling template (what its chat template writes for `tools`), holding the one tool; the model
 * answers with <tool_call> blocks in its text, so no tool-call parser is needed on the server.
 */
function toolsSection(tool: object): string {
  return `# Tools

You may call one or more functions to assist with the user query.

You are provided with function signatures within <tools></tools> XML tags:
<tools>
${JSON.stringify(tool)}
</tools>

For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:
<tool_call>
{"name": <function-name>, "arguments": <args-json-object>}
</tool_call>`;
}

const screen = (image: SentImage | undefined): ChatCompletionContentPart =>
  image ? { type: 'image_url', image_url: { url: image.url } } : { type: 'text', text: QWEN_OMITTED };

/** What became of a step's calls, as the function results the template wraps in <tool_response>. */
function toolResponse(step: FamilyStep): string {
  const lines = step.outcomes.map((o) => (o.status === 'ok' ? 'done' : o.status === 'error' ? `error: ${o.text}` : `not carried out: ${o.text}`));
  if (!lines.length) lines.push((step.kept as QwenKept).answer ? 'answer recorded' : 'nothing was done');
  return `<tool_response>\n${lines.length > 1 ? lines.map((l, i) => `${i + 1}. ${l}`).join('\n') : lines[0]}\n</tool_response>`;
}

/** The conversation both versions share: the system prompt, the task and screen, then each answer and what came of it. */
function conversation(system: string, { task, steps, image }: FamilyPrompt): ChatCompletionMessageParam[] {
  const messages: ChatCompletionMessageParam[] = [
    { role: 'system', content: system },
    { role: 'user', content: [{ type: 'text', text: `The user query: ${task}` }, screen(steps.length ? steps[0].image : image)] },
  ];
  for (const [i, step] of steps.entries()) {
    messages.push({ role: 'assistant', content: (step.kept as QwenKept).text });
    messages.push({ role: 'user', content: [{ type: 'text', text: toolResponse(step) }, screen(i + 1 < steps.length ? steps[i + 1].image : image)] });
  }
  return messages;
}

/**
 * `qwen3-vl`: Qwen3-VL (and EvoCUA, which speaks Qwen3-VL's computer_use tool). Points on a relative grid:
 * the screen is 1000x1000 to the model whatever its size (0–999; Qwen's cookbook scales back by /999). Images are
 * smart-resized as Qwen3-VL's processor does (factor 32, 64·32² to 16384·32² pixels), so the server keeps them as sent.
 */
@Injectable()
@RegisterChatFamily()
export class Qwen3VlFamily extends ChatFamily {
  readonly name = 'qwen3-vl';
  readonly coordinates = 'grid-999';
  override readonly sizing: SmartResize = { factor: 32, minPixels: 64 * 32 * 32, maxPixels: 16384 * 32 * 32 };

  request(prompt: FamilyPrompt): FamilyRequest {
    const system = `${toolsSection(computerUseTool(QWEN3_ACTIONS, 1000, 1000))}

# Response format

Each answer has three parts, in this order, and nothing else:
Thought: one sentence on what to do next and why.
Action: one short imperative naming what you do in the UI.
One <tool_call></tool_call> block holding only the JSON {"name": "computer_use", "arguments": {...}}.
When the task is done, call action=terminate (after action=answer when the user asked a question).`;
    return { messages: conversation(system, prompt), max_tokens: 2048 };
  }

  read(message: ChatCompletionMessage, _image: unknown, prompt: FamilyPrompt): FamilyReading {
    return readQwenComputerUse(message, '3', prompt.steps);
  }
}

/**
 * `qwen2.5-vl`: Qwen2.5-VL. Points are pixels of the image it was shown, which is smart-resized as its processor
 * does (factor 28, 4·28² to 16384·28² pixels) and whose size the tool states as the screen's resolution.
 */
@Injectable()
@RegisterChatFamily()
export class Qwen25VlFamily extends ChatFamily {
  readonly name = 'qwen2.5-vl';
  readonly coordinates = 'image';
  override readonly sizing: SmartResize = { factor: 28, minPixels: 4 * 28 * 28, maxPixels: 16384 * 28 * 28 };

  request(prompt: FamilyPrompt): FamilyRequest {
    const system = `You are a helpful assistant.

${toolsSection(computerUseTool(QWEN25_ACTIONS, prompt.image.width, prompt.image.height))}

Before each tool call, say in one sentence what you do next. When the task is done, call action=terminate.`;
    return { messages: conversation(system, prompt), max_tokens: 2048 };
  }

  read(message: ChatCompletionMessage, _image: unknown, prompt: FamilyPrompt): FamilyReading {
    return readQwenComputerUse(message, '2.5', prompt.steps);
  }
}

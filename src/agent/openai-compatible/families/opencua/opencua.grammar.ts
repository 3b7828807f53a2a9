import type { ComputerAction, Coordinate } from '../../../../computer/computer.module';
import type { FamilyReading } from '../../chat-family';
import { parseCalls, PyCall, PythonSyntaxError, PyValue } from '../../python-call';

/** What an OpenCUA step keeps: the answer as written, and its Thought and Action sections for the history. */
export interface OpenCuaKept {
  text: string;
  thought?: string;
  action?: string;
}

/** The calls this family carries out, for error messages. */
export const OPENCUA_CALLS = [
  'pyautogui.click', 'pyautogui.doubleClick', 'pyautogui.tripleClick', 'pyautogui.rightClick', 'pyautogui.middleClick', 'pyautogui.moveTo',
  'pyautogui.dragTo', 'pyautogui.write', 'pyautogui.press', 'pyautogui.hotkey', 'pyautogui.scroll', 'pyautogui.hscroll',
  'computer.triple_click', 'computer.terminate', 'time.sleep',
];

/** pyautogui's parameters, in order, for the calls whose arguments may be positional. */
const PARAMS: Record<string, string[]> = {
  click: ['x', 'y', 'clicks', 'interval', 'button'],
  doubleClick: ['x', 'y', 'interval', 'button'],
  tripleClick: ['x', 'y', 'interval', 'button'],
  rightClick: ['x', 'y'],
  middleClick: ['x', 'y'],
  moveTo: ['x', 'y', 'duration'],
  dragTo: ['x', 'y', 'duration', 'button'],
  write: ['message', 'interval'],
  typewrite: ['message', 'interval'],
  press: ['keys', 'presses', 'interval'],
  scroll: ['clicks', 'x', 'y'],
  hscroll: ['clicks', 'x', 'y'],
  triple_click: ['x', 'y'],
  terminate: ['status'],
  sleep: ['secs'],
};

class Unreadable extends Error {}

const FORMAT_HINT = 'Answer with "## Thought:", "## Action:" and "## Code:" sections; the code is a ```python block of pyautogui calls, e.g. pyautogui.click(x=100, y=200).';

/** An argument by name or position (pyautogui's order). */
function arg(call: PyCall, name: string): PyValue | undefined {
  if (name in call.kwargs) return call.kwargs[name];
  const i = (PARAMS[call.name.split('.').pop() ?? ''] ?? []).indexOf(name);
  return i >= 0 ? call.args[i] : undefined;
}

/** The sections of an answer: "## Thought:", "## Action:", "## Code:" (as in OpenCUA's response templates). */
function sections(answer: string): { thought?: string; action?: string; code?: string } {
  const section = (name: string) => new RegExp(`^##\\s*${name}\\s*:?[ \\t]*\\n?([\\s\\S]*?)(?=^##|(?![\\s\\S]))`, 'm').exec(answer)?.[1]?.trim() || undefined;
  const blocks = [...answer.matchAll(/```(?:python|code|py)?[ \t]*\n([\s\S]*?)```/g)];
  return { thought: section('Thought'), action: section('Action'), code: blocks.at(-1)?.[1] };
}

/**
 * Reads one OpenCUA answer ("## Thought / ## Action / ## Code" with a ```python block of pyautogui calls, or
 * computer.triple_click / computer.terminate). Points are pixels of the image the model was shown (the smart-resized
 * screenshot, as OpenCUA-7B/32B answer); a point with both values within 0..1 is read as a fraction of the image,
 * as the authors' agent does. All calls of the block run, in order; anything unreadable, unknown or out of
 * range is a reading with `error` and nothing runs.
 */
export function readOpenCua(answer: string, image: { width: number; height: number }): FamilyReading {
  const { thought, action, code } = sections(answer);
  const kept: OpenCuaKept = { text: answer, thought, action };
  const shownThought = [thought, action].filter(Boolean).join('\n') || undefined;
  try {
    if (!answer.trim()) throw new Unreadable(`The answer was empty. ${FORMAT_HINT}`);
    if (code === undefined) throw new Unreadable(`The answer has no code block. ${FORMAT_HINT}`);
    let calls: PyCall[];
    try {
      calls = parseCalls(code);
    } catch (e) {
      if (e instanceof PythonSyntaxError) throw new Unreadable(`The code could not be read (${e.message}); write one pyautogui call per line with literal arguments.`);
      throw e;
    }
    if (!calls.length) throw new Unreadable(`The code block is empty. ${FORMAT_HINT}`);
    const at = (call: PyCall, required: boolean): Coordinate | undefined => {
      const x = arg(call, 'x');
      const y = arg(call, 'y');
      if ((x === undefined || x === null) && (y === undefined || y === null)) {
        if (required) throw new Unreadable(`${call.name} needs x and y.`);
        return undefined;
      }
      if (typeof x !== 'number' || typeof y !== 'number' || !Number.isFinite(x) || !Number.isFinite(y)) {
        throw new Unreadable(`${call.name}: x and y must be numbers, not ${JSON.stringify(x ?? null)} and ${JSON.stringify(y ?? null)}.`);
      }
      // Both within 0..1: a fraction of the image (the authors' "qwen25" projection reads it so).
      if (x >= 0 && x <= 1 && y >= 0 && y <= 1 && !(Number.isInteger(x) && Number.isInteger(y))) return [x * image.width, y * image.height];
      return [x, y];
    };
    const actions: ComputerAction[] = [];
    for (const call of calls) {
      switch (call.name) {
        case 'pyautogui.click': {
          const button = arg(call, 'button') ?? 'left';
          const clicks = arg(call, 'clicks') ?? 1;
          const p = at(call, false);
          const where = p ? { coordinate: p } : {};
          if (button === 'right' || button === 'middle') {
            if (clicks !== 1) throw new Unreadable(`${call.name}: only single ${button} clicks are supported.`);
            actions.push({ action: button === 'right' ? 'right_click' : 'middle_click', ...where });
          } else if (button === 'left' || button === 'primary') {
            if (clicks !== 1 && clicks !== 2 && clicks !== 3) throw new Unreadable(`${call.name}: clicks must be 1, 2 or 3.`);
            actions.push({ action: clicks === 1 ? 'left_click' : clicks === 2 ? 'double_click' : 'triple_click', ...where });
          } else throw new Unreadable(`${call.name}: button must be 'left', 'right' or 'middle', not ${JSON.stringify(button)}.`);
          break;
        }
        case 'pyautogui.doubleClick':
        case 'pyautogui.tripleClick':
        case 'computer.triple_click':
        case 'pyautogui.rightClick':
        case 'pyautogui.middleClick': {
          const kind = call.name.split('.')[1];
          const p = at(call, kind === 'triple_click');
          const name = kind === 'doubleClick' ? 'double_click' : kind === 'rightClick' ? 'right_click' : kind === 'middleClick' ? 'middle_click' : 'triple_click';
          actions.push({ action: name, ...(p ? { coordinate: p } : {}) });
          break;
        }
        case 'pyautogui.moveTo':
          actions.push({ action: 'mouse_move', coordinate: at(call, true) });
          break;
        case 'pyautogui.dragTo': {
          const button = arg(call, 'button') ?? 'left';
          if (button !== 'left') throw new Unreadable(`${call.name}: only the left button drags.`);
          // From where the pointer is (a moveTo before it), as pyautogui does.
          actions.push({ action: 'left_click_drag', coordinate: at(call, true) });
          break;
        }
        case 'pyautogui.write':
        case 'pyautogui.typewrite': {
          const message = arg(call, 'message');
          if (typeof message !== 'string' || !message) throw new Unreadable(`${call.name} needs message='the text'.`);
          // pyautogui types "\n" as Enter; so do we.
          const lines = message.split('\n');
          lines.forEach((line, i) => {
            if (line) actions.push({ action: 'type', text: line });
            if (i < lines.length - 1) actions.push({ action: 'key', text: 'Return' });
          });
          break;
        }
        case 'pyautogui.press': {
          const keys = arg(call, 'keys');
          const list = typeof keys === 'string' ? [keys] : Array.isArray(keys) && keys.every((k) => typeof k === 'string') ? (keys) : undefined;
          if (!list?.length) throw new Unreadable(`${call.name} needs a key name or a list of them, e.g. pyautogui.press('enter').`);
          const presses = arg(call, 'presses') ?? 1;
          if (typeof presses !== 'number' || !Number.isInteger(presses) || presses < 1 || presses > 100) throw new Unreadable(`${call.name}: presses must be a whole number from 1 to 100.`);
          // A list is pressed key after key (pyautogui's meaning), not as a chord: that is hotkey().
          for (const k of list) actions.push({ action: 'key', text: k, ...(presses > 1 ? { repeat: presses } : {}) });
          break;
        }
        case 'pyautogui.hotkey': {
          const keys = Array.isArray(call.kwargs.keys) ? call.kwargs.keys : call.args;
          if (!keys.length || !keys.every((k) => typeof k === 'string' && k)) throw new Unreadable(`${call.name} needs key names, e.g. pyautogui.hotkey('ctrl', 'c').`);
          actions.push({ action: 'key', text: (keys as string[]).join('+') });
          break;
        }
        case 'pyautogui.scroll':
        case 'pyautogui.hscroll': {
          const clicks = arg(call, 'clicks');
          if (typeof clicks !== 'number' || !Number.isInteger(clicks) || clicks === 0 || Math.abs(clicks) > 100) {
            throw new Unreadable(`${call.name} needs clicks: a whole number of wheel clicks from 1 to 100 (negative for ${call.name === 'pyautogui.scroll' ? 'down' : 'left'}).`);
          }
          const vertical = call.name === 'pyautogui.scroll';
          const direction = vertical ? (clicks > 0 ? 'up' : 'down') : clicks > 0 ? 'right' : 'left';
          const p = at(call, false);
          actions.push({ action: 'scroll', scroll_direction: direction, scroll_amount: Math.abs(clicks), ...(p ? { coordinate: p } : {}) });
          break;
        }
        case 'time.sleep': {
          const secs = arg(call, 'secs');
          if (typeof secs !== 'number' || secs < 0 || secs > 100) throw new Unreadable(`${call.name} needs the seconds, 0 to 100.`);
          actions.push({ action: 'wait', duration: secs });
          break;
        }
        case 'computer.terminate': {
          const status = arg(call, 'status');
          if (status === 'failure' || status === 'fail') {
            return { thought: shownThought, actions, gaveUp: `The model ended the task as failed (computer.terminate with status "${status}")${thought ? `: ${thought}` : '.'}`, kept };
          }
          if (status !== 'success') throw new Unreadable(`${call.name} needs status='success' or status='failure', not ${JSON.stringify(status ?? null)}.`);
          return { thought: shownThought, actions, done: { answer: action ?? thought ?? 'The model reported the task done.' }, kept };
        }
        default:
          throw new Unreadable(`Unknown call ${call.name}(). The calls are: ${OPENCUA_CALLS.map((c) => `${c}()`).join(', ')}.`);
      }
    }
    return { thought: shownThought, actions, kept };
  } catch (e) {
    if (e instanceof Unreadable) return { thought: shownThought, actions: [], error: `${e.message} Nothing was done.`, kept };
    throw e;
  }
}

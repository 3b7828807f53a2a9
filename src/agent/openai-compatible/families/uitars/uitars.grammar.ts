import type { ComputerAction, Coordinate } from '../../../../computer/computer.module';
import type { FamilyReading } from '../../chat-family';
import { parseCall, parseCalls, PyCall, PythonSyntaxError, PyValue } from '../../python-call';

/** What a UI-TARS step keeps: the answer as the model wrote it (sent back as its assistant turn). */
export interface UiTarsKept {
  text: string;
}

/** The actions of the UI-TARS computer-use action space this family carries out, for error messages. */
export const UITARS_ACTIONS = ['click', 'left_double', 'right_single', 'drag', 'hotkey', 'type', 'scroll', 'wait', 'finished', 'call_user'];

/** Wheel clicks of one scroll(): the authors' reference executor scrolls 5. */
export const UITARS_SCROLL_CLICKS = 5;
/** wait(): "Sleep for 5s". */
export const UITARS_WAIT_S = 5;

class Unreadable extends Error {}

const FORMAT_HINT = "Answer with a \"Thought: ...\" line, then an \"Action: ...\" line holding one action of the action space, e.g. Action: click(point='<point>100 200</point>').";

/**
 * A point as UI-TARS writes it: `<point>x y</point>` (UI-TARS-1.5's computer-use prompt), `(x,y)` with or without
 * `<|box_start|>`/`<|box_end|>`, or a box `[x1, y1, x2, y2]` / `<bbox>x1 y1 x2 y2</bbox>` (its centre).
 */
export function uiTarsPoint(v: PyValue | undefined, what: string): Coordinate {
  let nums: number[] | undefined;
  if (typeof v === 'string') {
    const body = v.replace(/<\|box_start\|>|<\|box_end\|>|<\/?point>|<\/?bbox>/g, ' ');
    if (/^[\s\d.,()[\]-]*$/.test(body)) nums = (body.match(/-?\d+(?:\.\d+)?/g) ?? []).map(Number);
  } else if (Array.isArray(v) && v.every((n) => typeof n === 'number')) nums = v;
  if (nums?.length === 2) return [nums[0], nums[1]];
  if (nums?.length === 4) return [(nums[0] + nums[2]) / 2, (nums[1] + nums[3]) / 2];
  throw new Unreadable(`${what} must be a point such as '<point>100 200</point>', not ${v === undefined ? 'missing' : JSON.stringify(v)}.`);
}

function text(call: PyCall, key: string): string | undefined {
  const v = call.kwargs[key] ?? (Object.keys(call.kwargs).length === 0 ? call.args[0] : undefined);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new Unreadable(`${call.name}: ${key} must be a quoted text, not ${JSON.stringify(v)}.`);
  return v;
}

/** The point of a call: `point=` (1.5), `start_box=` (earlier prompts) or the first positional argument. */
function pointOf(call: PyCall, ...keys: string[]): Coordinate | undefined {
  for (const k of keys) if (k in call.kwargs) return uiTarsPoint(call.kwargs[k], `${call.name}: ${k}`);
  return call.args.length ? uiTarsPoint(call.args[0], `${call.name}: the point`) : undefined;
}

function needPoint(call: PyCall, ...keys: string[]): Coordinate {
  const p = pointOf(call, ...keys);
  if (!p) throw new Unreadable(`${call.name} needs ${keys[0]}='<point>x y</point>'.`);
  return p;
}

/** `type(content=...)` may hold quotes the model did not escape: take everything up to the final `')`. */
function lenientContentCall(chunk: string): PyCall | undefined {
  const m = /^\s*(type|finished)\(content=(['"])([\s\S]*)\2\)\s*$/.exec(chunk);
  if (!m) return undefined;
  const content = m[3].replace(/\\n/g, '\n').replace(/\\(['"\\])/g, '$1');
  return { name: m[1], args: [], kwargs: { content }, source: chunk.trim() };
}

/** The calls of the Action part: one after another; an unescaped quote in type()/finished() content is tolerated. */
function callsOf(actionText: string): PyCall[] {
  try {
    const calls = parseCalls(actionText);
    if (calls.length) return calls;
  } catch (e) {
    if (!(e instanceof PythonSyntaxError)) throw e;
    // The authors' parser splits actions at ")" followed by a blank line; do the same, then read each.
    const chunks = actionText.split(/(?<=\))\s*\n\s*\n/).filter((c) => c.trim());
    try {
      return chunks.map((c) => {
        try {
          return parseCall(c);
        } catch (inner) {
          const lenient = lenientContentCall(c);
          if (lenient) return lenient;
          throw inner;
        }
      });
    } catch (again) {
      if (again instanceof PythonSyntaxError) throw new Unreadable(`The action could not be read (${again.message}). ${FORMAT_HINT}`);
      throw again;
    }
  }
  throw new Unreadable(`The "Action:" part holds no action. ${FORMAT_HINT}`);
}

/** Splits an answer into its thought and its action text ("Action:" may come with a full-width colon). */
function sections(answer: string): { thought?: string; action?: string } {
  const text = answer.replace(/^(\s*(?:Thought|Action|Reflection|Action_Summary))：/gm, '$1:');
  const marks = [...text.matchAll(/(?:^|\n)[ \t]*Action:[ \t]*/g)];
  const last = marks.at(-1);
  const head = last ? text.slice(0, last.index) : text;
  const thought = /(?:Thought|Action_Summary):\s*([\s\S]*)$/.exec(head)?.[1]?.trim() ?? (head.trim() || undefined);
  if (!last) return { thought };
  const action = text.slice((last.index ?? 0) + last[0].length).replace(/```\s*$/, '').trim();
  return { thought, action };
}

/**
 * Reads one UI-TARS answer ("Thought: …\nAction: …", UI-TARS-1.5's computer-use grammar, and the
 * `start_box='(x,y)'` form of the earlier prompts) into actions whose points are pixels of the image the
 * model was shown. An answer that cannot be read, an unknown action, or a missing or malformed argument
 * is a reading with `error` (nothing runs), never a guess.
 */
export function readUiTars(answer: string): FamilyReading {
  const kept: UiTarsKept = { text: answer };
  const { thought, action } = sections(answer);
  try {
    if (!answer.trim()) throw new Unreadable(`The answer was empty. ${FORMAT_HINT}`);
    let actionText = action;
    if (actionText === undefined) {
      // A bare call without "Action:" (the authors' client reads it too); anything else is not an answer.
      if (!/^\s*[a-z_]+\(/.test(answer)) throw new Unreadable(`The answer has no "Action:" line. ${FORMAT_HINT}`);
      actionText = answer;
    }
    const actions: ComputerAction[] = [];
    for (const call of callsOf(actionText)) {
      switch (call.name) {
        case 'click':
        case 'left_single':
          actions.push({ action: 'left_click', coordinate: needPoint(call, 'point', 'start_box') });
          break;
        case 'left_double':
          actions.push({ action: 'double_click', coordinate: needPoint(call, 'point', 'start_box') });
          break;
        case 'right_single':
          actions.push({ action: 'right_click', coordinate: needPoint(call, 'point', 'start_box') });
          break;
        case 'hover':
          actions.push({ action: 'mouse_move', coordinate: needPoint(call, 'point', 'start_box') });
          break;
        case 'drag':
        case 'select': {
          const from = call.kwargs.start_point ?? call.kwargs.start_box;
          const to = call.kwargs.end_point ?? call.kwargs.end_box;
          if (from === undefined || to === undefined) throw new Unreadable(`${call.name} needs start_point='<point>x1 y1</point>' and end_point='<point>x2 y2</point>'.`);
          actions.push({ action: 'left_click_drag', start_coordinate: uiTarsPoint(from, `${call.name}: start_point`), coordinate: uiTarsPoint(to, `${call.name}: end_point`) });
          break;
        }
        case 'hotkey':
        case 'press': {
          const keys = (text(call, 'key') ?? text(call, 'hotkey'))?.trim();
          if (!keys) throw new Unreadable(`${call.name} needs key='...', e.g. hotkey(key='ctrl c').`);
          // "ctrl c" → "ctrl+c"; a chord already joined by "+" stays as it is.
          actions.push({ action: 'key', text: keys.includes('+') && !/\s/.test(keys) ? keys : keys.split(/\s+/).join('+') });
          break;
        }
        case 'type': {
          const content = text(call, 'content');
          if (!content) throw new Unreadable("type needs content='the text'.");
          // A trailing newline means "submit": type the rest, then press Enter (as the authors' executors do).
          const body = content.replace(/\n$/, '');
          if (body) actions.push({ action: 'type', text: body });
          if (content.endsWith('\n')) actions.push({ action: 'key', text: 'Return' });
          break;
        }
        case 'scroll': {
          const direction = text(call, 'direction')?.trim().toLowerCase();
          if (direction !== 'up' && direction !== 'down' && direction !== 'left' && direction !== 'right') {
            throw new Unreadable(`scroll needs direction='up', 'down', 'left' or 'right', not ${JSON.stringify(direction ?? null)}.`);
          }
          const at = pointOf(call, 'point', 'start_box');
          actions.push({ action: 'scroll', scroll_direction: direction, scroll_amount: UITARS_SCROLL_CLICKS, ...(at ? { coordinate: at } : {}) });
          break;
        }
        case 'wait':
          actions.push({ action: 'wait', duration: UITARS_WAIT_S });
          break;
        case 'finished': {
          const content = text(call, 'content')?.trim();
          return { thought, actions, done: { answer: content || thought || 'The model reported the task finished.' }, kept };
        }
        case 'call_user':
          return { thought, actions, gaveUp: `The model stopped and asked for a person's help (call_user())${thought ? `: ${thought}` : '.'}`, kept };
        default:
          throw new Unreadable(`Unknown action "${call.name}". The actions are: ${UITARS_ACTIONS.map((a) => `${a}()`).join(', ')}.`);
      }
    }
    return { thought, actions, kept };
  } catch (e) {
    if (e instanceof Unreadable) return { thought, actions: [], error: `${e.message} Nothing was done.`, kept };
    throw e;
  }
}

import { MAX_DURATION_S, type ComputerAction, type Coordinate } from '../../computer/computer.module';
import { GEMINI_PREDEFINED_FUNCTIONS } from './gemini-functions';

/** Gemini's coordinates run over a 1000 x 1000 grid laid on the screenshot, whatever its size. */
export const GRID = 1000;
/** Grid units of a scroll per mouse-wheel click of ours: a whole screen (1000 units) is 10 clicks. */
export const GRID_UNITS_PER_WHEEL_CLICK = 100;
/** scroll_at's magnitude when the model gives none (Gemini's default). */
export const DEFAULT_SCROLL_MAGNITUDE = 800;
/** Where `search` goes: a search engine's home page, as Gemini's `search` means. */
export const SEARCH_HOME = 'https://www.google.com/';
const MAX_URL = 2048;

/** One function call of a Gemini answer (the SDK's FunctionCall, as the wire carries it). */
export interface GeminiFunctionCall {
  name?: string;
  args?: Record<string, unknown>;
  id?: string;
}

/** What one function call becomes here: the actions that carry it out, in screenshot pixels, or why it cannot be done. */
export type GeminiPlan = { actions: ComputerAction[] } | { error: string };

/** The size of the screenshot the model saw, whose pixels the grid is mapped onto. */
export interface ShotSize {
  width: number;
  height: number;
}

class Refusal extends Error {}

/** A grid coordinate (0 to 999; 1000 is taken as the far edge) → a pixel of the screenshot. */
function pixel(value: unknown, name: string, fn: string, size: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new Refusal(`${fn} needs ${name}: a number on the 0-999 grid laid over the screenshot (0 is the left or top edge, 999 the right or bottom one).`);
  }
  if (value < 0 || value > GRID) {
    throw new Refusal(`${fn}: ${name}=${value} is off the screen. Coordinates run from 0 to 999 across the screenshot, whatever its size in pixels.`);
  }
  return Math.min(size - 1, Math.round((value * size) / GRID));
}

function point(args: Record<string, unknown>, fn: string, shot: ShotSize, xKey = 'x', yKey = 'y'): Coordinate {
  return [pixel(args[xKey], xKey, fn, shot.width), pixel(args[yKey], yKey, fn, shot.height)];
}

function text(args: Record<string, unknown>, fn: string, key = 'text'): string {
  const v = args[key];
  if (typeof v !== 'string') throw new Refusal(`${fn} needs ${key}: the text to type.`);
  return v;
}

function flag(args: Record<string, unknown>, key: string, fn: string, fallback: boolean): boolean {
  const v = args[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw new Refusal(`${fn}: ${key} must be true or false.`);
  return v;
}

type Direction = 'up' | 'down' | 'left' | 'right';
function direction(args: Record<string, unknown>, fn: string): Direction {
  const v = args.direction;
  if (v === 'up' || v === 'down' || v === 'left' || v === 'right') return v;
  throw new Refusal(`${fn} needs direction: up, down, left or right.`);
}

function wheelClicks(args: Record<string, unknown>, fn: string): number {
  const v = args.magnitude ?? DEFAULT_SCROLL_MAGNITUDE;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new Refusal(`${fn}: magnitude must be a positive number of grid units (1000 is the screen's whole height or width).`);
  }
  return Math.min(100, Math.max(1, Math.round(v / GRID_UNITS_PER_WHEEL_CLICK)));
}

/**
 * Gemini writes keys as Playwright names them ("Control+A", ["Shift", "Tab"], "ArrowLeft", "PageDown"); our key
 * parser takes those names too, but a letter in a chord must be lower case (ctrl+A would be ctrl+shift+a).
 */
function chord(keys: unknown, fn: string, key: string): string {
  const parts =
    typeof keys === 'string'
      ? keys === '+' ? ['+'] : keys.endsWith('++') ? [...keys.slice(0, -2).split('+'), '+'] : keys.split('+')
      : Array.isArray(keys) ? keys : undefined;
  if (!parts?.length || parts.some((k) => typeof k !== 'string' || !k.trim())) {
    throw new Refusal(`${fn} needs ${key}: key names such as "Control+C", "Enter" or "ArrowDown".`);
  }
  const names = (parts as string[]).map((k) => k.trim());
  return names
    .map((k) => (/^controlormeta$/i.test(k) ? 'ctrl' : names.length > 1 && k.length === 1 ? k.toLowerCase() : k))
    .join('+');
}

function url(args: Record<string, unknown>, fn: string): string {
  const v = args.url;
  if (typeof v !== 'string' || !v.trim()) throw new Refusal(`${fn} needs url: the address to open.`);
  // Typed into the focused window and ended with Enter: a line break in it would be a second Enter.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(v)) throw new Refusal(`${fn}: url must be one line without control characters.`);
  if (v.length > MAX_URL) throw new Refusal(`${fn}: url is longer than ${MAX_URL} characters.`);
  return v.trim();
}

/** Opening an address in the browser window that has the focus: its address bar, the address, Enter. */
function openInBrowser(address: string): ComputerAction[] {
  return [
    { action: 'key', text: 'ctrl+l' },
    { action: 'type', text: address },
    { action: 'key', text: 'Return' },
  ];
}

function typing(value: string, pressEnter: boolean, fn: string): ComputerAction[] {
  const out: ComputerAction[] = [];
  if (value) out.push({ action: 'type', text: value });
  if (pressEnter) out.push({ action: 'key', text: 'Return' });
  if (!out.length) throw new Refusal(`${fn} needs text: the text to type (or press_enter: true).`);
  return out;
}

const CLICKS: Record<string, ComputerAction['action']> = {
  click_at: 'left_click', click: 'left_click', double_click: 'double_click', triple_click: 'triple_click',
  middle_click: 'middle_click', right_click: 'right_click',
};

function plan(fn: string, args: Record<string, unknown>, shot: ShotSize): ComputerAction[] {
  const click = CLICKS[fn];
  if (click) return [{ action: click, coordinate: point(args, fn, shot) }];
  switch (fn) {
    case 'hover_at':
    case 'move':
      return [{ action: 'mouse_move', coordinate: point(args, fn, shot) }];
    case 'mouse_down':
    case 'mouse_up': {
      const action = fn === 'mouse_down' ? 'left_mouse_down' : 'left_mouse_up';
      return [args.x === undefined && args.y === undefined ? { action } : { action, coordinate: point(args, fn, shot) }];
    }
    case 'type_text_at': {
      // The function's own defaults: the field is cleared first, and Enter is pressed after the text.
      const at = point(args, fn, shot);
      const value = text(args, fn);
      const clear = flag(args, 'clear_before_typing', fn, true);
      const enter = flag(args, 'press_enter', fn, true);
      return [
        { action: 'left_click', coordinate: at },
        // Select all, then delete: clears a text field (in a terminal, ctrl+a moves to the line's start instead).
        ...(clear ? ([{ action: 'key', text: 'ctrl+a' }, { action: 'key', text: 'BackSpace' }] as ComputerAction[]) : []),
        ...(value || enter ? typing(value, enter, fn) : []),
      ];
    }
    case 'type':
      return typing(text(args, fn), flag(args, 'press_enter', fn, false), fn);
    case 'key_combination':
      return [{ action: 'key', text: chord(args.keys, fn, 'keys') }];
    case 'hotkey':
      return [{ action: 'key', text: chord(args.keys, fn, 'keys') }];
    case 'press_key':
      return [{ action: 'key', text: chord(args.key, fn, 'key') }];
    case 'scroll_document':
      // The whole page: the wheel over the middle of the screen, where the page of a full-screen window is.
      return [{ action: 'scroll', coordinate: [Math.floor(shot.width / 2), Math.floor(shot.height / 2)], scroll_direction: direction(args, fn), scroll_amount: GRID / GRID_UNITS_PER_WHEEL_CLICK }];
    case 'scroll_at':
    case 'scroll':
      return [{ action: 'scroll', coordinate: point(args, fn, shot), scroll_direction: direction(args, fn), scroll_amount: wheelClicks(args, fn) }];
    case 'drag_and_drop':
      return [{ action: 'left_click_drag', start_coordinate: point(args, fn, shot), coordinate: point(args, fn, shot, 'destination_x', 'destination_y') }];
    case 'wait_5_seconds':
      return [{ action: 'wait', duration: 5 }];
    case 'wait': {
      const seconds = args.seconds ?? 1;
      if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0 || seconds > MAX_DURATION_S) {
        throw new Refusal(`wait: seconds must be a number from 0 to ${MAX_DURATION_S}.`);
      }
      return [{ action: 'wait', duration: seconds }];
    }
    case 'take_screenshot':
      return [{ action: 'screenshot' }];
    case 'go_back':
      return [{ action: 'key', text: 'alt+Left' }];
    case 'go_forward':
      return [{ action: 'key', text: 'alt+Right' }];
    case 'navigate':
      return openInBrowser(url(args, fn));
    case 'search':
      return openInBrowser(SEARCH_HOME);
    case 'open_web_browser':
      throw new Refusal(
        'open_web_browser cannot be done here: this is a whole Linux desktop, not a browser, and no action starts programs. ' +
          'If the screen shows a browser window, use it; otherwise open one from the desktop (on the standard desktop, the "Browser" launcher in the panel at the bottom).',
      );
    case 'key_down':
    case 'key_up':
      throw new Refusal(`${fn} is not available here: a key cannot be left held down between actions. Send the whole chord with hotkey (e.g. ["Control", "C"]) or press_key.`);
    default:
      throw new Refusal(`Unknown function "${fn}". This server runs Gemini's predefined computer-use functions: ${GEMINI_PREDEFINED_FUNCTIONS.join(', ')}.`);
  }
}

/**
 * One Gemini function call in this server's actions, with its grid coordinates mapped onto the pixels of the
 * screenshot the model saw; or a clear error for the model when the call cannot be carried out (unknown, excluded,
 * missing or bad arguments, off the grid, or something a whole desktop cannot do).
 */
export function planGeminiCall(call: GeminiFunctionCall, shot: ShotSize, excluded: readonly string[] = []): GeminiPlan {
  const fn = call.name ?? '';
  if (excluded.includes(fn)) return { error: `${fn} is switched off on this server (GEMINI_EXCLUDED_ACTIONS); do it with the other functions.` };
  const args = call.args && typeof call.args === 'object' ? call.args : {};
  try {
    return { actions: plan(fn, args, shot) };
  } catch (e) {
    if (e instanceof Refusal) return { error: e.message };
    throw e;
  }
}

/** A function call as one line for people (a safety stop's message): its name and arguments, without the safety decision. */
export function describeGeminiCall(call: GeminiFunctionCall): string {
  const { safety_decision: _, ...args } = call.args ?? {};
  return `${call.name ?? '(unnamed)'} ${JSON.stringify(args)}`;
}

import type { ComputerAction } from '../../computer/computer.module';

/** An action of OpenAI's computer tool (one `action`, or each of a batch's `actions`). */
export interface OpenAIAction {
  type: string;
  x?: number;
  y?: number;
  button?: string;
  keys?: string[] | null;
  path?: { x: number; y: number }[];
  scroll_x?: number;
  scroll_y?: number;
  text?: string;
}

/** Pixels of an OpenAI scroll per mouse-wheel click of ours. */
export const SCROLL_PX_PER_CLICK = 100;

/** OpenAI writes keys as ["CTRL", "C"]; xdotool-style names take a lower-case letter ("ctrl+c" is not ctrl+shift+c). */
function chord(keys: readonly string[] | null | undefined): string | undefined {
  if (!keys?.length) return undefined;
  return keys.map((k) => (k.length === 1 ? k.toLowerCase() : k)).join('+');
}

function at(a: OpenAIAction): [number, number] | undefined {
  return typeof a.x === 'number' && typeof a.y === 'number' ? [a.x, a.y] : undefined;
}

/** One OpenAI computer action in this server's action set (Anthropic's names). */
export function fromOpenAIAction(a: OpenAIAction): ComputerAction {
  const modifiers = chord(a.keys);
  switch (a.type) {
    case 'click': {
      // The browser buttons back/forward have no desktop mouse button here: they are the usual shortcuts.
      if (a.button === 'back') return { action: 'key', text: 'alt+Left' };
      if (a.button === 'forward') return { action: 'key', text: 'alt+Right' };
      const action = a.button === 'right' ? 'right_click' : a.button === 'wheel' ? 'middle_click' : 'left_click';
      return { action, coordinate: at(a), ...(modifiers ? { text: modifiers } : {}) };
    }
    case 'double_click':
      return { action: 'double_click', coordinate: at(a), ...(modifiers ? { text: modifiers } : {}) };
    case 'drag': {
      const path = a.path ?? [];
      const from = path[0];
      const to = path[path.length - 1];
      return { action: 'left_click_drag', start_coordinate: from ? [from.x, from.y] : undefined, coordinate: to ? [to.x, to.y] : undefined };
    }
    case 'keypress':
      return { action: 'key', text: chord(a.keys) ?? '' };
    case 'move':
      return { action: 'mouse_move', coordinate: at(a) };
    case 'screenshot':
      return { action: 'screenshot' };
    case 'scroll': {
      const dx = a.scroll_x ?? 0;
      const dy = a.scroll_y ?? 0;
      const vertical = Math.abs(dy) >= Math.abs(dx);
      const px = vertical ? dy : dx;
      const scroll_direction = vertical ? (px > 0 ? 'down' : 'up') : px > 0 ? 'right' : 'left';
      const scroll_amount = Math.min(100, Math.max(1, Math.round(Math.abs(px) / SCROLL_PX_PER_CLICK)));
      return { action: 'scroll', coordinate: at(a), scroll_direction, scroll_amount, ...(modifiers ? { text: modifiers } : {}) };
    }
    case 'type':
      return { action: 'type', text: a.text ?? '' };
    case 'wait':
      return { action: 'wait', duration: 1 };
    default:
      return { action: a.type as ComputerAction['action'] };
  }
}

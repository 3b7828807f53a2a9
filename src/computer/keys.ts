import { DomainError, DomainErrorCode } from '../common/domain-error';
// The X keysym table (from X.Org's keysymdef.h), shipped by the x11 package.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const KEYSYMS = require('x11/lib/keysyms.js') as Record<string, { code: number; description: string }>;

/** Friendly names models and people use, mapped to X keysym names (what xdotool accepts). */
const ALIASES: Record<string, string> = {
  ctrl: 'Control_L', control: 'Control_L', lctrl: 'Control_L', rctrl: 'Control_R',
  shift: 'Shift_L', lshift: 'Shift_L', rshift: 'Shift_R',
  alt: 'Alt_L', lalt: 'Alt_L', ralt: 'Alt_R', option: 'Alt_L', altgr: 'ISO_Level3_Shift',
  super: 'Super_L', win: 'Super_L', windows: 'Super_L', cmd: 'Super_L', command: 'Super_L', meta: 'Super_L',
  enter: 'Return', return: 'Return', ret: 'Return', kp_enter: 'KP_Enter',
  esc: 'Escape', escape: 'Escape', tab: 'Tab', space: 'space', spacebar: 'space',
  backspace: 'BackSpace', bksp: 'BackSpace', del: 'Delete', delete: 'Delete', ins: 'Insert', insert: 'Insert',
  home: 'Home', end: 'End', pageup: 'Page_Up', page_up: 'Page_Up', pgup: 'Page_Up',
  pagedown: 'Page_Down', page_down: 'Page_Down', pgdn: 'Page_Down',
  up: 'Up', down: 'Down', left: 'Left', right: 'Right',
  arrowup: 'Up', arrowdown: 'Down', arrowleft: 'Left', arrowright: 'Right',
  capslock: 'Caps_Lock', caps_lock: 'Caps_Lock', menu: 'Menu', print: 'Print', printscreen: 'Print',
  plus: 'plus', minus: 'minus',
};

let charToName: Map<string, string> | undefined;
function nameForChar(ch: string): string | undefined {
  if (!charToName) {
    charToName = new Map();
    for (const [key, v] of Object.entries(KEYSYMS)) {
      const m = /^\((.)\) /u.exec(v.description);
      if (m && key.startsWith('XK_') && !charToName.has(m[1])) charToName.set(m[1], key.slice(3));
    }
  }
  return charToName.get(ch);
}

/** The keysym code for a canonical key name returned by parseKeyCombo. */
export function keysymOf(name: string): number {
  const entry = KEYSYMS[`XK_${name}`];
  if (!entry) throw new DomainError(DomainErrorCode.INVALID_ARGUMENT, `Unknown key "${name}".`);
  return entry.code;
}

/** Canonical X keysym name for one key as a person or model writes it, or undefined. */
export function canonicalKey(raw: string): string | undefined {
  const k = raw.trim();
  if (!k) return undefined;
  const alias = ALIASES[k.toLowerCase()];
  if (alias) return alias;
  if (KEYSYMS[`XK_${k}`]) return k;
  if (/^f([1-9]|1\d|2[0-4])$/i.test(k)) return k.toUpperCase();
  // Case-insensitive match of a keysym name ("page_up" → "Page_Up"), only when unambiguous.
  if (k.length > 1) {
    const lower = k.toLowerCase();
    const hits = Object.keys(KEYSYMS).filter((n) => n.slice(3).toLowerCase() === lower);
    if (hits.length === 1) return hits[0].slice(3);
  }
  if ([...k].length === 1) return nameForChar(k);
  return undefined;
}

/**
 * Parses an xdotool-style chord ("ctrl+shift+t", "Return", "alt+F4", "ctrl+plus") into
 * canonical keysym names, or throws INVALID_ARGUMENT naming the bad part and what is accepted.
 */
export function parseKeyCombo(combo: string): string[] {
  if (typeof combo !== 'string' || !combo.trim()) {
    throw new DomainError(DomainErrorCode.INVALID_ARGUMENT, 'A key is required, e.g. "Return" or "ctrl+shift+t".');
  }
  if (combo.length > 200) {
    throw new DomainError(DomainErrorCode.INVALID_ARGUMENT, 'A key chord is at most 200 characters; send long text with the type action.');
  }
  // A lone "+" or a trailing "+" key ("ctrl++") means the plus key.
  const parts = combo === '+' ? ['+'] : combo.replace(/\+\+$/, '+plus').split('+');
  return parts.map((p) => {
    const name = canonicalKey(p);
    if (!name) {
      throw new DomainError(
        DomainErrorCode.INVALID_ARGUMENT,
        `Unknown key "${p}" in "${combo}". Use X keysym or xdotool names joined by "+", e.g. "Return", "ctrl+c", "alt+F4", "shift+Tab", "Page_Down".`,
      );
    }
    return name;
  });
}

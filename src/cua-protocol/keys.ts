// The X keysym table (from X.Org's keysymdef.h), shipped by the x11 package.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const KEYSYMS = require('x11/lib/keysyms.js') as Record<string, { code: number; description: string | null }>;

/**
 * Key names in the cua protocol are pyautogui's ("enter", "ctrl", "cmd", "pagedown", "f5", "a");
 * desktops name keys by X keysym ("Return", "Control_L", "Super_L", "Page_Down", "F5", "a").
 * One row per key: the cua names a client may send for it (the first is the one we send) and
 * the keysyms it stands for (the first is the one pressed). Keys that type a character
 * (letters, digits, punctuation, Latin-1) are not in the table: the character is their name.
 */
export const CUA_KEYS: readonly (readonly [cuaNames: readonly string[], keysyms: readonly string[]])[] = [
  [['ctrl', 'ctrlleft', 'control'], ['Control_L']],
  [['ctrlright'], ['Control_R']],
  [['shift', 'shiftleft'], ['Shift_L']],
  [['shiftright'], ['Shift_R']],
  [['alt', 'altleft', 'option', 'optionleft'], ['Alt_L', 'Meta_L']],
  [['altright', 'optionright'], ['Alt_R', 'ISO_Level3_Shift', 'Meta_R']],
  [['win', 'winleft', 'cmd', 'cmdleft', 'command'], ['Super_L', 'Hyper_L']],
  [['winright', 'cmdright'], ['Super_R', 'Hyper_R']],
  [['enter', 'return', '\n', '\r'], ['Return', 'KP_Enter', 'Linefeed']],
  [['esc', 'escape'], ['Escape']],
  [['tab', '\t'], ['Tab', 'ISO_Left_Tab']],
  [['space', ' '], ['space', 'KP_Space']],
  [['backspace', '\b'], ['BackSpace']],
  [['delete', 'del'], ['Delete', 'KP_Delete']],
  [['insert'], ['Insert', 'KP_Insert']],
  [['home'], ['Home', 'KP_Home']],
  [['end'], ['End', 'KP_End']],
  [['pageup', 'pgup'], ['Page_Up', 'Prior', 'KP_Page_Up', 'KP_Prior']],
  [['pagedown', 'pgdn'], ['Page_Down', 'Next', 'KP_Page_Down', 'KP_Next']],
  [['up'], ['Up', 'KP_Up']],
  [['down'], ['Down', 'KP_Down']],
  [['left'], ['Left', 'KP_Left']],
  [['right'], ['Right', 'KP_Right']],
  [['capslock'], ['Caps_Lock']],
  [['numlock'], ['Num_Lock']],
  [['scrolllock'], ['Scroll_Lock']],
  [['printscreen', 'prtsc', 'prtscr', 'prntscrn'], ['Print', 'Sys_Req']],
  [['pause'], ['Pause', 'Break']],
  [['apps'], ['Menu']],
  [['help'], ['Help']],
  [['clear'], ['Clear']],
  [['select'], ['Select']],
  [['execute'], ['Execute']],
  [['add'], ['KP_Add']],
  [['subtract'], ['KP_Subtract']],
  [['multiply'], ['KP_Multiply']],
  [['divide'], ['KP_Divide']],
  [['decimal'], ['KP_Decimal']],
  [['separator'], ['KP_Separator']],
  [['='], ['equal', 'KP_Equal']],
  ...Array.from({ length: 10 }, (_, i) => [[`num${i}`], [`KP_${i}`]] as const),
  ...Array.from({ length: 24 }, (_, i) => [[`f${i + 1}`], [`F${i + 1}`]] as const),
  [['yen'], ['yen']],
  [['kana'], ['Kana_Shift']],
  [['kanji'], ['Kanji']],
  [['hangul', 'hanguel'], ['Hangul']],
  [['hanja'], ['Hangul_Hanja']],
  [['convert'], ['Henkan']],
  [['nonconvert'], ['Muhenkan']],
  [['modechange'], ['Mode_switch']],
];

const KEYSYM_OF = new Map(CUA_KEYS.flatMap(([names, keysyms]) => names.map((n) => [n, keysyms[0]] as const)));
const NAME_OF = new Map(CUA_KEYS.flatMap(([names, keysyms]) => keysyms.map((k) => [k, names[0]] as const)));

/**
 * The keysym a cua key name stands for ("enter" → "Return", "PGUP" → "Page_Up"), or undefined
 * for names outside the table: characters ("a", "/"), chords ("ctrl+c") and keysym names, which
 * a desktop reads with its own key parser.
 */
export function keysymOfCuaKey(name: string): string | undefined {
  return KEYSYM_OF.get(name) ?? KEYSYM_OF.get(name.toLowerCase());
}

/** The character a keysym types, from the table's "(c) NAME" descriptions; undefined for function keys. */
function charOf(keysym: string): string | undefined {
  const description = KEYSYMS[`XK_${keysym}`]?.description;
  const m = description ? /^\((.)\) /u.exec(description) : null;
  return m?.[1];
}

/** The cua name of a keysym ("Control_L" → "ctrl", "F4" → "f4", "eacute" → "é"), or undefined when the protocol has none. */
export function cuaKeyOfKeysym(keysym: string): string | undefined {
  return NAME_OF.get(keysym) ?? charOf(keysym);
}

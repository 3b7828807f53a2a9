import { DomainError, DomainErrorCode } from '../../common/domain-error';
// The X keysym table (from X.Org's keysymdef.h), shipped by the x11 package; the same one keys.ts reads.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const KEYSYMS = require('x11/lib/keysyms.js') as Record<string, { code: number; description: string | null }>;

/**
 * Our canonical key names (X keysym names, see keys.ts) → the pyautogui-style names cua
 * computer-servers take in press_key / hotkey / key_down / key_up. Keys that type a character
 * (letters, digits, punctuation, Latin-1) are sent as that character.
 */
const NAMED: Readonly<Record<string, string>> = {
  Control_L: 'ctrl', Control_R: 'ctrlright',
  Shift_L: 'shift', Shift_R: 'shiftright',
  Alt_L: 'alt', Alt_R: 'altright', ISO_Level3_Shift: 'altright', Meta_L: 'alt', Meta_R: 'altright',
  Super_L: 'win', Super_R: 'winright', Hyper_L: 'win', Hyper_R: 'winright',
  Return: 'enter', KP_Enter: 'enter', Linefeed: 'enter',
  Escape: 'esc', Tab: 'tab', ISO_Left_Tab: 'tab', space: 'space', KP_Space: 'space',
  BackSpace: 'backspace', Delete: 'delete', KP_Delete: 'delete', Insert: 'insert', KP_Insert: 'insert',
  Home: 'home', KP_Home: 'home', End: 'end', KP_End: 'end',
  Page_Up: 'pageup', Prior: 'pageup', KP_Page_Up: 'pageup', KP_Prior: 'pageup',
  Page_Down: 'pagedown', Next: 'pagedown', KP_Page_Down: 'pagedown', KP_Next: 'pagedown',
  Up: 'up', KP_Up: 'up', Down: 'down', KP_Down: 'down', Left: 'left', KP_Left: 'left', Right: 'right', KP_Right: 'right',
  Caps_Lock: 'capslock', Num_Lock: 'numlock', Scroll_Lock: 'scrolllock',
  Print: 'printscreen', Sys_Req: 'printscreen', Pause: 'pause', Break: 'pause', Menu: 'apps',
  Help: 'help', Clear: 'clear', Select: 'select', Execute: 'execute',
  KP_Add: 'add', KP_Subtract: 'subtract', KP_Multiply: 'multiply', KP_Divide: 'divide', KP_Decimal: 'decimal', KP_Separator: 'separator',
  KP_Equal: '=',
  XF86AudioRaiseVolume: 'volumeup', XF86AudioLowerVolume: 'volumedown', XF86AudioMute: 'volumemute',
  XF86AudioPlay: 'playpause', XF86AudioNext: 'nexttrack', XF86AudioPrev: 'prevtrack', XF86AudioStop: 'stop',
  XF86Back: 'browserback', XF86Forward: 'browserforward', XF86Refresh: 'browserrefresh', XF86HomePage: 'browserhome',
  XF86Search: 'browsersearch', XF86Favorites: 'browserfavorites', XF86Mail: 'launchmail', XF86Sleep: 'sleep',
};

/** The character a keysym types, from the table's "(c) NAME" descriptions; undefined for function keys. */
function charOf(name: string): string | undefined {
  const description = KEYSYMS[`XK_${name}`]?.description;
  const m = description ? /^\((.)\) /u.exec(description) : null;
  return m?.[1];
}

/**
 * The cua (pyautogui-style) name of one canonical key name (as parseKeyCombo returns it).
 * Throws COMPUTER_UNSUPPORTED for keys a cua server has no name for.
 */
export function cuaKeyName(name: string): string {
  const named = NAMED[name];
  if (named) return named;
  const fn = /^F([1-9]|1\d|2[0-4])$/.exec(name);
  if (fn) return `f${fn[1]}`;
  const kp = /^KP_(\d)$/.exec(name);
  if (kp) return `num${kp[1]}`;
  const ch = charOf(name);
  if (ch !== undefined) return ch;
  throw new DomainError(
    DomainErrorCode.COMPUTER_UNSUPPORTED,
    `The key "${name}" has no name in the cua protocol, so a remote computer cannot press it. Use letters, digits, punctuation, ` +
      'modifiers (ctrl, shift, alt, super), Return, Tab, Escape, arrows, Home/End/Page_Up/Page_Down, Delete, BackSpace or F1–F24.',
  );
}

/** Maps a chord of canonical key names; every key is checked before anything is sent. */
export function cuaKeyNames(keys: readonly string[]): string[] {
  return keys.map(cuaKeyName);
}

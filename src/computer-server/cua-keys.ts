import { DomainError, DomainErrorCode } from '../common/domain-error';
import { parseKeyCombo } from '../computer/computer.module';

/**
 * pyautogui key names (what cua clients send) that our key names (src/computer/keys.ts) do not
 * already understand, mapped to X keysym names.
 */
export const PYAUTOGUI_KEYS: Readonly<Record<string, string>> = {
  '\n': 'Return', '\r': 'Return', '\t': 'Tab', ' ': 'space', '\b': 'BackSpace',
  ctrlleft: 'Control_L', ctrlright: 'Control_R', shiftleft: 'Shift_L', shiftright: 'Shift_R',
  altleft: 'Alt_L', altright: 'Alt_R', optionleft: 'Alt_L', optionright: 'Alt_R',
  winleft: 'Super_L', winright: 'Super_R', cmdleft: 'Super_L', cmdright: 'Super_R', apps: 'Menu',
  pgup: 'Page_Up', pgdn: 'Page_Down', prtsc: 'Print', prtscr: 'Print', prntscrn: 'Print', printscreen: 'Print',
  numlock: 'Num_Lock', scrolllock: 'Scroll_Lock', pause: 'Pause', clear: 'Clear', execute: 'Execute', select: 'Select', help: 'Help',
  add: 'KP_Add', subtract: 'KP_Subtract', multiply: 'KP_Multiply', divide: 'KP_Divide', decimal: 'KP_Decimal', separator: 'KP_Separator',
  num0: 'KP_0', num1: 'KP_1', num2: 'KP_2', num3: 'KP_3', num4: 'KP_4', num5: 'KP_5', num6: 'KP_6', num7: 'KP_7', num8: 'KP_8', num9: 'KP_9',
  yen: 'yen', kana: 'Kana_Shift', kanji: 'Kanji', hangul: 'Hangul', hanguel: 'Hangul', hanja: 'Hangul_Hanja',
  convert: 'Henkan', nonconvert: 'Muhenkan', modechange: 'Mode_switch',
};

/**
 * Our key names for one key a cua client sent (pyautogui style: "enter", "ctrl", "cmd",
 * "pagedown", "f5", "a", "A", "\n"). A chord written with "+" ("ctrl+c") is accepted too.
 * Throws INVALID_ARGUMENT naming the key when we do not know it.
 */
export function cuaKeyToKeys(key: unknown): string[] {
  if (typeof key !== 'string' || key.length === 0) {
    throw new DomainError(DomainErrorCode.INVALID_ARGUMENT, 'A key name is required, e.g. "enter", "ctrl", "f5" or "a".');
  }
  const mapped = PYAUTOGUI_KEYS[key] ?? PYAUTOGUI_KEYS[key.toLowerCase()];
  if (mapped) return [mapped];
  try {
    return parseKeyCombo(key);
  } catch {
    throw new DomainError(DomainErrorCode.INVALID_ARGUMENT, `Unknown key: ${JSON.stringify(key)}. Use pyautogui-style names such as "enter", "ctrl", "alt", "cmd", "pagedown", "f5" or one character.`);
  }
}

/** Our key names for a list of cua keys (hotkey), in order. */
export function cuaKeysToKeys(keys: readonly unknown[]): string[] {
  return keys.flatMap((k) => cuaKeyToKeys(k));
}

import { keysymOf } from '../computer/computer.module';
import { DomainError } from '../common/domain-error';
import { cuaKeysToKeys, cuaKeyToKeys, PYAUTOGUI_KEYS } from './cua-keys';

describe('cuaKeyToKeys', () => {
  it.each([
    ['enter', 'Return'], ['return', 'Return'], ['\n', 'Return'], ['ctrl', 'Control_L'], ['ctrlright', 'Control_R'],
    ['cmd', 'Super_L'], ['command', 'Super_L'], ['win', 'Super_L'], ['alt', 'Alt_L'], ['option', 'Alt_L'],
    ['pagedown', 'Page_Down'], ['pgup', 'Page_Up'], ['f5', 'F5'], ['F12', 'F12'], ['esc', 'Escape'], ['backspace', 'BackSpace'],
    ['space', 'space'], [' ', 'space'], ['tab', 'Tab'], ['a', 'a'], ['A', 'A'], ['1', '1'], ['num5', 'KP_5'],
    ['prtsc', 'Print'], ['up', 'Up'], ['delete', 'Delete'], ['/', 'slash'], ['+', 'plus'],
  ])('maps %j to %s, a key the desktop knows', (cua, ours) => {
    expect(cuaKeyToKeys(cua)).toEqual([ours]);
    expect(keysymOf(ours)).toBeGreaterThan(0);
  });

  it('maps every pyautogui name in its table to a keysym the desktop knows', () => {
    for (const ours of Object.values(PYAUTOGUI_KEYS)) expect([ours, keysymOf(ours)]).toEqual([ours, expect.any(Number)]);
  });

  it('accepts a chord written with +', () => {
    expect(cuaKeyToKeys('ctrl+shift+t')).toEqual(['Control_L', 'Shift_L', 't']);
  });

  it('names an unknown key in its error', () => {
    expect(() => cuaKeyToKeys('hyperdrive')).toThrow(DomainError);
    expect(() => cuaKeyToKeys('hyperdrive')).toThrow('Unknown key: "hyperdrive"');
    expect(() => cuaKeyToKeys('')).toThrow(/key name is required/);
    expect(() => cuaKeyToKeys(5)).toThrow(/key name is required/);
  });

  it('maps a hotkey list in order', () => {
    expect(cuaKeysToKeys(['ctrl', 'alt', 'delete'])).toEqual(['Control_L', 'Alt_L', 'Delete']);
    expect(() => cuaKeysToKeys(['ctrl', 'nope'])).toThrow('Unknown key: "nope"');
  });
});

import { isDomainError } from '../../common/domain-error';
import { parseKeyCombo } from '../keys';
import { cuaKeyName, cuaKeyNames } from './cua-keys';

describe('cuaKeyName', () => {
  const cua = (combo: string) => cuaKeyNames(parseKeyCombo(combo));

  it('maps the chords models send to the pyautogui names cua servers take', () => {
    expect(cua('ctrl+s')).toEqual(['ctrl', 's']);
    expect(cua('Return')).toEqual(['enter']);
    expect(cua('alt+F4')).toEqual(['alt', 'f4']);
    expect(cua('shift+Tab')).toEqual(['shift', 'tab']);
    expect(cua('ctrl+shift+t')).toEqual(['ctrl', 'shift', 't']);
    expect(cua('super')).toEqual(['win']);
    expect(cua('Escape')).toEqual(['esc']);
    expect(cua('BackSpace')).toEqual(['backspace']);
    expect(cua('Page_Down')).toEqual(['pagedown']);
    expect(cua('pgup')).toEqual(['pageup']);
    expect(cua('Up')).toEqual(['up']);
    expect(cua('space')).toEqual(['space']);
    expect(cua('Delete')).toEqual(['delete']);
    expect(cua('F12')).toEqual(['f12']);
    expect(cua('KP_Enter')).toEqual(['enter']);
    expect(cua('rctrl')).toEqual(['ctrlright']);
  });

  it('sends keys that type a character as that character', () => {
    expect(cua('ctrl+plus')).toEqual(['ctrl', '+']);
    expect(cua('ctrl+minus')).toEqual(['ctrl', '-']);
    expect(cua('comma')).toEqual([',']);
    expect(cua('slash')).toEqual(['/']);
    expect(cua('A')).toEqual(['A']);
    expect(cua('5')).toEqual(['5']);
    expect(cua('eacute')).toEqual(['é']);
    expect(cuaKeyName('KP_7')).toBe('num7');
  });

  it('refuses a key the protocol has no name for, naming it, before anything is sent', () => {
    let err: unknown;
    try {
      cuaKeyNames(['Control_L', 'XF86MonBrightnessUp']);
    } catch (e) {
      err = e;
    }
    expect(isDomainError(err, 'COMPUTER_UNSUPPORTED')).toBe(true);
    expect((err as Error).message).toContain('XF86MonBrightnessUp');
  });
});

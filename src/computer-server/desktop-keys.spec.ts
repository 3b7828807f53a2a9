import { keysymOf } from '../computer/computer.module';
import { DomainError } from '../common/domain-error';
import { desktopKeysOf } from './desktop-keys';

describe(desktopKeysOf.name, () => {
  it.each([
    ['enter', 'Return'], ['return', 'Return'], ['\n', 'Return'], ['ctrl', 'Control_L'], ['ctrlright', 'Control_R'],
    ['cmd', 'Super_L'], ['command', 'Super_L'], ['win', 'Super_L'], ['alt', 'Alt_L'], ['option', 'Alt_L'],
    ['pagedown', 'Page_Down'], ['pgup', 'Page_Up'], ['PGUP', 'Page_Up'], ['f5', 'F5'], ['F12', 'F12'], ['esc', 'Escape'], ['backspace', 'BackSpace'],
    ['space', 'space'], [' ', 'space'], ['tab', 'Tab'], ['a', 'a'], ['A', 'A'], ['1', '1'], ['num5', 'KP_5'],
    ['prtsc', 'Print'], ['up', 'Up'], ['delete', 'Delete'], ['/', 'slash'], ['+', 'plus'], ['=', 'equal'], ['Page_Down', 'Page_Down'],
  ])('maps %j to %s, a key the desktop knows', (cua, ours) => {
    expect(desktopKeysOf(cua)).toEqual([ours]);
    expect(keysymOf(ours)).toBeGreaterThan(0);
  });

  it('accepts a chord written with +', () => {
    expect(desktopKeysOf('ctrl+shift+t')).toEqual(['Control_L', 'Shift_L', 't']);
  });

  it('names an unknown key in its error', () => {
    expect(() => desktopKeysOf('hyperdrive')).toThrow(DomainError);
    expect(() => desktopKeysOf('hyperdrive')).toThrow('Unknown key: "hyperdrive"');
    expect(() => desktopKeysOf('')).toThrow('Unknown key: ""');
  });
});

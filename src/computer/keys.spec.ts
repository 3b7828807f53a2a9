import { isDomainError } from '../common/domain-error';
import { keysymOf, parseKeyCombo } from './keys';

describe('parseKeyCombo', () => {
  it.each([
    ['Return', ['Return']],
    ['enter', ['Return']],
    ['ctrl+shift+t', ['Control_L', 'Shift_L', 't']],
    ['alt+F4', ['Alt_L', 'F4']],
    ['ctrl+plus', ['Control_L', 'plus']],
    ['ctrl++', ['Control_L', 'plus']],
    ['super', ['Super_L']],
    ['page_down', ['Page_Down']],
    ['!', ['exclam']],
  ])('%s → %j', (combo, expected) => {
    expect(parseKeyCombo(combo)).toEqual(expected);
  });

  it.each(['', 'ctrl+nosuchkey', 'ctrl+', 'x'.repeat(201)])('rejects %j with a clear INVALID_ARGUMENT', (combo) => {
    let err: unknown;
    try {
      parseKeyCombo(combo);
    } catch (e) {
      err = e;
    }
    expect(isDomainError(err, 'INVALID_ARGUMENT')).toBe(true);
    expect((err as Error).message).toMatch(/key/i);
  });

  it('maps canonical names to X keysyms', () => {
    expect(keysymOf('Return')).toBe(0xff0d);
    expect(keysymOf('a')).toBe(0x61);
    expect(keysymOf('Control_L')).toBe(0xffe3);
  });
});

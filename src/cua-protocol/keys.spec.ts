import { CUA_KEYS, cuaKeyOfKeysym, keysymOfCuaKey } from './keys';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const KEYSYMS = require('x11/lib/keysyms.js') as Record<string, unknown>;

describe('cua key table', () => {
  it('reads cua names as keysyms, in any case, and leaves names outside the table to the desktop', () => {
    expect(keysymOfCuaKey('enter')).toBe('Return');
    expect(keysymOfCuaKey('\n')).toBe('Return');
    expect(keysymOfCuaKey('cmd')).toBe('Super_L');
    expect(keysymOfCuaKey('PGUP')).toBe('Page_Up');
    expect(keysymOfCuaKey('F12')).toBe('F12');
    expect(keysymOfCuaKey('num7')).toBe('KP_7');
    expect(keysymOfCuaKey('=')).toBe('equal');
    for (const outside of ['a', 'A', '/', 'ctrl+c', 'Page_Down', 'hyperdrive']) expect(keysymOfCuaKey(outside)).toBeUndefined();
  });

  it('names keysyms the way cua servers take them: the first name of their row, else the character they type', () => {
    const names = ['Control_L', 'Control_R', 'Return', 'KP_Enter', 'F4', 'Escape', 'BackSpace', 'Page_Down', 'Prior', 'Super_L', 'KP_7', 'KP_Equal'].map(cuaKeyOfKeysym);
    expect(names).toEqual(['ctrl', 'ctrlright', 'enter', 'enter', 'f4', 'esc', 'backspace', 'pagedown', 'pageup', 'win', 'num7', '=']);
    expect(['plus', 'minus', 'comma', 'slash', 'A', '5', 'eacute'].map(cuaKeyOfKeysym)).toEqual(['+', '-', ',', '/', 'A', '5', 'é']);
    expect(cuaKeyOfKeysym('XF86MonBrightnessUp')).toBeUndefined();
  });

  it('reads every name it sends back as the key it came from', () => {
    for (const [names, keysyms] of CUA_KEYS) {
      expect([names[0], keysymOfCuaKey(names[0])]).toEqual([names[0], keysyms[0]]);
      for (const k of keysyms) expect([k, cuaKeyOfKeysym(k)]).toEqual([k, names[0]]);
    }
  });

  it('holds only keysyms that X knows, and each name and keysym once', () => {
    const keysyms = CUA_KEYS.flatMap(([, k]) => k);
    const names = CUA_KEYS.flatMap(([n]) => n);
    expect(keysyms.filter((k) => !KEYSYMS[`XK_${k}`])).toEqual([]);
    expect(new Set(keysyms).size).toBe(keysyms.length);
    expect(new Set(names.map((n) => n.toLowerCase())).size).toBe(names.length);
  });
});

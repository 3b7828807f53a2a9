import { DomainError } from '../common/domain-error';
import { CUA_COMMANDS, CUA_UNSUPPORTED_COMMANDS, cuaCommandsListing, cuaFeatures, resolveCuaCommand, validateCuaParams } from './commands';

const spec = (name: string) => resolveCuaCommand(name)!;
const validate = (name: string, params: Record<string, unknown>) => validateCuaParams(spec(name), params);

describe('cua command table', () => {
  it('resolves names and aliases, and nothing else', () => {
    expect(resolveCuaCommand('type')?.name).toBe('type_text');
    expect(resolveCuaCommand('rmdir')?.name).toBe('delete_dir');
    expect(resolveCuaCommand('screenshot')?.name).toBe('screenshot');
    expect(resolveCuaCommand('toString')).toBeUndefined();
    expect(resolveCuaCommand('get_accessibility_tree')).toBeUndefined();
  });

  it('lists every command once with its aliases, and no unsupported one', () => {
    const listing = cuaCommandsListing();
    const names = listing.commands.map((c) => c.name);
    expect(new Set(names).size).toBe(CUA_COMMANDS.length);
    expect(names.filter((n) => CUA_UNSUPPORTED_COMMANDS.includes(n))).toEqual([]);
    expect(listing.commands.find((c) => c.name === 'run_command')?.aliases).toEqual(['shell', 'exec']);
  });

  it('lists each parameter with its type, and whether it is required, nullable or defaulted, from its schema', () => {
    const params = (name: string) => cuaCommandsListing().commands.find((c) => c.name === name)?.params;
    expect(params('move_cursor')).toEqual([
      { name: 'x', type: 'number', description: 'screen x in pixels', required: true },
      { name: 'y', type: 'number', description: 'screen y in pixels', required: true },
    ]);
    expect(params('run_command')).toEqual([
      { name: 'command', type: 'string', description: 'a /bin/sh command line', required: true },
      { name: 'timeout', type: 'number', description: "seconds; null: the server's limit", nullable: true, default: null },
    ]);
    expect(params('screenshot')).toEqual([
      { name: 'format', type: 'image_format', description: 'png or jpeg', default: 'png' },
      { name: 'quality', type: 'integer', description: 'JPEG quality 1-100', default: 95 },
    ]);
    expect(params('launch')?.[1]).toEqual({ name: 'args', type: 'string_list', description: 'its arguments', default: [] });
    // Our own triple_click (upstream has none) is listed like double_click, so clients can find it.
    expect(params('triple_click')).toEqual(params('double_click'));
    expect(params('triple_click')?.map((p) => p.name)).toEqual(['x', 'y']);
  });

  it('names the feature groups in order', () => {
    expect(cuaFeatures()).toEqual(['meta', 'screen', 'mouse', 'scroll', 'keyboard', 'shell', 'apps', 'clipboard', 'files']);
  });
});

describe(validateCuaParams.name, () => {
  it('fills defaults, treats null as absent and drops unknown keys', () => {
    expect(validate('mouse_down', { x: null, y: null, extra: 1 })).toEqual({ button: 'left' });
    expect(validate('triple_click', { x: 3, y: 4 })).toEqual({ x: 3, y: 4 });
    expect(validate('screenshot', {})).toEqual({ format: 'png', quality: 95 });
    expect(validate('screenshot', { format: 'JPG' })).toEqual({ format: 'jpeg', quality: 95 });
    expect(validate('run_command', { command: 'ls', timeout: null })).toEqual({ command: 'ls', timeout: null });
    expect(validate('read_bytes', { path: 'a', length: 4 })).toEqual({ path: 'a', offset: 0, length: 4 });
  });

  it('names a missing required parameter and what it is', () => {
    expect(() => validate('move_cursor', { x: 1 })).toThrow('move_cursor needs y: screen y in pixels.');
    expect(() => validate('read_text', {})).toThrow("read_text needs path: a path; ~ is the desktop user's home.");
    expect(() => validate('type', {})).toThrow(DomainError);
  });

  it('names a parameter of the wrong type or out of range, what it must be, and what was sent', () => {
    expect(() => validate('scroll_down', { clicks: 1.5 })).toThrow('scroll_down: clicks must be a whole number from 1 to 100 (wheel clicks), not 1.5.');
    expect(() => validate('scroll_up', { clicks: 101 })).toThrow(/clicks must be a whole number from 1 to 100/);
    expect(() => validate('left_click', { x: '1', y: 2 })).toThrow('left_click: x must be a number (screen x in pixels; omitted: at the cursor), not "1".');
    expect(() => validate('triple_click', { x: 1, y: true })).toThrow('triple_click: y must be a number (screen y in pixels; omitted: at the cursor), not true.');
    expect(() => validate('hotkey', { keys: [] })).toThrow(/keys must be a non-empty list of strings/);
    expect(() => validate('hotkey', { keys: ['ctrl', 5] })).toThrow(/keys must be a non-empty list of strings .*, not \["ctrl",5\]/);
    expect(() => validate('drag', { path: [[1, 2], [3]] })).toThrow(/path must be a list of \[x, y\] points/);
    expect(() => validate('drag', { path: [[1, 2]] })).toThrow(/path must be a list of \[x, y\] points \(points \[\[x, y\], \.\.\.\], at least two\)/);
    expect(() => validate('write_bytes', { path: 'p', content_b64: '', append: 'yes' })).toThrow(/append must be true or false/);
    expect(() => validate('write_bytes', { path: 'p', content_b64: 'not base64!' })).toThrow(/content_b64 must be base64 text/);
    expect(() => validate('mouse_up', { button: 'back' })).toThrow(/button must be "left", "right" or "middle"/);
    expect(() => validate('screenshot', { format: 'gif' })).toThrow(/format must be "png" or "jpeg"/);
    expect(() => validate('screenshot', { quality: 0 })).toThrow(/quality must be a whole number from 1 to 100/);
    expect(() => validate('drag_to', { x: 1, y: 1, duration: 61 })).toThrow(/duration must be a number of seconds from 0 to 60/);
    expect(() => validate('run_command', { command: 'ls', timeout: 0 })).toThrow(/timeout must be a number of seconds above 0 and at most 3600, or null/);
    expect(() => validate('read_bytes', { path: 'p', offset: -1 })).toThrow(/offset must be a whole number, 0 or more/);
    expect(() => validate('read_text', { path: 'a\0b' })).toThrow(/path must be a path \(not empty, without NUL characters\)/);
    expect(() => validate('type_text', { text: 'x'.repeat(100_001) })).toThrow(/text must be a string of at most 100000 characters/);
  });

  it('says what goes together when parameters depend on each other', () => {
    expect(() => validate('left_click', { x: 5 })).toThrow('Give both x and y, or neither (to act at the cursor).');
    expect(() => validate('triple_click', { y: 5 })).toThrow('Give both x and y, or neither (to act at the cursor).');
    expect(() => validate('drag', { start_x: 1 })).toThrow(/drag needs path: \[\[x, y\], \.\.\.\] with at least two points \(or start_x, start_y, end_x and end_y\)/);
    expect(() => validate('launch', { app: ' ' })).toThrow('launch needs app, e.g. "xterm".');
    expect(() => validate('run_command', { command: '' })).toThrow('run_command needs a command, e.g. "ls -la".');
  });
});

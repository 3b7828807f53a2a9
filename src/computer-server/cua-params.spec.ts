import { resolveCuaCommand } from '../common/cua-protocol';
import { DomainError } from '../common/domain-error';
import { validateParams } from './cua-params';

const spec = (name: string) => resolveCuaCommand(name)!;

describe(validateParams.name, () => {
  it('fills defaults, treats null as absent and drops unknown keys', () => {
    expect(validateParams(spec('mouse_down'), { x: null, y: null, extra: 1 })).toEqual({ button: 'left' });
    expect(validateParams(spec('screenshot'), {})).toEqual({ format: 'png', quality: 95 });
    expect(validateParams(spec('screenshot'), { format: 'JPG' })).toEqual({ format: 'jpeg', quality: 95 });
    expect(validateParams(spec('run_command'), { command: 'ls', timeout: null })).toEqual({ command: 'ls' });
    expect(validateParams(spec('read_bytes'), { path: 'a', length: 4 })).toEqual({ path: 'a', offset: 0, length: 4 });
  });

  it('names a missing required parameter', () => {
    expect(() => validateParams(spec('move_cursor'), { x: 1 })).toThrow('move_cursor needs y: screen y in pixels.');
    expect(() => validateParams(spec('type'), {})).toThrow(DomainError);
  });

  it('names a parameter of the wrong type and what it must be', () => {
    expect(() => validateParams(spec('scroll_down'), { clicks: 1.5 })).toThrow(/clicks must be a whole number/);
    expect(() => validateParams(spec('left_click'), { x: '1', y: 2 })).toThrow(/x must be a number/);
    expect(() => validateParams(spec('hotkey'), { keys: [] })).toThrow(/keys must be a non-empty list of strings/);
    expect(() => validateParams(spec('drag'), { path: [[1, 2], [3]] })).toThrow(/path must be a list of \[x, y\] points/);
    expect(() => validateParams(spec('write_bytes'), { path: 'p', content_b64: '', append: 'yes' })).toThrow(/append must be true or false/);
    expect(() => validateParams(spec('mouse_up'), { button: 'back' })).toThrow(/button must be "left", "right" or "middle"/);
  });
});

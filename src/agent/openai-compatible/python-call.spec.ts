import { parseCall, parseCalls, PythonSyntaxError } from './python-call';

describe('python-call', () => {
  it('reads a call with positional and named literal arguments, never evaluating anything', () => {
    expect(parseCall("pyautogui.click(10, y=20.5, button='right', clicks=2)")).toEqual({
      name: 'pyautogui.click', args: [10], kwargs: { y: 20.5, button: 'right', clicks: 2 }, source: "pyautogui.click(10, y=20.5, button='right', clicks=2)",
    });
    expect(parseCall("f(keys=['ctrl', \"c\"], ok=True, no=None, t=(1, -2), e=1e3)").kwargs).toEqual({ keys: ['ctrl', 'c'], ok: true, no: null, t: [1, -2], e: 1000 });
  });

  it('decodes escapes in quoted text', () => {
    expect(parseCall("type(content='It\\'s a \\\"test\\\"\\n')").kwargs.content).toBe('It\'s a "test"\n');
    expect(parseCall("w('caf\\u00e9')").args).toEqual(['café']);
  });

  it('reads one call per line, skipping blank lines and comments', () => {
    expect(parseCalls("# move first\npyautogui.moveTo(1, 2)\n\npyautogui.dragTo(3, 4)  # then drag\na(); b()").map((c) => c.name)).toEqual(['pyautogui.moveTo', 'pyautogui.dragTo', 'a', 'b']);
  });

  it('refuses anything that is not a literal call, saying where', () => {
    for (const bad of ['click(x)', 'click(1, 2', 'import os', 'click(x=1, 2)', "type(content='open", 'click(1) click(2)', 'click(x=1, x=2)', 'f(__import__("os"))']) {
      expect(() => parseCalls(bad)).toThrow(PythonSyntaxError);
    }
    expect(() => parseCall('click(1, 2')).toThrow(/expected "," or "\)" at character 11/);
  });
});

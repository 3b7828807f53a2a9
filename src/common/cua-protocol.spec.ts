import {
  CUA_COMMANDS,
  CUA_UNSUPPORTED_COMMANDS,
  cuaCommandsListing,
  CuaFramingError,
  decodeCmdReply,
  encodeCmdReply,
  parseCuaRequest,
  resolveCuaCommand,
} from './cua-protocol';

describe('cua protocol framing', () => {
  it('parses a request and defaults absent or null params to {}', () => {
    expect(parseCuaRequest('{"command":"left_click","params":{"x":1,"y":2}}')).toEqual({ ok: true, request: { command: 'left_click', params: { x: 1, y: 2 } } });
    expect(parseCuaRequest('{"command":"version"}')).toEqual({ ok: true, request: { command: 'version', params: {} } });
    expect(parseCuaRequest('{"command":"version","params":null}')).toEqual({ ok: true, request: { command: 'version', params: {} } });
  });

  it('reports bad JSON with the parser message, and a missing command', () => {
    const bad = parseCuaRequest('{"command":');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.problem.kind).toBe('invalid_json');
    expect(!bad.ok && bad.problem.error).toMatch(/^Invalid JSON: /);
    for (const text of ['[1,2]', '"x"', 'null', '{"command":"x","params":[1]}']) {
      const r = parseCuaRequest(text);
      expect(!r.ok && r.problem.kind).toBe('invalid_json');
    }
    for (const text of ['{}', '{"params":{}}', '{"command":5}', '{"command":""}']) {
      expect(parseCuaRequest(text)).toEqual({ ok: false, problem: { kind: 'missing_command', error: 'Command is required' } });
    }
  });

  it('encodes a /cmd reply as one data line and a blank line, and decodes it back', () => {
    const body = encodeCmdReply({ success: true, text: 'a\nb' });
    expect(body).toBe('data: {"success":true,"text":"a\\nb"}\n\n');
    expect(decodeCmdReply(body)).toEqual({ success: true, text: 'a\nb' });
    expect(decodeCmdReply('data:{"a":1}\r\n\r\n')).toEqual({ a: 1 });
    expect(() => decodeCmdReply('{"a":1}')).toThrow(CuaFramingError);
    expect(() => decodeCmdReply('data: {oops\n\n')).toThrow(/not JSON/);
  });
});

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
});

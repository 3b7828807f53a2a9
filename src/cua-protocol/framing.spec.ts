import { CuaFramingError, decodeCmdReply, encodeCmdReply, parseCuaRequest } from './framing';

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

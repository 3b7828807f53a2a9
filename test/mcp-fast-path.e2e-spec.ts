import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { McpFastPath } from '../src/mcp/mcp.module';
import { startApp, TestApp } from './support/app';

const KEY_A = 'fast-path-key-alice-3b9e1f';
const KEY_B = 'fast-path-key-bob-7c2d4a';

/** A raw POST to /mcp; `chunks` are written one by one without Content-Length (chunked). */
function post(url: string, headers: Record<string, string>, body: string | Buffer | Buffer[]): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { Accept: 'application/json, text/event-stream', ...headers } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
    });
    req.on('error', reject);
    if (Array.isArray(body)) {
      for (const c of body) req.write(c);
      req.end();
    } else req.end(body);
  });
}

const list = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'list_sessions', arguments: {} } });

describe('MCP fast path (tool calls served before Express)', () => {
  let t: TestApp;
  let sid: string;
  let served: jest.SpyInstance;
  const headers = (extra: Record<string, string> = {}) => ({ 'Content-Type': 'application/json', Authorization: `Bearer ${KEY_A}`, 'mcp-session-id': sid, ...extra });

  beforeAll(async () => {
    t = await startApp({ API_KEYS: `${KEY_A}:alice,${KEY_B}:bob` });
    const transport = new StreamableHTTPClientTransport(new URL(t.url), { requestInit: { headers: { Authorization: `Bearer ${KEY_A}` } } });
    const client = new Client({ name: 'fast', version: '1.0.0' });
    await client.connect(transport);
    t.clients.push(client);
    sid = transport.sessionId!;
    served = jest.spyOn(t.app.get(McpFastPath), 'serve');
  });
  afterAll(() => t.close());
  beforeEach(() => served.mockClear());

  it('serves a tool call of an open session itself, with the same answer', async () => {
    const r = await post(t.url, headers(), list);
    expect(r.status).toBe(200);
    expect(r.text).toContain('You have no sessions.');
    expect(served).toHaveReturnedWith(true);
  });

  it('leaves every request that fails a check to Express, which answers as before', async () => {
    const cases = [
      { h: headers({ Authorization: 'Bearer not-a-key-000' }), status: 401 },
      { h: headers({ Authorization: `Bearer ${KEY_B}` }), status: 404 }, // alice's MCP session does not exist for bob
      { h: headers({ Origin: 'https://evil.example' }), status: 403 },
      { h: headers({ 'mcp-session-id': 'no-such-session' }), status: 404 },
      { h: headers({ 'Content-Type': 'text/plain' }), status: [400, 415] },
    ];
    for (const c of cases) {
      const r = await post(t.url, c.h, list);
      expect([c.status].flat()).toContain(r.status);
      expect(JSON.parse(r.text)).toMatchObject({ jsonrpc: '2.0', error: { code: expect.any(Number) } });
    }
    expect(served.mock.results.every((r) => r.value === false)).toBe(true);
  });

  it('leaves compressed bodies to express.json(), which inflates them', async () => {
    const r = await post(t.url, headers({ 'Content-Encoding': 'gzip' }), gzipSync(list));
    expect(r.status).toBe(200);
    expect(r.text).toContain('You have no sessions.');
    expect(served).toHaveReturnedWith(false);
  });

  it('answers bad JSON, non-object JSON and an oversized chunked body as McpBodyMiddleware does', async () => {
    const bad = await post(t.url, headers(), '{"jsonrpc":');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).error).toMatchObject({ code: -32700, message: expect.stringMatching(/^Parse error/) });
    const scalar = await post(t.url, headers(), '"tools/list"');
    expect(scalar.status).toBe(400);
    expect(JSON.parse(scalar.text).error.code).toBe(-32700);
    const huge = await post(t.url, headers(), Array.from({ length: 5 }, () => Buffer.alloc(1024 * 1024, 0x20)));
    expect(huge.status).toBe(413);
    expect(JSON.parse(huge.text).error.message).toMatch(/too large/);
    expect(served.mock.results.every((r) => r.value === true)).toBe(true);
    // The session still works afterwards.
    expect((await post(t.url, headers(), list)).text).toContain('You have no sessions.');
  });
});

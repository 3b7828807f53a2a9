import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call, fakeScreenText, startApp, TestApp, textOf } from './support/app';

const KEY_A = 'key-alice-0123456789abcdef';
const KEY_B = 'key-bob-fedcba9876543210';
const API_KEYS = `${KEY_A}:alice,${KEY_B}:bob`;
const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };

/** Every line the server logs during a test (the logger writes to stderr in tests), kept off the console. */
function captureLogs() {
  const lines: string[] = [];
  const spies = [process.stderr, process.stdout].map((s) =>
    jest.spyOn(s, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
      return true;
    }),
  );
  return { text: () => lines.join(''), restore: () => spies.forEach((s) => s.mockRestore()) };
}

async function connectAs(t: TestApp, key: string | undefined, name = 'e2e') {
  const client = new Client({ name, version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(t.url), key ? { requestInit: { headers: { Authorization: `Bearer ${key}` } } } : undefined);
  await client.connect(transport);
  t.clients.push(client);
  return { client, transport };
}

async function post(t: TestApp, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(t.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.text()) };
}

describe('API keys and tenancy (Streamable HTTP)', () => {
  let t: TestApp;
  let logs: ReturnType<typeof captureLogs>;
  beforeEach(() => {
    logs = captureLogs();
  });
  afterEach(async () => {
    await t?.close();
    logs.restore();
    // No key value is ever printed, whatever happened in the test.
    for (const key of [KEY_A, KEY_B, 'wrong-key-123', 'rotated-key-42']) expect(logs.text()).not.toContain(key);
  });

  it('no key and a wrong key get 401 with a JSON-RPC error and WWW-Authenticate: Bearer; the SDK client cannot connect', async () => {
    t = await startApp({ API_KEYS, LOG_LEVEL: 'debug' });
    const none = await post(t, INIT);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(JSON.parse(none.body)).toEqual({ jsonrpc: '2.0', error: { code: -32001, message: expect.stringMatching(/Authorization: Bearer/) }, id: null });
    const wrong = await post(t, INIT, { Authorization: 'Bearer wrong-key-123' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(JSON.parse(wrong.body)).toMatchObject({ jsonrpc: '2.0', error: { code: -32001, message: expect.stringMatching(/not valid/) } });
    expect(wrong.body).not.toContain('wrong-key-123');
    const basic = await post(t, INIT, { Authorization: `Basic ${KEY_A}` });
    expect(basic.status).toBe(401);
    await expect(connectAs(t, undefined)).rejects.toThrow(/Unauthorized/);
    const { client } = await connectAs(t, KEY_A);
    expect((await call(client, 'screenshot_cua')).isError).toBeFalsy();
  });

  it('two principals with the same session_id get separate computers and each sees only its own sessions', async () => {
    t = await startApp({ API_KEYS, LOG_LEVEL: 'debug' });
    const { client: a } = await connectAs(t, KEY_A, 'alice');
    const { client: b } = await connectAs(t, KEY_B, 'bob');
    await call(a, 'computer', { action: 'type', text: 'alice', session_id: 'project-x' });
    await call(b, 'computer', { action: 'type', text: 'bob', session_id: 'project-x' });
    expect(await fakeScreenText(await call(a, 'screenshot_cua', { session_id: 'project-x' }))).toBe('alice');
    expect(await fakeScreenText(await call(b, 'screenshot_cua', { session_id: 'project-x' }))).toBe('bob');
    const minted = (await call(a, 'create_session')).structuredContent as { session_id: string };

    const listA = (await call(a, 'list_sessions')).structuredContent as { sessions: { session_id: string; computer: string }[] };
    const listB = (await call(b, 'list_sessions')).structuredContent as { sessions: { session_id: string; computer: string }[] };
    expect(listA.sessions.map((s) => s.session_id).sort()).toEqual(['project-x', minted.session_id].sort());
    expect(listB.sessions.map((s) => s.session_id)).toEqual(['project-x']);
    expect(listA.sessions.find((s) => s.session_id === 'project-x')!.computer).not.toBe(listB.sessions[0].computer);
    const statsB = (await call(b, 'get_session_stats')).structuredContent as { total_sessions: number; sessions: Record<string, unknown> };
    expect(Object.keys(statsB.sessions)).toEqual(['project-x']);
    expect(statsB.total_sessions).toBe(3);
    const statsA = (await call(a, 'get_session_stats')).structuredContent as { sessions: Record<string, unknown> };
    expect(Object.keys(statsA.sessions).sort()).toEqual(['project-x', minted.session_id].sort());
    // The capture works: the log names principals, never keys (checked after each test).
    expect(logs.text()).toMatch(/Session project-x \(named\) opened for alice/);
    expect(logs.text()).toMatch(/Session project-x \(named\) opened for bob/);
  });

  it('principal B cannot reach, screenshot, drive or clean up A\'s server-minted session: SESSION_NOT_FOUND, and A\'s computer is untouched', async () => {
    t = await startApp({ API_KEYS, LOG_LEVEL: 'debug' });
    const { client: a } = await connectAs(t, KEY_A, 'alice');
    const { client: b } = await connectAs(t, KEY_B, 'bob');
    const { session_id: id } = (await call(a, 'create_session')).structuredContent as { session_id: string };
    await call(a, 'computer', { action: 'type', text: 'secret', session_id: id });

    const shot = await call(b, 'screenshot_cua', { session_id: id });
    expect(shot.isError).toBe(true);
    expect(textOf(shot)).toMatch(/^\[SESSION_NOT_FOUND\]/);
    const drive = await call(b, 'computer', { action: 'type', text: 'hijack', session_id: id });
    expect(textOf(drive)).toMatch(/^\[SESSION_NOT_FOUND\]/);
    const cmd = await call(b, 'run_command', { command: 'echo hi', session_id: id });
    expect(textOf(cmd)).toMatch(/^\[SESSION_NOT_FOUND\]/);
    const cleanup = await call(b, 'cleanup_session', { session_id: id });
    expect(cleanup.structuredContent).toMatchObject({ ended: false });
    expect((await call(b, 'list_sessions')).structuredContent).toEqual({ sessions: [] });

    expect(await fakeScreenText(await call(a, 'screenshot_cua', { session_id: id }))).toBe('secret');
  });

  it('another principal\'s key on an existing Mcp-Session-Id gets 404 for POST and DELETE (GET is 405 for anyone); the owner keeps its MCP session', async () => {
    t = await startApp({ API_KEYS, LOG_LEVEL: 'debug' });
    const { client: a, transport } = await connectAs(t, KEY_A, 'alice');
    await call(a, 'computer', { action: 'type', text: 'mine' });
    const sid = transport.sessionId!;
    expect(sid).toBeTruthy();
    const hijack = { Authorization: `Bearer ${KEY_B}`, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' };
    const listCall = { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'screenshot_cua', arguments: {} } };
    const p = await post(t, listCall, hijack);
    expect(p.status).toBe(404);
    expect(JSON.parse(p.body)).toMatchObject({ jsonrpc: '2.0', error: { code: -32001 } });
    // No server-to-client stream exists for anyone: GET says so, and says nothing of the MCP session.
    const g = await fetch(t.url, { method: 'GET', headers: { ...hijack, accept: 'text/event-stream' } });
    expect(g.status).toBe(405);
    await g.body?.cancel();
    const d = await fetch(t.url, { method: 'DELETE', headers: hijack });
    expect(d.status).toBe(404);
    const noKey = await post(t, listCall, { 'mcp-session-id': sid });
    expect(noKey.status).toBe(401);
    // A's MCP session and its default session are intact.
    expect(await fakeScreenText(await call(a, 'screenshot_cua'))).toBe('mine');
  });

  it('MAX_SESSIONS_PER_PRINCIPAL: a tenant over its cap gets SESSION_LIMIT naming the setting; another tenant still gets sessions', async () => {
    t = await startApp({ API_KEYS, MAX_SESSIONS: '5', MAX_SESSIONS_PER_PRINCIPAL: '2', LOG_LEVEL: 'debug' });
    const { client: a } = await connectAs(t, KEY_A, 'alice');
    const { client: b } = await connectAs(t, KEY_B, 'bob');
    expect((await call(a, 'screenshot_cua', { session_id: 'one' })).isError).toBeFalsy();
    expect((await call(a, 'create_session')).isError).toBeFalsy();
    const t0 = Date.now();
    const over = await call(a, 'screenshot_cua', { session_id: 'three' });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(over.isError).toBe(true);
    expect(textOf(over)).toMatch(/^\[SESSION_LIMIT\].*MAX_SESSIONS_PER_PRINCIPAL/);
    expect(textOf(await call(a, 'create_session'))).toMatch(/^\[SESSION_LIMIT\]/);
    expect((await call(b, 'screenshot_cua', { session_id: 'one' })).isError).toBeFalsy();
    await call(a, 'cleanup_session', { session_id: 'one' });
    expect((await call(a, 'screenshot_cua', { session_id: 'three' })).isError).toBeFalsy();
  });

  it('API_KEYS_FILE is re-read when the mounted file changes: a rotated-out key gets 401, the new one works', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keys-e2e-'));
    const file = join(dir, 'api-keys');
    writeFileSync(file, `# tenants\n${KEY_A}:alice\n`);
    t = await startApp({ API_KEYS_FILE: file, LOG_LEVEL: 'debug' });
    const { client: a } = await connectAs(t, KEY_A, 'alice');
    expect((await call(a, 'list_sessions')).isError).toBeFalsy();
    await expect(connectAs(t, 'rotated-key-42')).rejects.toThrow(/Unauthorized/);

    // Like a Kubernetes secret update: a new file swapped in atomically.
    writeFileSync(join(dir, 'next'), `rotated-key-42:alice\n${KEY_B}:bob\n`);
    renameSync(join(dir, 'next'), file);
    expect((await post(t, INIT, { Authorization: `Bearer ${KEY_A}` })).status).toBe(401);
    const { client: rotated } = await connectAs(t, 'rotated-key-42', 'alice-rotated');
    await call(rotated, 'screenshot_cua', { session_id: 'kept' });
    const list = (await call(rotated, 'list_sessions')).structuredContent as { sessions: { session_id: string }[] };
    expect(list.sessions.map((s) => s.session_id)).toContain('kept');
    const { client: b } = await connectAs(t, KEY_B, 'bob');
    expect((await call(b, 'list_sessions')).structuredContent).toEqual({ sessions: [] });
  });

  it('without keys the server is open as before (anonymous), and every client shares the principal "anonymous"', async () => {
    t = await startApp({ LOG_LEVEL: 'debug' });
    const { client: x } = await connectAs(t, undefined, 'x');
    const { client: y } = await connectAs(t, 'ignored-when-no-keys', 'y');
    await call(x, 'computer', { action: 'type', text: 'shared', session_id: 'team' });
    expect(await fakeScreenText(await call(y, 'screenshot_cua', { session_id: 'team' }))).toBe('shared');
  });
});

import { Client as V2Client, StreamableHTTPClientTransport as V2HttpTransport, type VersionNegotiationMode } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1HttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import sharp from 'sharp';
import { InMemoryMcpSessionRegistry, McpSessionRegistry } from '../src/cluster/cluster.module';
import { call, fakeScreenText, imagesOf, sessionIdOf, startApp, TestApp, textOf } from './support/app';
import { xvfbPids } from './support/processes';
import { waitFor } from './support/wait-for';

/**
 * Both MCP protocol eras on the one endpoint /mcp: 2026-07-28 (no handshake, the SDK 2 client) and 2025-11-25
 * (initialize and Mcp-Session-Id: the SDK 1.x client, and the SDK 2 client in its legacy mode), each request served
 * by a fresh server instance.
 */

const KEY_A = 'key-alice-0123456789abcdef';
const KEY_B = 'key-bob-fedcba9876543210';
const API_KEYS = `${KEY_A}:alice,${KEY_B}:bob`;
const MODERN = '2026-07-28';
const PIN: VersionNegotiationMode = { pin: MODERN };
const SEED_TOOLS = ['screenshot_cua', 'run_cua_task', 'run_multi_cua_tasks', 'get_session_stats', 'cleanup_session'];
const LOG_LEVEL_META = 'io.modelcontextprotocol/logLevel';

/** SDK 2 clients to close after each test. */
const opened: V2Client[] = [];

/** An SDK 2 client over Streamable HTTP, in the negotiation mode given (default: pinned to 2026-07-28). */
async function v2(t: TestApp, options: { mode?: VersionNegotiationMode; key?: string } = {}): Promise<V2Client> {
  const client = new V2Client({ name: 'e2e-v2', version: '1.0.0' }, { versionNegotiation: { mode: options.mode ?? PIN } });
  const headers = options.key ? { Authorization: `Bearer ${options.key}` } : undefined;
  await client.connect(new V2HttpTransport(new URL(t.url), headers ? { requestInit: { headers } } : undefined));
  opened.push(client);
  return client;
}

async function closeAll(...apps: (TestApp | undefined)[]) {
  await Promise.all(opened.splice(0).map((c) => c.close().catch(() => undefined)));
  await Promise.all(apps.flatMap((a) => (a ? [a.close()] : [])));
}

const v2call = (client: V2Client, name: string, args: Record<string, unknown> = {}, options?: Parameters<V2Client['callTool']>[1], meta?: Record<string, unknown>) =>
  client.callTool({ name, arguments: args, ...(meta ? { _meta: meta } : {}) }, options);

/** The envelope of a 2026-07-28 request, as the spec puts it in `params._meta`. */
const envelope = (more: Record<string, unknown> = {}) => ({
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
  ...more,
});

/** One raw POST to /mcp; the JSON-RPC messages of its answer (a JSON body or an SSE stream). */
async function post(t: TestApp, body: unknown, headers: Record<string, string>) {
  const res = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  const messages = (res.headers.get('content-type') ?? '').startsWith('text/event-stream')
    ? text.split('\n').filter((l) => l.startsWith('data:')).map((l) => JSON.parse(l.slice(5)) as Record<string, unknown>)
    : text
      ? [JSON.parse(text) as Record<string, unknown>]
      : [];
  return { status: res.status, headers: res.headers, messages };
}

const modernHeaders = (method: string, name?: string) => ({ 'mcp-protocol-version': MODERN, 'mcp-method': method, ...(name ? { 'mcp-name': name } : {}) });

async function metric(t: TestApp, name: string): Promise<number> {
  const text = await (await fetch(t.url.replace(/\/mcp$/, '/metrics'))).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
}

describe('MCP 2026-07-28 on /mcp (the SDK 2 client, pinned)', () => {
  let t: TestApp;
  afterEach(async () => closeAll(t));

  it('server/discover answers; tools are listed; screenshot_cua shows a real Xvfb desktop; id-less calls use the principal\'s default session and name it; no MCP session is kept', async () => {
    t = await startApp({ API_KEYS, COMPUTER_PROVIDER: 'xvfb', DESKTOP_PROFILE: 'minimal', SCREEN_WIDTH: '800', SCREEN_HEIGHT: '600' });
    // On the wire, as the spec has it: what the server supports and offers, and who it is.
    const raw = await post(t, { jsonrpc: '2.0', id: 'd1', method: 'server/discover', params: { _meta: envelope() } }, { ...modernHeaders('server/discover'), authorization: `Bearer ${KEY_A}` });
    expect(raw.status).toBe(200);
    expect(raw.messages[0]).toMatchObject({
      id: 'd1',
      result: {
        supportedVersions: expect.arrayContaining([MODERN]),
        // Its tools never change while it runs, so it promises no list_changed (nor for resources: a client lists again).
        capabilities: { tools: { listChanged: false }, logging: {} },
        instructions: expect.stringMatching(/screenshot_cua/),
        _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'cua-mcp-server' } },
      },
    });

    const alice = await v2(t, { key: KEY_A });
    expect(alice.getProtocolEra()).toBe('modern');
    expect(alice.getDiscoverResult()?.supportedVersions).toContain(MODERN);
    const { tools } = await alice.listTools();
    expect(tools.map((x) => x.name)).toEqual(expect.arrayContaining([...SEED_TOOLS, 'computer', 'run_command', 'create_session', 'list_sessions']));

    expect(xvfbPids()).toEqual([]);
    const shot = await v2call(alice, 'screenshot_cua');
    expect(shot.isError).toBeFalsy();
    const [img] = imagesOf(shot);
    expect(await sharp(Buffer.from(img.data, 'base64')).metadata()).toMatchObject({ format: 'png', width: 800, height: 600 });
    expect(xvfbPids()).toHaveLength(1);
    // The result names the session it used, so the client can pass that id from now on.
    const id = sessionIdOf(shot);
    expect(id).toMatch(/^ses_/);
    expect(textOf(shot)).toMatch(new RegExp(`^session ${id}: 800x600 PNG`, 'm'));
    const display = await v2call(alice, 'run_command', { command: 'echo $DISPLAY' });
    expect(sessionIdOf(display)).toBe(id);
    expect((display.structuredContent as { stdout: string }).stdout).toMatch(/^:\d+\n$/);

    // Another client of the same principal, no session_id: the same default session and desktop. Another principal: its own.
    const alice2 = await v2(t, { key: KEY_A });
    expect(sessionIdOf(await v2call(alice2, 'screenshot_cua'))).toBe(id);
    expect((await v2call(alice2, 'list_sessions')).structuredContent).toEqual({ sessions: [expect.objectContaining({ session_id: id, kind: 'default' })] });
    const bob = await v2(t, { key: KEY_B });
    const bobs = sessionIdOf(await v2call(bob, 'screenshot_cua'));
    expect(bobs).not.toBe(id);
    expect(xvfbPids()).toHaveLength(2);
    // Session ids stay the principal's own: alice's default session is not bob's to use.
    expect(textOf(await v2call(bob, 'screenshot_cua', { session_id: id }))).toMatch(/^\[SESSION_NOT_FOUND\]/);
    expect(await metric(t, 'cua_mcp_connections')).toBe(0);
  }, 60_000);

  it('progress and log messages of a call arrive on its own stream; log messages only at the level the request names', async () => {
    t = await startApp({ SCRIPTED_MODEL_STEP_MS: '150', PROGRESS_HEARTBEAT_MS: '100' });
    const client = await v2(t);
    const logs: unknown[] = [];
    client.setNotificationHandler('notifications/message', (n) => void logs.push(n.params.data));
    const progress: { progress: number; message?: string }[] = [];
    const r = await v2call(client, 'run_cua_task', { task: 'hello' }, { onprogress: (p) => void progress.push(p) }, { [LOG_LEVEL_META]: 'info' });
    expect(textOf(r)).toMatch(/Answer: Done: hello/);
    expect(progress.length).toBeGreaterThanOrEqual(4);
    const values = progress.map((p) => p.progress);
    expect([...values].sort((x, y) => x - y)).toEqual(values);
    expect(progress.some((p) => /step 2: typed "hello"/.test(p.message ?? ''))).toBe(true);
    expect(logs).toEqual(expect.arrayContaining([expect.objectContaining({ step: 1 })]));
    // Above the steps' level, or without a level at all (the spec: then none), no log message is sent.
    for (const meta of [{ [LOG_LEVEL_META]: 'warning' }, undefined]) {
      logs.length = 0;
      expect(textOf(await v2call(client, 'run_cua_task', { task: 'quiet' }, undefined, meta))).toMatch(/Answer: Done: quiet/);
      expect(logs).toEqual([]);
    }
  });

  it('closing the request\'s stream cancels the call: its tasks stop at once and the computers they leased are freed', async () => {
    t = await startApp({ SCRIPTED_MODEL_STEP_MS: '30000', POOL_MAX_SIZE: '3' });
    const client = await v2(t);
    await v2call(client, 'screenshot_cua');
    const ac = new AbortController();
    const running = v2call(client, 'run_multi_cua_tasks', { tasks: ['x', 'y', 'z'], concurrent: true }, { signal: ac.signal });
    await waitFor('three computers in use', () => t.fake.open().length === 3);
    ac.abort();
    await expect(running).rejects.toThrow();
    // Well before the 30 s model step would end: only the session's own computer is left, with no task on it.
    await waitFor('the extra computers to be freed', () => t.fake.open().length === 1, 10_000);
    const stats = await v2call(client, 'get_session_stats');
    expect(stats.structuredContent).toMatchObject({ pool: { leased: 1 } });
    expect(Object.values((stats.structuredContent as { sessions: Record<string, { active_tasks: number }> }).sessions).map((s) => s.active_tasks)).toEqual([0]);
  });

  it('malformed 2026 requests get the spec\'s errors: a bad _meta 400/-32602, an unknown version 400/-32022, headers that disagree 400/-32020; 2025 methods are not found', async () => {
    t = await startApp();
    const list = (meta: Record<string, unknown>, headers = modernHeaders('tools/list')) => post(t, { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: meta } }, headers);
    const missing = await list(Object.fromEntries(Object.entries(envelope()).filter(([k]) => !k.endsWith('/clientCapabilities'))));
    expect([missing.status, missing.messages[0]?.error]).toEqual([400, expect.objectContaining({ code: -32602 })]);
    const badType = await list(envelope({ 'io.modelcontextprotocol/clientCapabilities': 'all of them' }));
    expect([badType.status, badType.messages[0]?.error]).toEqual([400, expect.objectContaining({ code: -32602 })]);
    const future = await list(envelope({ 'io.modelcontextprotocol/protocolVersion': '2099-01-01' }), { ...modernHeaders('tools/list'), 'mcp-protocol-version': '2099-01-01' });
    expect([future.status, future.messages[0]?.error]).toEqual([400, expect.objectContaining({ code: -32022, data: expect.objectContaining({ supported: expect.arrayContaining([MODERN]) }) })]);
    const mismatch = await list(envelope(), modernHeaders('resources/list'));
    expect([mismatch.status, mismatch.messages[0]?.error]).toEqual([400, expect.objectContaining({ code: -32020 })]);
    const noName = await post(t, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'list_sessions', arguments: {}, _meta: envelope() } }, modernHeaders('tools/call'));
    expect([noName.status, noName.messages[0]?.error]).toEqual([400, expect.objectContaining({ code: -32020 })]);
    for (const method of ['initialize', 'logging/setLevel', 'ping']) {
      const r = await post(t, { jsonrpc: '2.0', id: 3, method, params: { _meta: envelope() } }, modernHeaders(method));
      expect([method, r.status, r.messages[0]?.error]).toEqual([method, 404, expect.objectContaining({ code: -32601 })]);
    }
    // A well-formed one is served, and its result says it is complete.
    const ok = await post(t, { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'list_sessions', arguments: {}, _meta: envelope() } }, modernHeaders('tools/call', 'list_sessions'));
    expect([ok.status, ok.messages.at(-1)?.result]).toEqual([200, expect.objectContaining({ resultType: 'complete', structuredContent: { sessions: [] } })]);
  });

  it('the SDK 2 client in auto mode picks 2026-07-28; in legacy mode it gets an MCP session, as the SDK 1.x client does; all see the same tools and screens', async () => {
    t = await startApp();
    const auto = await v2(t, { mode: 'auto' });
    expect(auto.getProtocolEra()).toBe('modern');
    const legacy = await v2(t, { mode: 'legacy' });
    expect(legacy.getProtocolEra()).toBe('legacy');
    const old = await t.connect('v1');
    expect((old.transport as V1HttpTransport).sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(old.getServerCapabilities()).toMatchObject({ tools: { listChanged: false }, resources: { listChanged: false } });
    expect(auto.getDiscoverResult()?.capabilities).toMatchObject({ tools: { listChanged: false }, resources: { listChanged: false } });
    const names = async (c: { listTools(): Promise<{ tools: { name: string }[] }> }) => (await c.listTools()).tools.map((x) => x.name).sort();
    expect(await names(legacy)).toEqual(await names(auto));
    expect(await names(old)).toEqual(await names(auto));
    // Each era's default session is its own; a named one is shared by all three clients (one principal).
    await v2call(auto, 'computer', { action: 'type', text: 'modern', session_id: 'shared' });
    await v2call(legacy, 'computer', { action: 'type', text: '+legacy', session_id: 'shared' });
    await call(old, 'computer', { action: 'type', text: '+v1', session_id: 'shared' });
    expect(await fakeScreenText(await v2call(auto, 'screenshot_cua', { session_id: 'shared' }))).toBe('modern+legacy+v1');
    const defaults = new Set([sessionIdOf(await v2call(auto, 'screenshot_cua')), sessionIdOf(await v2call(legacy, 'screenshot_cua')), sessionIdOf(await call(old, 'screenshot_cua'))]);
    expect(defaults.size).toBe(3);
    expect(await metric(t, 'cua_mcp_connections')).toBe(2);
  });
});

describe('MCP 2025-11-25 on /mcp, served statelessly', () => {
  const apps: TestApp[] = [];
  afterEach(async () => closeAll(...apps.splice(0)));

  it('an Mcp-Session-Id opened on one server process keeps working on another that never saw its initialize: the shared record is all it takes, log level included', async () => {
    // Two server processes' worth of app sharing nothing but the MCP session records, as replicas will share them.
    const records = new InMemoryMcpSessionRegistry();
    const env = { SCRIPTED_MODEL_STEP_MS: '50' };
    const [a, b] = [await startApp(env, [], [[McpSessionRegistry, records]]), await startApp(env, [], [[McpSessionRegistry, records]])];
    apps.push(a, b);
    let target = a.url;
    // The SDK 1.x client as it is, with every request sent wherever `target` points.
    const route: typeof fetch = (input, init) => fetch(target, init);
    const client = new V1Client({ name: 'roaming', version: '1.0.0' });
    const transport = new V1HttpTransport(new URL(a.url), { fetch: route });
    await client.connect(transport);
    a.clients.push(client);
    const sid = transport.sessionId!;
    expect(await records.get(sid)).toMatchObject({ principal: 'anonymous', protocolVersion: '2025-11-25', clientInfo: { name: 'roaming' } });

    target = b.url;
    expect((await client.listTools()).tools.map((x) => x.name)).toEqual(expect.arrayContaining(SEED_TOOLS));
    const logs: unknown[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params.data));
    expect(textOf(await call(client, 'run_cua_task', { task: 'on b' }))).toMatch(/Answer: Done: on b/);
    expect(logs).toEqual(expect.arrayContaining([expect.objectContaining({ step: 1 })]));
    expect([a.fake.open().length, b.fake.open().length]).toEqual([0, 1]);
    // The level is set through one process and honoured by the other.
    target = a.url;
    await client.setLoggingLevel('warning');
    expect(await records.get(sid)).toMatchObject({ logLevel: 'warning' });
    target = b.url;
    logs.length = 0;
    expect(textOf(await call(client, 'run_cua_task', { task: 'quietly' }))).toMatch(/Answer: Done: quietly/);
    expect(logs).toEqual([]);
    // DELETE ends the MCP session for every process, and the default session it used with it.
    await transport.terminateSession();
    await waitFor('the default session\'s computer to be freed', () => b.fake.open().length === 0, 5000);
    target = a.url;
    const after = await fetch(a.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sid }, body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }) });
    expect([after.status, ((await after.json()) as { error: { code: number } }).error.code]).toEqual([404, -32001]);
  });

  it('notifications/cancelled, a request of its own, stops the running call: its still-open stream answers CANCELLED, and what it leased is freed', async () => {
    const t = await startApp({ SCRIPTED_MODEL_STEP_MS: '30000', POOL_MAX_SIZE: '3' });
    apps.push(t);
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' };
    const init = await fetch(t.url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }) });
    const sid = init.headers.get('mcp-session-id')!;
    await init.text();
    const withSession = { ...headers, 'mcp-session-id': sid };
    await (await fetch(t.url, { method: 'POST', headers: withSession, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).text();
    const started = await fetch(t.url, {
      method: 'POST',
      headers: withSession,
      body: JSON.stringify({ jsonrpc: '2.0', id: 'call-1', method: 'tools/call', params: { name: 'run_multi_cua_tasks', arguments: { tasks: ['x', 'y'], concurrent: true }, _meta: { progressToken: 'p1' } } }),
    });
    expect(started.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await waitFor('two computers in use', () => t.fake.open().length === 2);
    const cancel = await fetch(t.url, { method: 'POST', headers: withSession, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'call-1', reason: 'changed my mind' } }) });
    expect(cancel.status).toBe(202);
    // The call's own stream, still open, ends with its result: stopped, not after the 30 s model step.
    const events = (await started.text()).split('\n').filter((l) => l.startsWith('data:')).map((l) => JSON.parse(l.slice(5)) as { id?: string; result?: { isError?: boolean; content: { text?: string }[] } });
    const result = events.find((e) => e.id === 'call-1')?.result;
    expect(result?.isError).toBe(true);
    expect(textOf(result!)).toMatch(/CANCELLED.*changed my mind/);
    // The extra computer went back; the default session keeps its own.
    await waitFor('the extra computer to be freed', () => t.fake.open().length === 1, 10_000);
  });
});

import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1HttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { createClient } from 'redis';
import { call, imagesOf, textOf } from './support/app';
import { startRedisServer, type RedisServer } from './support/redis-server';
import { spawnServer, type ServerProcess } from './support/server-process';
import { waitFor } from './support/wait-for';

/**
 * 2025-era MCP sessions (initialize, Mcp-Session-Id) across two replicas: two server processes (dist/main.js, run
 * `npx nest build` first) sharing one real redis-server, each request sent to the replica the test chooses.
 */

const KEY_A = 'key-alice-0123456789abcdef';
const KEY_B = 'key-bob-fedcba9876543210';
const SEED_TOOLS = ['screenshot_cua', 'run_cua_task', 'run_multi_cua_tasks', 'get_session_stats', 'cleanup_session'];
const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' };

type Server = ServerProcess & { stop(killAfterMs: number): Promise<void> };
type Message = { id?: unknown; result?: { isError?: boolean; content: unknown[]; structuredContent?: Record<string, unknown>; tools?: { name: string }[] }; error?: { code: number; message: string } };

/** One raw POST to a replica's /mcp as `key`'s principal, in MCP session `sid` if given. */
function post(server: Server, key: string, body: unknown, sid?: string): Promise<Response> {
  return fetch(server.url, {
    method: 'POST',
    headers: { ...HEADERS, authorization: `Bearer ${key}`, ...(sid && { 'mcp-session-id': sid }) },
    body: JSON.stringify(body),
  });
}

/** The JSON-RPC messages of an answer: a JSON body or an SSE stream (read to its end). */
async function messagesOf(res: Response): Promise<Message[]> {
  const text = await res.text();
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    return text
      .split('\n')
      .filter((l) => l.startsWith('data:'))
      .map((l) => JSON.parse(l.slice(5)) as Message);
  }
  return text ? [JSON.parse(text) as Message] : [];
}

/** The answer to request `id` among an answer's messages. */
async function answerOf(res: Response, id: unknown): Promise<Message> {
  const found = (await messagesOf(res)).find((m) => m.id === id);
  if (!found) throw new Error(`no answer to request ${String(id)} (HTTP ${res.status})`);
  return found;
}

describe('2025-era MCP sessions across two replicas sharing Redis', () => {
  let redis: RedisServer;
  let admin: ReturnType<typeof createClient>;
  let a: Server;
  let b: Server;
  /** MCP sessions a test opened, ended after it (MCP_MAX_CONNECTIONS=2 counts them all). */
  const opened: { key: string; sid: string }[] = [];
  const clients: V1Client[] = [];

  /** `initialize` on a replica, as a client does it (then notifications/initialized); its answer and the minted id. */
  async function initialize(server: Server, key: string) {
    const res = await post(server, key, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    const sid = res.headers.get('mcp-session-id') ?? undefined;
    const messages = await messagesOf(res);
    if (sid) {
      opened.push({ key, sid });
      await (await post(server, key, { jsonrpc: '2.0', method: 'notifications/initialized' }, sid)).text();
    }
    return { status: res.status, retryAfter: res.headers.get('retry-after'), sid, error: messages[0]?.error };
  }

  /** A tool call as a raw request; its answer. */
  const rawCall = async (server: Server, key: string, sid: string, id: string, name: string, args: Record<string, unknown> = {}) =>
    answerOf(await post(server, key, { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }, sid), id);

  /** How many tasks the principal's sessions run on that replica, as get_session_stats through it says. */
  const tasksOn = async (server: Server, key: string, sid: string) => {
    const r = await rawCall(server, key, sid, `stats-${Date.now()}`, 'get_session_stats');
    const stats = r.result?.structuredContent as { sessions: Record<string, { active_tasks: number }> };
    return Object.values(stats.sessions).reduce((n, s) => n + s.active_tasks, 0);
  };

  beforeAll(async () => {
    redis = await startRedisServer();
    admin = createClient({ url: redis.url });
    admin.on('error', () => undefined);
    await admin.connect();
    const env = { COMPUTER_PROVIDER: 'fake', POOL_MIN_WARM: '0', REDIS_URL: redis.url, API_KEYS: `${KEY_A}:alice,${KEY_B}:bob`, MCP_MAX_CONNECTIONS: '2' };
    // pod-a's scripted model takes ten minutes a step, so a task there runs until it is cancelled; pod-b's answers at once.
    [a, b] = await Promise.all([spawnServer({ ...env, REPLICA_ID: 'pod-a', SCRIPTED_MODEL_STEP_MS: '600000' }), spawnServer({ ...env, REPLICA_ID: 'pod-b' })]);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
    for (const { key, sid } of opened.splice(0)) {
      await fetch(a.url, { method: 'DELETE', headers: { authorization: `Bearer ${key}`, 'mcp-session-id': sid } }).catch(() => undefined);
    }
  });
  afterAll(async () => {
    await Promise.all([a?.stop(5_000), b?.stop(5_000)]);
    admin?.destroy();
    await redis?.stop();
  });

  it('an MCP session opened on one replica is served by the other: tools, sessions, its log level; DELETE through either ends it for both', async () => {
    let target = a.url;
    // The SDK 1.x client as it is, each request sent wherever `target` points.
    const transport = new V1HttpTransport(new URL(a.url), { fetch: (_input, init) => fetch(target, init), requestInit: { headers: { Authorization: `Bearer ${KEY_A}` } } });
    const client = new V1Client({ name: 'roaming', version: '1.0.0' });
    clients.push(client);
    await client.connect(transport);
    const sid = transport.sessionId!;
    opened.push({ key: KEY_A, sid });
    expect(await admin.hGetAll(`cua:{r}:mcp:s:${sid}`)).toMatchObject({ id: sid, principal: 'alice', protocolVersion: '2025-11-25', clientInfo: expect.stringContaining('"name":"roaming"') });

    target = b.url;
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(expect.arrayContaining([...SEED_TOOLS, 'create_session', 'list_sessions']));
    const created = await call(client, 'create_session');
    const id = (created.structuredContent as { session_id: string }).session_id;
    const shot = await call(client, 'screenshot_cua', { session_id: id });
    expect(textOf(shot)).toContain(`session ${id}`);
    expect(imagesOf(shot)).toHaveLength(1);
    const stats = (await call(client, 'get_session_stats')).structuredContent as { total_sessions: number; sessions: Record<string, { computer: string | null }> };
    expect(stats.total_sessions).toBe(1);
    expect(stats.sessions[id].computer).toEqual(expect.any(String));
    // The session is pod-b's, and pod-a lists it too: one registry.
    target = a.url;
    expect(((await call(client, 'list_sessions')).structuredContent as { sessions: { session_id: string }[] }).sessions.map((s) => s.session_id)).toEqual([id]);

    // A task on pod-b logs its steps at the default level; logging/setLevel through pod-a silences them on pod-b.
    const logs: unknown[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params.data));
    target = b.url;
    expect(textOf(await call(client, 'run_cua_task', { task: 'on b', session_id: id }))).toMatch(/Answer: Done: on b/);
    expect(logs).toEqual(expect.arrayContaining([expect.objectContaining({ step: 1 })]));
    target = a.url;
    await client.setLoggingLevel('warning');
    expect(await admin.hGet(`cua:{r}:mcp:s:${sid}`, 'logLevel')).toBe('warning');
    target = b.url;
    logs.length = 0;
    expect(textOf(await call(client, 'run_cua_task', { task: 'quietly', session_id: id }))).toMatch(/Answer: Done: quietly/);
    expect(logs).toEqual([]);

    // To another principal the MCP session does not exist, on either replica.
    for (const server of [a, b]) {
      const foreign = await post(server, KEY_B, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, sid);
      expect([foreign.status, (await answerOf(foreign, null)).error?.code]).toEqual([404, -32001]);
    }

    expect(textOf(await call(client, 'cleanup_session', { session_id: id }))).toMatch(new RegExp(`Session ${id} ended`));
    await transport.terminateSession();
    const after = await post(a, KEY_A, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, sid);
    expect([after.status, (await answerOf(after, null)).error?.code]).toEqual([404, -32001]);
    expect(await admin.keys('cua:{r}:mcp:*')).toEqual([]);
  });

  it('MCP_MAX_CONNECTIONS holds across both replicas: a third initialize gets 429 on either, until one is ended', async () => {
    const first = await initialize(a, KEY_A);
    const second = await initialize(b, KEY_B);
    expect([first.status, second.status]).toEqual([200, 200]);
    for (const server of [a, b]) {
      const third = await initialize(server, KEY_A);
      expect({ status: third.status, retryAfter: Number(third.retryAfter) > 0, sid: third.sid }).toEqual({ status: 429, retryAfter: true, sid: undefined });
      expect(third.error?.message).toMatch(/^The server already has its maximum of 2 MCP sessions \(MCP_MAX_CONNECTIONS\)/);
    }
    // Ended through the replica that did not open it, the place is free on both.
    const ended = await fetch(b.url, { method: 'DELETE', headers: { authorization: `Bearer ${KEY_A}`, 'mcp-session-id': first.sid! } });
    expect(ended.status).toBe(200);
    expect((await initialize(a, KEY_A)).status).toBe(200);
  });

  it('notifications/cancelled sent to one replica stops the call running on the other: its stream answers CANCELLED and its task is gone', async () => {
    const { sid } = await initialize(b, KEY_A);
    // The answer's headers come with the first bytes on its stream (an event, or the SDK's keep-alive after 15 s): not awaited yet.
    const started = post(a, KEY_A, { jsonrpc: '2.0', id: 'call-1', method: 'tools/call', params: { name: 'run_cua_task', arguments: { task: 'a long one' } } }, sid);
    started.catch(() => undefined); // awaited below; should the test fail before that, its rejection is no one's
    const tasksOnA = () => tasksOn(a, KEY_A, sid!);
    await waitFor('the task to run on pod-a', async () => (await tasksOnA()) === 1, 15_000, 100);

    const cancel = await post(b, KEY_A, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'call-1', reason: 'changed my mind' } }, sid);
    expect(cancel.status).toBe(202);
    // The call's own stream, still open on pod-a, ends with its result: stopped, not after the ten-minute model step.
    const answer = await started;
    expect(answer.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const result = (await answerOf(answer, 'call-1')).result!;
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/\[CANCELLED\] The client cancelled the call: changed my mind\./);
    expect(await tasksOnA()).toBe(0);
    await waitFor('pod-a to log what it stopped', () => a.output().includes(`MCP session ${sid}: the client cancelled request(s) call-1; stopped 1 call(s)`), 5_000);
  });

  it('while Redis is away, MCP-session requests get 503 REGISTRY_UNAVAILABLE on both replicas, a cancellation still stops a call where it runs; once Redis is back they are served again', async () => {
    const { sid } = await initialize(a, KEY_A);
    const running = post(a, KEY_A, { jsonrpc: '2.0', id: 'long', method: 'tools/call', params: { name: 'run_cua_task', arguments: { task: 'a long one' } } }, sid);
    running.catch(() => undefined); // awaited below
    await waitFor('the task to run on pod-a', async () => (await tasksOn(a, KEY_A, sid!)) === 1, 15_000, 100);
    const mcpConnections = async () => {
      const res = await fetch(`${a.base}/metrics`);
      return [res.status, /^cua_mcp_connections (\d+)$/m.exec(await res.text())?.[1]];
    };
    expect(await mcpConnections()).toEqual([200, '1']);
    await redis.kill();
    try {
      const refused = await initialize(b, KEY_A);
      expect({ status: refused.status, retryAfter: refused.retryAfter }).toEqual({ status: 503, retryAfter: '2' });
      expect(refused.error?.message).toMatch(new RegExp(`^\\[REGISTRY_UNAVAILABLE\\] The session registry \\(Redis at 127\\.0\\.0\\.1:${redis.port}\\) is unreachable: .*Retry shortly\\.$`));
      const inSession = await post(a, KEY_A, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, sid);
      expect([inSession.status, (await answerOf(inSession, null)).error?.message]).toEqual([503, expect.stringMatching(/^\[REGISTRY_UNAVAILABLE\]/)]);
      // The replica running the call stops it, though it cannot check the MCP session (only that principal's call of it can match).
      const cancel = await post(a, KEY_A, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'long' } }, sid);
      expect(cancel.status).toBe(503);
      const result = (await answerOf(await running, 'long')).result!;
      expect(textOf(result)).toMatch(/\[CANCELLED\] The client cancelled the call\./);
      // The metrics still answer, the MCP sessions counted as they were last seen.
      expect(await mcpConnections()).toEqual([200, '1']);
    } finally {
      await redis.restart();
    }
    await admin.connect().catch(() => undefined);
    const again = await waitFor('initialize to be served again', async () => {
      const r = await initialize(b, KEY_A);
      return r.status === 200 && r;
    }, 20_000, 200);
    const tools = await answerOf(await post(a, KEY_A, { jsonrpc: '2.0', id: 3, method: 'tools/list' }, again.sid), 3);
    expect(tools.result?.tools?.map((t) => t.name)).toEqual(expect.arrayContaining(SEED_TOOLS));
    // The restarted Redis kept nothing (no persistence): the MCP session opened before is gone, said with 404.
    const old = await post(b, KEY_A, { jsonrpc: '2.0', id: 4, method: 'tools/list' }, sid);
    expect([old.status, (await answerOf(old, null)).error?.code]).toEqual([404, -32001]);
  });
});

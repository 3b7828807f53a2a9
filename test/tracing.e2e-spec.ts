import { Client as V2Client, StreamableHTTPClientTransport as V2HttpTransport } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Logger } from '@nestjs/common';
import { NoTracing, Tracing } from '../src/tracing/tracing.module';
import { call, startApp, textOf, type TestApp } from './support/app';
import { alive } from './support/processes';
import { KIND, OtlpReceiver, STATUS, type ReceivedSpan } from './support/otlp-receiver';
import { startRedisServer, type RedisServer } from './support/redis-server';
import { childEnv, MAIN, spawnServer, type ServerProcess } from './support/server-process';
import { waitFor } from './support/wait-for';

/**
 * OpenTelemetry tracing end to end: the real app (fake computers, the scripted model) exporting over OTLP/HTTP to a real
 * receiver on loopback that decodes what arrives, driven by the real MCP clients of both protocol eras. The stdio and
 * replicas tests run server processes (dist/main.js: run `npx nest build` first), the latter sharing a real redis-server.
 */

const KEY = 'key-alice-0123456789abcdef';
const API_KEYS = `${KEY}:alice`;
/** Secret-looking text typed into the desktop: it must never reach a span. */
const SECRET = 'Tr0ub4dor&3-zebra-s3cret';
const KEY_COMBO = 'ctrl+alt+F7';
const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';
const traceparent = (traceId: string, spanId: string) => `00-${traceId}-${spanId}-01`;

/** The MCP 1.x client (2025 era) with these extra HTTP headers on every request. */
async function v1(t: TestApp, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'e2e-tracing', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(t.url), { requestInit: { headers: { Authorization: `Bearer ${KEY}`, ...headers } } }));
  t.clients.push(client);
  return client;
}

const only = (spans: ReceivedSpan[], name: string) => {
  const found = spans.filter((s) => s.name === name);
  if (found.length !== 1) throw new Error(`${found.length} spans named "${name}" among: ${spans.map((s) => s.name).join(', ')}`);
  return found[0];
};
const childrenOf = (spans: ReceivedSpan[], parent: ReceivedSpan) => spans.filter((s) => s.parentSpanId === parent.spanId && s.traceId === parent.traceId);

describe('Tracing (OpenTelemetry over OTLP/HTTP)', () => {
  let receiver: OtlpReceiver;
  let t: TestApp | undefined;
  beforeEach(async () => {
    receiver = await new OtlpReceiver().start();
  });
  afterEach(async () => {
    await t?.close();
    t = undefined;
    await receiver.stop();
    jest.restoreAllMocks();
  });

  const traced = (env: Record<string, string> = {}) =>
    startApp({ API_KEYS, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50', OTEL_SERVICE_NAME: 'cua-e2e', ...env });

  it('a run_cua_task is one trace: the tool call, the task, its steps, each step\'s model call and actions, parented in that order', async () => {
    t = await traced();
    const client = await v1(t);
    const result = await call(client, 'run_cua_task', { task: `Type ${SECRET}`, session_id: 'traced' });
    expect(result.isError).toBeFalsy();

    const spans = await waitFor('the tool call span at the receiver', () => {
      const all = receiver.spans();
      return all.some((s) => s.name === 'tools/call run_cua_task') && all;
    });
    expect(receiver.requests.every((r) => r.path === '/v1/traces' && r.headers['content-type'] === 'application/json')).toBe(true);
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
    expect(spans.every((s) => s.resource['service.name'] === 'cua-e2e' && s.scope === 'cua-mcp-server')).toBe(true);

    const tool = only(spans, 'tools/call run_cua_task');
    expect(tool).toMatchObject({ kind: KIND.server, parentSpanId: '', status: { code: STATUS.unset } });
    expect(tool.attributes).toMatchObject({
      'mcp.method.name': 'tools/call',
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'run_cua_task',
      'cua.mcp.era': '2025',
      'network.transport': 'tcp',
      'user.id': 'alice',
      'cua.session.id': 'traced',
      'cua.outcome': 'ok',
      'mcp.session.id': expect.any(String),
      'jsonrpc.request.id': expect.any(String),
    });

    const [task] = childrenOf(spans, tool);
    expect(childrenOf(spans, tool)).toHaveLength(1);
    expect(task).toMatchObject({ name: 'invoke_agent', attributes: { 'gen_ai.provider.name': 'scripted', 'gen_ai.request.model': 'demo', 'cua.agent.steps': 4 } });
    const steps = childrenOf(spans, task).sort((a, b) => Number(a.attributes['cua.agent.step']) - Number(b.attributes['cua.agent.step']));
    expect(steps.map((s) => [s.name, s.attributes['cua.agent.step'], s.attributes['cua.agent.actions']])).toEqual([
      ['agent step', 1, 1],
      ['agent step', 2, 1],
      ['agent step', 3, 1],
      ['agent step', 4, 0],
    ]);
    // Within each step: its model call, then the actions the model asked for (the scripted model: click, type, key, answer).
    const inside = steps.map((step) => childrenOf(spans, step).map((s) => s.name).sort());
    expect(inside).toEqual([['chat demo', 'computer left_click'], ['chat demo', 'computer type'], ['chat demo', 'computer key'], ['chat demo']]);
    const chat = childrenOf(spans, steps[0]).find((s) => s.name === 'chat demo')!;
    expect(chat).toMatchObject({ kind: KIND.client, attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'scripted', 'cua.model.retries': 0 } });
    const typed = childrenOf(spans, steps[1]).find((s) => s.name === 'computer type')!;
    expect(typed.attributes).toEqual({ 'cua.computer.action': 'type', 'cua.computer.provider': 'fake', 'cua.computer.id': expect.any(String) });

    // Nothing typed, no task text, no key: not in any attribute, event or status, nor anywhere in what was sent.
    for (const leaked of [SECRET, 'Tr0ub4dor', 'Return', KEY]) expect(receiver.raw()).not.toContain(leaked);
  });

  it('run_multi_cua_tasks at once: each task its own invoke_agent span within the one tool call, each on its own computer', async () => {
    t = await traced({ SCRIPTED_MODEL_STEPS: '2', POOL_MAX_SIZE: '2' });
    const client = await v1(t);
    const result = await call(client, 'run_multi_cua_tasks', { tasks: ['first', 'second'], concurrent: true, session_id: 'multi' });
    expect(result.isError).toBeFalsy();
    const spans = await waitFor('the tool call span at the receiver', () => {
      const all = receiver.spans();
      return all.some((s) => s.name === 'tools/call run_multi_cua_tasks') && all;
    });
    const tool = only(spans, 'tools/call run_multi_cua_tasks');
    const tasks = childrenOf(spans, tool);
    expect(tasks.map((s) => [s.name, s.attributes['cua.agent.steps']])).toEqual([
      ['invoke_agent', 2],
      ['invoke_agent', 2],
    ]);
    const computersOf = (task: ReceivedSpan) =>
      new Set(childrenOf(spans, task).flatMap((step) => childrenOf(spans, step).filter((s) => s.name.startsWith('computer ')).map((s) => s.attributes['cua.computer.id'])));
    const [a, b] = tasks.map(computersOf);
    expect(a.size).toBe(1);
    expect(b.size).toBe(1);
    expect([...a][0]).not.toBe([...b][0]);
  });

  it('continues the trace a call brings in `_meta` (both eras), else the one of its HTTP `traceparent` header; no typed text or key reaches a span', async () => {
    t = await traced();
    // 2025 era, `_meta.traceparent` (SEP-414).
    const client = await v1(t);
    await client.callTool({ name: 'screenshot_cua', arguments: { session_id: 'meta' }, _meta: { traceparent: traceparent(CLIENT_TRACE, CLIENT_SPAN), tracestate: 'vendor=1' } });
    // The HTTP header only, on every request of this client.
    const headerTrace = '1'.repeat(32);
    const headed = await v1(t, { traceparent: traceparent(headerTrace, '2'.repeat(16)) });
    await call(headed, 'computer', { action: 'type', text: SECRET, session_id: 'header' });
    await call(headed, 'computer', { action: 'key', text: KEY_COMBO, session_id: 'header' });
    // 2026-07-28 era (the SDK 2 client), `_meta.traceparent` and a header of another trace: `_meta` wins, the header's is a link.
    const modernTrace = '3'.repeat(32);
    const modern = new V2Client({ name: 'e2e-tracing-v2', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await modern.connect(new V2HttpTransport(new URL(t.url), { requestInit: { headers: { Authorization: `Bearer ${KEY}`, traceparent: traceparent(headerTrace, '5'.repeat(16)) } } }));
    try {
      const r = await modern.callTool({ name: 'screenshot_cua', arguments: { session_id: 'modern' }, _meta: { traceparent: traceparent(modernTrace, '4'.repeat(16)) } });
      expect(r.isError).toBeFalsy();
    } finally {
      await modern.close();
    }

    const spans = await waitFor('four tool calls at the receiver', () => {
      const all = receiver.spans();
      return all.filter((s) => s.name.startsWith('tools/call ')).length === 4 && all;
    });
    const meta = spans.find((s) => s.attributes['cua.session.id'] === 'meta')!;
    expect(meta).toMatchObject({ name: 'tools/call screenshot_cua', traceId: CLIENT_TRACE, parentSpanId: CLIENT_SPAN, links: [], attributes: { 'cua.mcp.era': '2025' } });

    const [typed, pressed] = ['type', 'key'].map((action) => spans.find((s) => s.name === 'tools/call computer' && childrenOf(spans, s).some((c) => c.name === `computer ${action}`))!);
    for (const s of [typed, pressed]) expect(s).toMatchObject({ traceId: headerTrace, parentSpanId: '2'.repeat(16), attributes: { 'cua.session.id': 'header', 'cua.outcome': 'ok' } });

    const modernSpan = spans.find((s) => s.attributes['cua.session.id'] === 'modern')!;
    expect(modernSpan).toMatchObject({
      traceId: modernTrace,
      parentSpanId: '4'.repeat(16),
      links: [{ traceId: headerTrace, spanId: '5'.repeat(16) }],
      attributes: { 'cua.mcp.era': '2026', 'mcp.protocol.version': '2026-07-28', 'user.id': 'alice' },
    });
    expect(modernSpan.attributes['mcp.session.id']).toBeUndefined();

    for (const leaked of [SECRET, 'Tr0ub4dor', KEY_COMBO, KEY]) expect(receiver.raw()).not.toContain(leaked);
  });

  it('a refused call is a failed span with its code; a receiver that refuses exports never breaks a call and is logged once per outage', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn');
    const log = jest.spyOn(Logger.prototype, 'log');
    t = await traced({ POOL_MAX_SIZE: '1', MAX_SESSIONS: '1' });
    const client = await v1(t);
    receiver.refuse = true;
    expect(textOf(await call(client, 'screenshot_cua', { session_id: 'one' }))).toMatch(/session one/);
    const refused = await call(client, 'screenshot_cua', { session_id: 'two' });
    expect(refused.isError).toBe(true);
    await waitFor('the failed export in the log', () => warn.mock.calls.some((c) => /^Traces could not be sent to/.test(String(c[0]))));
    // More calls while it refuses: they work, and the log says nothing more of it.
    for (let i = 0; i < 3; i++) expect((await call(client, 'screenshot_cua', { session_id: 'one' })).isError).toBeFalsy();
    receiver.refuse = false;
    await call(client, 'screenshot_cua', { session_id: 'one' });
    await waitFor('the recovery in the log', () => log.mock.calls.some((c) => /^Traces reach .* again \(\d+ span\(s\) were dropped meanwhile\)\.$/.test(String(c[0]))));
    expect(warn.mock.calls.filter((c) => /^Traces could not be sent/.test(String(c[0])))).toHaveLength(1);

    await call(client, 'screenshot_cua', { session_id: 'three' });
    const failed = await waitFor('the span of a call refused for the session cap', () => receiver.spans().find((s) => s.attributes['cua.session.id'] === 'three'));
    expect(failed).toMatchObject({ status: { code: STATUS.error, message: 'SESSION_LIMIT' }, attributes: { 'error.type': 'tool_error', 'cua.outcome': 'SESSION_LIMIT' } });
  });

  it('sends the spans still waiting when the server shuts down', async () => {
    t = await traced({ OTEL_BSP_SCHEDULE_DELAY: '600000' });
    const client = await v1(t);
    await call(client, 'screenshot_cua', { session_id: 'last' });
    expect(receiver.requests).toHaveLength(0);
    await t.close();
    t = undefined;
    expect(receiver.spans().map((s) => s.name)).toEqual(['tools/call screenshot_cua']);
  });

  it('without an endpoint, or with OTEL_SDK_DISABLED=true, starts no SDK and sends nothing', async () => {
    const envs: Record<string, string>[] = [{ API_KEYS }, { API_KEYS, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '1', OTEL_SDK_DISABLED: 'true' }];
    for (const env of envs) {
      t = await startApp(env);
      expect(t.app.get(Tracing)).toBeInstanceOf(NoTracing);
      const client = await v1(t, { traceparent: traceparent(CLIENT_TRACE, CLIENT_SPAN) });
      await call(client, 'run_cua_task', { task: 'anything', session_id: 'quiet' });
      // Closing flushes any exporter there is: none, so nothing can arrive after this.
      await t.close();
      t = undefined;
      expect(receiver.requests).toEqual([]);
    }
  });
});

describe('Tracing over stdio (node dist/main.js --stdio)', () => {
  it("continues the trace in a call's `_meta` (a stdio client's only way to send one), and sends the spans when the client leaves", async () => {
    const receiver = await new OtlpReceiver().start();
    try {
      const env = childEnv({ COMPUTER_PROVIDER: 'fake', CUA_MODEL_NAME: 'scripted/demo', STDIO_PRINCIPAL: 'desk-user', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '600000' });
      const transport = new StdioClientTransport({ command: process.execPath, args: [MAIN, '--stdio'], env: env as Record<string, string>, stderr: 'pipe' });
      const client = new Client({ name: 'e2e-tracing-stdio', version: '1.0.0' });
      await client.connect(transport);
      const pid = transport.pid!;
      await client.callTool({ name: 'computer', arguments: { action: 'type', text: SECRET }, _meta: { traceparent: traceparent(CLIENT_TRACE, CLIENT_SPAN) } });
      await client.close();
      // The process ends when its stdin closes, after sending what waited.
      await waitFor('the stdio server to exit', () => !alive(pid));
      const spans = receiver.spans();
      const tool = only(spans, 'tools/call computer');
      expect(tool).toMatchObject({ traceId: CLIENT_TRACE, parentSpanId: CLIENT_SPAN, attributes: { 'network.transport': 'pipe', 'cua.mcp.era': '2025', 'user.id': 'desk-user' } });
      expect(childrenOf(spans, tool).map((s) => s.name)).toEqual(['computer type']);
      expect(receiver.raw()).not.toContain(SECRET);
    } finally {
      await receiver.stop();
    }
  });
});

describe('Tracing across replicas (two server processes sharing Redis, CLUSTER_PORT forwarding)', () => {
  let redis: RedisServer;
  let receiver: OtlpReceiver;
  const replicas: (ServerProcess & { stop(ms: number): Promise<void> })[] = [];
  const clients: V2Client[] = [];
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await Promise.all(replicas.map((r) => r.stop(5_000)));
    await receiver?.stop();
    await redis?.stop();
  });

  it("a call forwarded to the replica that holds its session keeps the client's trace (`_meta` and header), and each replica sends its spans at SIGTERM", async () => {
    receiver = await new OtlpReceiver().start();
    const replica = (id: string) =>
      spawnServer({
        COMPUTER_PROVIDER: 'fake',
        POOL_MIN_WARM: '0',
        API_KEYS,
        REDIS_URL: redis.url,
        REPLICA_ID: id,
        CLUSTER_PORT: '0',
        CLUSTER_HOST: '127.0.0.1',
        CLUSTER_ADDRESS: '127.0.0.1',
        CLUSTER_SECRET: 'e2e-cluster-secret-0123456789abcdef0123456789',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        // Nothing is sent before the shutdown: what arrives was sent by it.
        OTEL_BSP_SCHEDULE_DELAY: '600000',
        OTEL_RESOURCE_ATTRIBUTES: `service.instance.id=${id}`,
      });
    const [a, b] = await Promise.all([replica('pod-a'), replica('pod-b')]);
    replicas.push(a, b);
    const connect = async (server: ServerProcess, headers: Record<string, string> = {}) => {
      const c = new V2Client({ name: 'e2e-tracing-replicas', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
      await c.connect(new V2HttpTransport(new URL(server.url), { requestInit: { headers: { Authorization: `Bearer ${KEY}`, ...headers } } }));
      clients.push(c);
      return c;
    };
    // The session opens on pod-a: its computer lives there.
    expect((await (await connect(a)).callTool({ name: 'screenshot_cua', arguments: { session_id: 'held' } })).isError).toBeFalsy();
    // Through pod-b, with a `traceparent` header on every request, once with a trace context of its own in `_meta`.
    const headerTrace = '6'.repeat(32);
    const viaB = await connect(b, { traceparent: traceparent(headerTrace, '7'.repeat(16)) });
    const metaTrace = '8'.repeat(32);
    expect((await viaB.callTool({ name: 'screenshot_cua', arguments: { session_id: 'held' }, _meta: { traceparent: traceparent(metaTrace, '9'.repeat(16)) } })).isError).toBeFalsy();
    expect((await viaB.callTool({ name: 'screenshot_cua', arguments: { session_id: 'held' } })).isError).toBeFalsy();
    expect(receiver.requests).toEqual([]);

    await Promise.all([a.stop(10_000), b.stop(10_000)]);
    const spans = receiver.spans().filter((s) => s.name === 'tools/call screenshot_cua');
    // All three calls ran on pod-a; pod-b only passed two of them on.
    expect(spans.map((s) => s.resource['service.instance.id'])).toEqual(['pod-a', 'pod-a', 'pod-a']);
    const byTrace = (traceId: string) => spans.filter((s) => s.traceId === traceId);
    expect(byTrace(metaTrace)).toMatchObject([{ parentSpanId: '9'.repeat(16), links: [{ traceId: headerTrace, spanId: '7'.repeat(16) }] }]);
    expect(byTrace(headerTrace)).toMatchObject([{ parentSpanId: '7'.repeat(16), links: [] }]);
    expect(spans.filter((s) => s.parentSpanId === '')).toHaveLength(1);
  });
});

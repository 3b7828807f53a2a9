/**
 * Admission limits, attacked the way an abusive tenant would, against the real app: each attack
 * is bounded (at most a few hundred connections, on 127.0.0.1), the attacker is refused or cut
 * off, the other tenant keeps working, readiness stays 200 and nothing is left behind.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { connect as tcpConnect, type Socket } from 'node:net';
import { ProbeServer } from '../src/http/http.module';
import { ComputerPool } from '../src/pool/pool.module';
import { call, startApp, TestApp, textOf } from './support/app';
import { ServerProcess, spawnServer } from './support/server-process';
import { waitFor } from './support/wait-for';

const KEY_A = 'key-alice-0123456789abcdef';
const KEY_B = 'key-bob-fedcba9876543210';
const KEY_Z = 'key-zed-00112233445566778';
const API_KEYS = `${KEY_A}:alice,${KEY_B}:bob,${KEY_Z}:zed`;

async function connectAs(t: TestApp, key: string, name = 'e2e'): Promise<Client> {
  const client = await connectTo(t.url, key, name);
  t.clients.push(client);
  return client;
}

async function connectTo(url: string, key: string, name = 'e2e'): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${key}` } } }));
  return client;
}


const base = (t: TestApp) => t.url.replace(/\/mcp$/, '');
const ready = async (t: TestApp) => (await fetch(`${base(t)}/health/ready`)).status;

/** The most computers each principal held at once, from the pool's own events. */
function watchHoldings(pool: ComputerPool) {
  const now = new Map<string, number>();
  const peak = new Map<string, number>();
  const add = (p: string, d: number) => {
    now.set(p, (now.get(p) ?? 0) + d);
    peak.set(p, Math.max(peak.get(p) ?? 0, now.get(p)!));
  };
  pool.events.on('leased', (l) => add(l.principal, 1));
  pool.events.on('released', (l) => add(l.principal, -1));
  let peakWaiting = 0;
  const timer = setInterval(() => (peakWaiting = Math.max(peakWaiting, pool.stats().waiting)), 5);
  return { peak, now, peakWaiting: () => peakWaiting, stop: () => clearInterval(timer) };
}

describe('Admission: computers per principal', () => {
  let t: TestApp;
  afterEach(async () => t?.close());

  it('run_multi_cua_tasks concurrent cannot take more computers than the principal may hold; the other tenant still gets one at once', async () => {
    // The attack as reported: alice may hold one session; one concurrent call took all five pooled computers.
    t = await startApp({ API_KEYS, MAX_SESSIONS_PER_PRINCIPAL: '1', POOL_MAX_SIZE: '5', SCRIPTED_MODEL_STEP_MS: '50', POOL_ACQUIRE_TIMEOUT_MS: '15000' });
    const pool = t.app.get(ComputerPool);
    const watch = watchHoldings(pool);
    try {
      const alice = await connectAs(t, KEY_A, 'alice');
      const bob = await connectAs(t, KEY_B, 'bob');
      const tasks = Array.from({ length: 16 }, (_, i) => `task ${i}`);
      const one = await call(alice, 'run_multi_cua_tasks', { tasks, concurrent: true, session_id: 'work' });
      expect(one.isError).toBe(true);
      expect(textOf(one)).toMatch(/^\[SESSION_LIMIT\] .*15 computer\(s\) besides the session's.*MAX_COMPUTERS_PER_PRINCIPAL=1.*at most 1 task\(s\) per concurrent call, use concurrent=false/s);
      // Many such calls at once, on several connections: every one is refused, none waits in the pool.
      const more = await Promise.all(
        Array.from({ length: 4 }, async () => {
          const c = await connectAs(t, KEY_A, 'alice-more');
          return Promise.all([
            ...Array.from({ length: 5 }, () => call(c, 'run_multi_cua_tasks', { tasks: ['x', 'y'], concurrent: true, session_id: 'work' })),
            call(c, 'create_session', {}),
          ]);
        }),
      );
      const texts = more.flat().map(textOf);
      expect(texts.filter((x) => !/^\[SESSION_LIMIT\]/.test(x))).toEqual([]);
      expect(texts.filter((x) => /MAX_COMPUTERS_PER_PRINCIPAL/.test(x))).toHaveLength(20);
      expect(texts.filter((x) => /MAX_SESSIONS_PER_PRINCIPAL/.test(x))).toHaveLength(4);
      // Bob gets his computer at once and works on it.
      const created = await call(bob, 'create_session', {});
      expect(created.isError).toBeFalsy();
      const done = await call(bob, 'run_cua_task', { task: 'hello', session_id: (created.structuredContent as { session_id: string }).session_id });
      expect(textOf(done)).toMatch(/Answer: Done: hello/);
      expect(watch.peak.get('alice')).toBe(1);
      expect(watch.peakWaiting()).toBe(0);
      expect(await ready(t)).toBe(200);
      // Nothing is left behind once both clean up.
      await call(alice, 'cleanup_session', { session_id: 'work' });
      await call(bob, 'cleanup_session', { session_id: (created.structuredContent as { session_id: string }).session_id });
      await waitFor('every computer destroyed', () => (t.fake.open().length === 0 ? true : undefined));
      expect(pool.stats()).toMatchObject({ leased: 0, waiting: 0 });
    } finally {
      watch.stop();
    }
  });

  it('a concurrent call within MAX_COMPUTERS_PER_PRINCIPAL runs; waits count against it; the pool serves principals in turns', async () => {
    // MAX_SESSIONS above the pool (left unset it would be 3), so sessions queue for computers: the waits this is about.
    t = await startApp({ API_KEYS, MAX_COMPUTERS_PER_PRINCIPAL: '3', POOL_MAX_SIZE: '3', MAX_SESSIONS: '10', POOL_ACQUIRE_TIMEOUT_MS: '20000' });
    const pool = t.app.get(ComputerPool);
    const alice = await connectAs(t, KEY_A, 'alice');
    const bob = await connectAs(t, KEY_B, 'bob');
    const zed = await connectAs(t, KEY_Z, 'zed');
    const ok = await call(alice, 'run_multi_cua_tasks', { tasks: ['a', 'b', 'c'], concurrent: true, session_id: 'work' });
    expect(textOf(ok)).toMatch(/3 of 3 tasks succeeded \(run concurrently\)/);
    const over = await call(alice, 'run_multi_cua_tasks', { tasks: ['a', 'b', 'c', 'd'], concurrent: true, session_id: 'work' });
    expect(textOf(over)).toMatch(/^\[SESSION_LIMIT\].*at most 3 task\(s\)/s);
    await call(alice, 'cleanup_session', { session_id: 'work' });
    expect(pool.stats().leased).toBe(0);

    // zed holds all three computers; alice asks for three more sessions, then bob for one.
    for (const id of ['z1', 'z2', 'z3']) await call(zed, 'screenshot_cua', { session_id: id });
    const order: string[] = [];
    const ask = (c: Client, who: string, id: string) =>
      call(c, 'screenshot_cua', { session_id: id }).then((r) => {
        order.push(who);
        return r;
      });
    const aliceAsks = ['a1', 'a2', 'a3'].map((id) => ask(alice, 'alice', id));
    await waitFor('alice waiting three times', () => (pool.stats().waiting === 3 ? true : undefined));
    // Her waits are her computers too: a fourth call is refused at once.
    expect(textOf(await call(alice, 'screenshot_cua', { session_id: 'a4' }))).toMatch(/^\[SESSION_LIMIT\].*MAX_COMPUTERS_PER_PRINCIPAL/s);
    const bobAsks = ask(bob, 'bob', 'b1');
    await waitFor('bob waiting', () => (pool.stats().waiting === 4 ? true : undefined));
    // Each computer zed gives back goes to the next principal in turn: bob does not wait behind all of alice's calls.
    for (const [i, id] of ['z1', 'z2'].entries()) {
      await call(zed, 'cleanup_session', { session_id: id });
      await waitFor(`hand-off ${i + 1}`, () => (order.length === i + 1 ? true : undefined));
    }
    expect(order).toEqual(['alice', 'bob']);
    await call(zed, 'cleanup_session', { session_id: 'z3' });
    await waitFor('third hand-off', () => (order.length === 3 ? true : undefined));
    await call(alice, 'cleanup_session', { session_id: 'a1' });
    const all = await Promise.all([...aliceAsks, bobAsks]);
    expect(all.filter((r) => r.isError).map(textOf)).toEqual([]);
    expect(order).toEqual(['alice', 'bob', 'alice', 'alice']);
    expect(await ready(t)).toBe(200);
  });
});

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'flood', version: '1' } } };
const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** One raw initialize, as a flooding client sends it (no GET stream, nothing after it). */
async function initialize(t: TestApp, key: string) {
  const res = await fetch(t.url, { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${key}` }, body: JSON.stringify(INIT) });
  return { status: res.status, sid: res.headers.get('mcp-session-id'), retryAfter: res.headers.get('retry-after'), body: await res.text() };
}

/** A raw tools/list on an MCP session. */
async function listTools(t: TestApp, key: string, sid: string) {
  const res = await fetch(t.url, { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${key}`, 'mcp-session-id': sid }, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) });
  await res.text();
  return res.status;
}

/** Ends an MCP session with DELETE, as a well-behaved client does. */
async function end(t: TestApp, key: string, sid: string) {
  const res = await fetch(t.url, { method: 'DELETE', headers: { ...MCP_HEADERS, authorization: `Bearer ${key}`, 'mcp-session-id': sid } });
  await res.text();
  return res.status;
}

async function metric(t: TestApp, line: RegExp): Promise<number | undefined> {
  const text = await (await fetch(`${base(t)}/metrics`)).text();
  const m = new RegExp(`^${line.source} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

describe('Admission: MCP sessions', () => {
  let t: TestApp;
  afterEach(async () => t?.close());

  it('an initialize flood is refused with 429, Retry-After and a JSON-RPC error naming the setting; the other tenant keeps working', async () => {
    t = await startApp({ API_KEYS, MCP_MAX_CONNECTIONS_PER_PRINCIPAL: '20' });
    const bob = await connectAs(t, KEY_B, 'bob');
    expect((await call(bob, 'list_sessions')).isError).toBeFalsy();

    const flood = await Promise.all(Array.from({ length: 200 }, () => initialize(t, KEY_A)));
    const admitted = flood.filter((r) => r.status === 200);
    const refused = flood.filter((r) => r.status === 429);
    expect([admitted.length, refused.length]).toEqual([20, 180]);
    for (const r of refused) {
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(JSON.parse(r.body)).toEqual({
        jsonrpc: '2.0',
        error: { code: -32000, message: expect.stringMatching(/you already have 20.*\(MCP_MAX_CONNECTIONS_PER_PRINCIPAL=20\)\. Reuse an open MCP session.*DELETE \/mcp/s) },
        id: null,
      });
    }
    expect(await metric(t, /cua_mcp_connections_refused_total\{limit="MCP_MAX_CONNECTIONS_PER_PRINCIPAL"\}/)).toBe(180);
    // Bob is another principal: he still opens sessions, and his calls work.
    const bob2 = await connectAs(t, KEY_B, 'bob-2');
    expect((await call(bob2, 'screenshot_cua')).isError).toBeFalsy();
    expect((await call(bob, 'list_sessions')).isError).toBeFalsy();
    expect(await ready(t)).toBe(200);

    // Nothing is left behind: ended sessions leave the count, and alice has room again.
    for (const r of admitted) expect(await end(t, KEY_A, r.sid!)).toBe(200);
    for (const c of [bob, bob2]) await (c.transport as StreamableHTTPClientTransport).terminateSession();
    expect(await metric(t, /cua_mcp_connections/)).toBe(0);
    const again = await initialize(t, KEY_A);
    expect(again.status).toBe(200);
    await end(t, KEY_A, again.sid!);
    await waitFor('every computer gone', () => (t.fake.open().length === 0 ? true : undefined));
  });

  it('unused MCP sessions expire after MCP_CONNECTION_IDLE_TIMEOUT_MS; one in use (raw requests) does not, and a GET (405, no stream) does not hold one open', async () => {
    t = await startApp({ API_KEYS, MCP_MAX_CONNECTIONS_PER_PRINCIPAL: '5', MCP_CONNECTION_IDLE_TIMEOUT_MS: '1000', SESSION_SWEEP_INTERVAL_MS: '100' });
    const opened = await Promise.all(Array.from({ length: 5 }, () => initialize(t, KEY_A)));
    expect(opened.map((r) => r.status)).toEqual(Array(5).fill(200));
    const [kept, watched, ...unused] = opened.map((r) => r.sid!);
    // There is no server-to-client stream to hold an MCP session open: GET is refused, and is no use of it.
    const get = () => fetch(t.url, { method: 'GET', headers: { ...MCP_HEADERS, accept: 'text/event-stream', authorization: `Bearer ${KEY_A}`, 'mcp-session-id': watched } });
    const refused = await get();
    expect([refused.status, refused.headers.get('allow')]).toEqual([405, 'POST, DELETE']);
    // One of alice's sessions stays in use; the others, unused (or only asked for a stream), expire.
    const keeper = setInterval(() => void listTools(t, KEY_A, kept), 200);
    const watcher = setInterval(() => void get().then((r) => r.body?.cancel()), 200);
    try {
      await waitFor("alice's unused sessions to expire", async () => ((await metric(t, /cua_mcp_connections/)) === 1 ? true : undefined));
      for (const sid of [watched, ...unused]) expect(await listTools(t, KEY_A, sid)).toBe(404);
      expect(await listTools(t, KEY_A, kept)).toBe(200);
      const again = await initialize(t, KEY_A);
      expect(again.status).toBe(200);
      expect(await end(t, KEY_A, again.sid!)).toBe(200);
    } finally {
      clearInterval(keeper);
      clearInterval(watcher);
    }
    expect(await end(t, KEY_A, kept)).toBe(200);
    expect(await metric(t, /cua_mcp_connections/)).toBe(0);
  });

  it('MCP_MAX_CONNECTIONS caps all principals together', async () => {
    t = await startApp({ API_KEYS, MCP_MAX_CONNECTIONS: '6', MCP_MAX_CONNECTIONS_PER_PRINCIPAL: '4' });
    const a = await Promise.all(Array.from({ length: 6 }, () => initialize(t, KEY_A)));
    expect(a.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 429, 429]);
    const z = await Promise.all(Array.from({ length: 3 }, () => initialize(t, KEY_Z)));
    expect(z.map((r) => r.status).sort()).toEqual([200, 200, 429]);
    const b = await initialize(t, KEY_B);
    expect(b.status).toBe(429);
    expect(JSON.parse(b.body).error.message).toMatch(/maximum of 6 MCP sessions \(MCP_MAX_CONNECTIONS\)/);
    // Ending one frees its slot at once.
    expect(await end(t, KEY_Z, z.find((r) => r.status === 200)!.sid!)).toBe(200);
    expect((await initialize(t, KEY_B)).status).toBe(200);
  });
});

/** A client that opens a connection, sends `first`, then `more` every `everyMs` (at most `times` times) until the server closes it. */
function slowClient(port: number, first: string, more: string, everyMs: number, times: number) {
  let received = '';
  let closed = false;
  const socket: Socket = tcpConnect(port, '127.0.0.1', () => {
    if (first) socket.write(first);
  });
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  socket.on('error', () => undefined);
  let sent = 0;
  const timer = more ? setInterval(() => (sent++ < times && socket.writable ? socket.write(more) : clearInterval(timer)), everyMs) : undefined;
  socket.on('close', () => {
    closed = true;
    clearInterval(timer);
  });
  return { socket, received: () => received, closed: () => closed, stop: () => (clearInterval(timer), socket.destroy()) };
}
type SlowClient = ReturnType<typeof slowClient>;

async function metricAt(baseUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (!m) throw new Error(`no ${name} in /metrics`);
  return Number(m[1]);
}

const probeUrlOf = (srv: ServerProcess) => /Health and metrics also on (http:\/\/\S+) \(PROBE_PORT\)/.exec(srv.output())![1];
const statusOf = (url: string) => fetch(url).then((r) => r.status, () => 0);

describe('Admission: slow and idle HTTP clients (built server, separate process)', () => {
  let srv: (ServerProcess & { stop(ms: number): Promise<void> }) | undefined;
  let attackers: SlowClient[] = [];
  afterEach(async () => {
    for (const a of attackers) a.stop();
    attackers = [];
    await srv?.stop(5000);
    srv = undefined;
  });

  it('clients that trickle headers or a body are cut off with 408, while probes, readiness and the other tenant are served; the same process, nothing left open', async () => {
    srv = await spawnServer({ COMPUTER_PROVIDER: 'fake', POOL_MIN_WARM: '0', API_KEYS, HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_REQUEST_TIMEOUT_MS: '2000', PROBE_PORT: '0', SCRIPTED_MODEL_STEP_MS: '500' });
    const probe = probeUrlOf(srv);
    const startedAt = await metricAt(probe, 'process_start_time_seconds');
    const bob = await connectTo(srv.url, KEY_B, 'bob');
    expect((await call(bob, 'screenshot_cua')).isError).toBeFalsy();
    const fdsBefore = await metricAt(probe, 'process_open_fds');
    const port = Number(new URL(srv.base).port);

    // 200 clients send one header line after another, 20 send a body byte by byte; none ever finishes.
    attackers = [
      ...Array.from({ length: 200 }, () => slowClient(port, 'GET /health/ready HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X-Slow: 1\r\n', 200, 100)),
      ...Array.from({ length: 20 }, () =>
        slowClient(port, `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${KEY_A}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`, ' ', 200, 100),
      ),
    ];
    // Meanwhile everyone else is served: probes on both ports, and bob's calls.
    await waitFor('the attackers to be connected', () => (attackers.every((a) => a.socket.readyState === 'open' || a.closed()) ? true : undefined));
    expect(await statusOf(`${probe}/health/ready`)).toBe(200);
    expect(await statusOf(`${srv.base}/health/ready`)).toBe(200);
    expect((await call(bob, 'screenshot_cua')).isError).toBeFalsy();
    await waitFor('every slow client to be cut off', () => (attackers.every((a) => a.closed()) ? true : undefined), 20_000);
    expect(attackers.filter((a) => !a.received().startsWith('HTTP/1.1 408 Request Timeout')).map((a) => a.received().slice(0, 40))).toEqual([]);

    // The same process is still serving, and it let go of every connection.
    expect(srv.proc.exitCode).toBeNull();
    expect(await metricAt(probe, 'process_start_time_seconds')).toBe(startedAt);
    await waitFor('the attackers\' file descriptors to be closed', async () => ((await metricAt(probe, 'process_open_fds')) <= fdsBefore + 5 ? true : undefined));

    // A drain is visible on the probe port to the end: readiness turns 503 while bob's task finishes.
    let started = false;
    const task = call(bob, 'run_cua_task', { task: 'last one' }, { onprogress: () => void (started = true) });
    await waitFor('the task to start', () => (started ? true : undefined));
    srv.proc.kill('SIGTERM');
    await waitFor('readiness 503 on the probe port', async () => ((await statusOf(`${probe}/health/ready`)) === 503 ? true : undefined));
    expect(textOf(await task)).toMatch(/Answer: Done: last one/);
    expect((await srv.exited).code).toBe(0);
    expect(await statusOf(`${probe}/health/live`)).toBe(0);
    await bob.close().catch(() => undefined);
  }, 60_000);

  it('beyond HTTP_MAX_CONNECTIONS new connections are closed at once; the probe port still answers; the main port recovers when the idle ones are cut off', async () => {
    srv = await spawnServer({ COMPUTER_PROVIDER: 'fake', POOL_MIN_WARM: '0', API_KEYS, HTTP_MAX_CONNECTIONS: '50', HTTP_HEADERS_TIMEOUT_MS: '5000', PROBE_PORT: '0' });
    const probe = probeUrlOf(srv);
    const startedAt = await metricAt(probe, 'process_start_time_seconds');
    const port = Number(new URL(srv.base).port);
    // 60 connections that send nothing at all.
    attackers = Array.from({ length: 60 }, () => slowClient(port, '', '', 0, 0));
    await waitFor('the ones over the cap to be closed at once', () => (attackers.filter((a) => a.closed()).length >= 10 ? true : undefined));
    // Closed without an answer: exactly the ten over the cap.
    expect(attackers.filter((a) => a.closed()).map((a) => a.received())).toEqual(Array(10).fill(''));
    // The main port is full; the probe port is not.
    expect(await statusOf(`${srv.base}/health/ready`)).toBe(0);
    expect(await statusOf(`${probe}/health/ready`)).toBe(200);
    expect(await metricAt(probe, 'cua_http_connections_dropped_total')).toBeGreaterThanOrEqual(10);
    expect(srv.output()).toMatch(/HTTP_MAX_CONNECTIONS \(50\) reached: new connections are closed at once/);
    await waitFor('the idle ones to be cut off', () => (attackers.every((a) => a.closed()) ? true : undefined), 30_000).catch((e: Error) => {
      const open = attackers.filter((a) => !a.closed());
      throw new Error(`${e.message}: ${open.length} still open (${JSON.stringify(open.map((a) => [a.socket.readyState, a.socket.localPort, a.received().slice(0, 20)]).slice(0, 5))}); server output:\n${srv!.output().slice(-3000)}`);
    });
    expect(await statusOf(`${srv.base}/health/ready`)).toBe(200);
    const bob = await connectTo(srv.url, KEY_B, 'bob');
    expect((await call(bob, 'screenshot_cua')).isError).toBeFalsy();
    await bob.close();
    expect(srv.proc.exitCode).toBeNull();
    expect(await metricAt(probe, 'process_start_time_seconds')).toBe(startedAt);
  }, 60_000);
});

describe('Admission: the probe port and long answers (in process)', () => {
  let t: TestApp;
  afterEach(async () => t?.close());

  it('PROBE_PORT serves /health/live, /health/ready and /metrics (with METRICS_TOKEN) and nothing else, and closes with the app', async () => {
    const token = 'metrics-token-0123456789';
    t = await startApp({ PROBE_PORT: '0', METRICS_TOKEN: token });
    const probe = `http://127.0.0.1:${t.app.get(ProbeServer).port()}`;
    expect(await statusOf(`${probe}/health/live`)).toBe(200);
    const ready = await fetch(`${probe}/health/ready`);
    expect([ready.status, await ready.json()]).toEqual([200, expect.objectContaining({ status: 'ok' })]);
    expect(await statusOf(`${probe}/metrics`)).toBe(401);
    const scraped = await fetch(`${probe}/metrics?x=1`, { headers: { authorization: `Bearer ${token}` } });
    expect([scraped.status, await scraped.text()]).toEqual([200, expect.stringContaining('cua_pool_max 5')]);
    for (const [method, path] of [['GET', '/mcp'], ['POST', '/mcp'], ['POST', '/health/ready'], ['GET', '/health'], ['GET', '/metrics/extra']]) {
      const res = await fetch(`${probe}${path}`, { method });
      expect([method, path, res.status, await res.text()]).toEqual([method, path, 404, expect.stringMatching(/PROBE_PORT.*only GET \/health\/live, \/health\/ready and \/metrics/)]);
    }
    // The main port still serves everything.
    expect(await statusOf(`${base(t)}/health/ready`)).toBe(200);
    await t.close();
    expect(await statusOf(`${probe}/health/live`)).toBe(0);
  });

  it('an answer that streams for longer than HTTP_REQUEST_TIMEOUT_MS arrives whole (the timeout covers receiving the request)', async () => {
    t = await startApp({ HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_REQUEST_TIMEOUT_MS: '1000', SCRIPTED_MODEL_STEP_MS: '600' });
    const client = await t.connect();
    const progress: number[] = [];
    const r = await call(client, 'run_cua_task', { task: 'slow and steady' }, { onprogress: (p) => void progress.push(p.progress) });
    expect(textOf(r)).toMatch(/Answer: Done: slow and steady/);
    // It really streamed across several request timeouts: a step every 600 ms, four steps.
    expect(progress.length).toBeGreaterThanOrEqual(4);
  });
});

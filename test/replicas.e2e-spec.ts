import { Client as V2Client, StreamableHTTPClientTransport as V2HttpTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1HttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createHash, createHmac } from 'node:crypto';
import { request } from 'node:http';
import { chromium } from 'playwright-core';
import { createClient } from 'redis';
import { call, sessionIdOf, textOf } from './support/app';
import { findWord, readWords } from './support/ocr';
import { startRedisServer, type RedisServer } from './support/redis-server';
import { spawnServer, type ServerProcess } from './support/server-process';
import { pidsNamed, xvfbPids } from './support/processes';
import { waitFor } from './support/wait-for';

const SECRET = 'e2e-cluster-secret-0123456789abcdef0123456789';
type Replica = ServerProcess & { stop(ms: number): Promise<void>; clusterPort: number };

/**
 * Several server processes sharing one Redis, each with its own xvfb desktops: a call for a session reaches the
 * replica that holds its desktop, whichever replica the client talks to (CLUSTER_PORT forwarding).
 */
describe('replicas forwarding calls to the replica that holds the desktop', () => {
  let redis: RedisServer;
  let admin: ReturnType<typeof createClient>;
  const replicas: Replica[] = [];
  const clients: (V2Client | V1Client)[] = [];

  async function replica(id: string, extra: Record<string, string> = {}): Promise<Replica> {
    const server = await spawnServer({
      COMPUTER_PROVIDER: 'xvfb',
      DESKTOP_PROFILE: 'minimal',
      POOL_MIN_WARM: '0',
      REDIS_URL: redis.url,
      REPLICA_ID: id,
      CLUSTER_PORT: '0',
      CLUSTER_HOST: '127.0.0.1',
      CLUSTER_ADDRESS: '127.0.0.1',
      CLUSTER_SECRET: SECRET,
      ...extra,
    });
    const port = Number(/Taking calls forwarded by other replicas on 127\.0\.0\.1:(\d+)/.exec(server.output())?.[1]);
    const r = { ...server, clusterPort: port };
    replicas.push(r);
    return r;
  }

  /** An SDK 2 client speaking 2026-07-28 (each request stands alone, so any replica may take it). */
  async function client(server: ServerProcess): Promise<V2Client> {
    const c = new V2Client({ name: 'e2e-replicas', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await c.connect(new V2HttpTransport(new URL(server.url)));
    clients.push(c);
    return c;
  }
  const run = async (c: V2Client, session: string, command: string) => textOf(await c.callTool({ name: 'run_command', arguments: { session_id: session, command } }));

  beforeAll(async () => {
    redis = await startRedisServer();
    admin = createClient({ url: redis.url });
    admin.on('error', () => undefined);
    await admin.connect();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
    await Promise.all(replicas.splice(0).map((r) => r.stop(5_000)));
    await admin.flushAll();
  });
  afterAll(async () => {
    admin?.destroy();
    await redis?.stop();
  });

  it('serves a session from any replica on the one desktop that holds it: no second desktop, the same files', async () => {
    const a = await replica('pod-a');
    const b = await replica('pod-b');
    const onA = await client(a);
    const onB = await client(b);
    expect(await run(onA, 'work', 'echo from-a > ~/mark; echo written')).toMatch(/written/);
    expect(xvfbPids(a.proc.pid)).toHaveLength(1);

    // Through pod-b: the call goes to pod-a, which holds the desktop; pod-b starts none of its own.
    expect(await run(onB, 'work', 'cat ~/mark')).toMatch(/from-a/);
    const shot = await onB.callTool({ name: 'screenshot_cua', arguments: { session_id: 'work' } });
    expect(shot.isError).toBeFalsy();
    expect(shot.content.some((c) => c.type === 'image')).toBe(true);
    expect(xvfbPids(b.proc.pid)).toHaveLength(0);
    expect(xvfbPids(a.proc.pid)).toHaveLength(1);
    // A forwarded call may take its time: without progress, its answer (headers and all) comes only with its result.
    expect(await run(onB, 'work', 'sleep 6; echo slept')).toMatch(/slept/);
    // And the other way round: a session opened through pod-b lives on pod-b.
    expect(await run(onB, 'other', 'echo from-b > ~/mark; echo written')).toMatch(/written/);
    expect(await run(onA, 'other', 'cat ~/mark')).toMatch(/from-b/);
    expect(xvfbPids(b.proc.pid)).toHaveLength(1);
    expect(b.output()).not.toContain(SECRET);
    expect(a.output()).not.toContain(SECRET);
  });

  it('a session that ended on one replica and started on another is found there: the forwarder does not go by where it was', async () => {
    const [a, b, c] = await Promise.all([replica('pod-a'), replica('pod-b'), replica('pod-c')]);
    const [onA, onB, onC] = await Promise.all([client(a), client(b), client(c)]);
    await run(onA, 'work', 'echo first > ~/mark');
    // pod-b forwards to pod-a, and keeps where the session is for its next calls.
    expect(await run(onB, 'work', 'cat ~/mark')).toMatch(/first/);
    expect((await onA.callTool({ name: 'cleanup_session', arguments: { session_id: 'work' } })).structuredContent).toMatchObject({ ended: true });
    await waitFor('pod-a to free the desktop', () => xvfbPids(a.proc.pid).length === 0, 10_000, 100);
    await run(onC, 'work', 'echo second > ~/mark');
    // Sent to pod-a as before, refused there before anything runs, then sent where the registry says: pod-c.
    expect(await run(onB, 'work', 'cat ~/mark')).toMatch(/second/);
    expect(await run(onB, 'work', 'cat ~/mark')).toMatch(/second/);
    expect([xvfbPids(a.proc.pid).length, xvfbPids(b.proc.pid).length, xvfbPids(c.proc.pid).length]).toEqual([0, 0, 1]);
  });

  it('a 2025-era MCP session opened on one replica uses its default desktop through another (the SDK 1.x client)', async () => {
    const a = await replica('pod-a');
    const b = await replica('pod-b');
    const onA = new V1Client({ name: 'e2e-v1', version: '1.0.0' });
    const transportA = new V1HttpTransport(new URL(a.url));
    await onA.connect(transportA);
    clients.push(onA);
    const first = await call(onA, 'run_command', { command: 'echo mine > ~/mark; echo written' });
    const defaultId = sessionIdOf(first);
    expect(xvfbPids(a.proc.pid)).toHaveLength(1);

    // The same Mcp-Session-Id, its requests now sent to pod-b: no new initialize, no second desktop.
    const onB = new V1Client({ name: 'e2e-v1', version: '1.0.0' });
    await onB.connect(new V1HttpTransport(new URL(b.url), { sessionId: transportA.sessionId }));
    clients.push(onB);
    const seen = await call(onB, 'run_command', { command: 'cat ~/mark' });
    expect(textOf(seen)).toMatch(/mine/);
    expect(sessionIdOf(seen)).toBe(defaultId);
    expect(textOf(await call(onB, 'run_command', { session_id: defaultId, command: 'cat ~/mark' }))).toMatch(/mine/);
    expect(xvfbPids(b.proc.pid)).toHaveLength(0);
  });

  it('a live view opened through another replica shows the desktop and takes a person\'s keys: page, state, control and WebSocket go to the owner', async () => {
    const a = await replica('pod-a');
    const b = await replica('pod-b');
    const onA = await client(a);
    await run(onA, 'work', 'true');
    const made = await onA.callTool({ name: 'live_view', arguments: { session_id: 'work' } });
    expect(made.isError).toBeFalsy();
    const { url } = made.structuredContent as { url: string };
    // The same link, opened on pod-b (a load balancer without affinity could send the browser anywhere).
    const viaB = url.replace(new URL(a.url).host, new URL(b.url).host);
    expect(viaB).not.toBe(url);
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1000, height: 750 } });
      await page.goto(viaB);
      const status = () => page.locator('#status').innerText();
      await waitFor('the page to watch through pod-b', async () => (await status()).startsWith('Watching'), 20_000);
      // What the desktop shows reaches the page.
      await onA.callTool({ name: 'computer', arguments: { session_id: 'work', action: 'type', text: 'echo viewmarker\n' } });
      await waitFor('the typed word on the page', async () => findWord(await readWords(await page.locator('#screen canvas').screenshot(), { scale: 2 }), 'viewmarker'), 20_000);
      // A person takes control on the page and types: the keys reach pod-a's desktop.
      await page.locator('#take').click();
      await waitFor('the page to say the person has control', async () => (await status()).startsWith('You have control'), 10_000);
      await page.locator('#screen canvas').click();
      await page.keyboard.press('Control+C');
      await page.keyboard.type('touch /tmp/typed-through-b\n', { delay: 30 });
      await page.locator('#release').click();
      await waitFor('the person\'s file on pod-a\'s desktop', async () => /yes/.test(await run(onA, 'work', 'test -e /tmp/typed-through-b && echo yes || echo no')), 10_000);
      expect(xvfbPids(b.proc.pid)).toHaveLength(0);
      // A view nobody serves is refused on pod-b as on any replica; nothing is forwarded for it.
      const unknown = await page.goto(`${b.url.replace(/\/mcp$/, '')}/live/AAAAAAAAAAAAAAAA/`);
      expect(unknown?.status()).toBe(403);
    } finally {
      await browser.close();
    }
  });

  it('the sessions dashboard, opened through another replica, lists the sessions of every replica and opens any one\'s live view', async () => {
    const [a, b] = await Promise.all([replica('pod-a'), replica('pod-b')]);
    const [onA, onB] = await Promise.all([client(a), client(b)]);
    await run(onA, 'on-a', 'true');
    await run(onB, 'on-b', 'true');
    expect([xvfbPids(a.proc.pid).length, xvfbPids(b.proc.pid).length]).toEqual([1, 1]);
    const made = await onA.callTool({ name: 'dashboard', arguments: {} });
    const { url } = made.structuredContent as { url: string };
    const viaB = url.replace(new URL(a.url).host, new URL(b.url).host);
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(viaB);
      await waitFor('the dashboard to list both sessions', async () => (await page.locator('#status').innerText()) === '2 sessions', 20_000);
      expect((await page.locator('.card .id').allInnerTexts()).sort()).toEqual(['on-a', 'on-b']);
      // Each card's picture is its own desktop's, from the replica that holds it.
      const thumbType = async (sessionId: string) => {
        const viewId = await page.locator(`.card[data-session-id="${sessionId}"]`).getAttribute('data-view-id');
        return page.evaluate(async (path) => (await fetch(path)).headers.get('content-type'), `thumb/${viewId}.jpg`);
      };
      await waitFor('both thumbnails to be pictures of their desktops', async () => (await thumbType('on-a')) === 'image/jpeg' && (await thumbType('on-b')) === 'image/jpeg', 20_000);
      // One click on pod-b's session opens its live view, made and served where the desktop is.
      const [viewer] = await Promise.all([context.waitForEvent('page'), page.locator('.card[data-session-id="on-b"] img.thumb').click()]);
      await waitFor('the live view to watch', async () => (await viewer.locator('#status').innerText()).startsWith('Watching'), 20_000);
      expect(await viewer.locator('#session').innerText()).toBe('Session on-b');
      // Still one desktop each: the dashboard started none.
      expect([xvfbPids(a.proc.pid).length, xvfbPids(b.proc.pid).length]).toEqual([1, 1]);
    } finally {
      await browser.close();
    }
  });

  it('ending a 2025-era MCP session through another replica (DELETE) frees its default desktop where it lives', async () => {
    const sweepFast = { SESSION_SWEEP_INTERVAL_MS: '500' };
    const a = await replica('pod-a', sweepFast);
    const b = await replica('pod-b', sweepFast);
    let target = a.url;
    const transport = new V1HttpTransport(new URL(a.url), { fetch: (_input, init) => fetch(target, init) });
    const roaming = new V1Client({ name: 'e2e-v1', version: '1.0.0' });
    await roaming.connect(transport);
    clients.push(roaming);
    await call(roaming, 'run_command', { command: 'true' });
    expect(xvfbPids(a.proc.pid)).toHaveLength(1);
    target = b.url;
    await transport.terminateSession();
    await waitFor('pod-a to end the default session', () => /1 session\(s\) ended here because their records were gone/.test(a.output()), 15_000, 100);
    expect(xvfbPids(a.proc.pid)).toHaveLength(0);
    expect(xvfbPids(b.proc.pid)).toHaveLength(0);
  });

  it('an operator ends another principal\'s session through any replica: the call goes to the replica that holds it', async () => {
    const keys = { API_KEYS: 'key-alice-0123456789:alice,key-ops-0123456789:ops', API_KEY_OPERATORS: 'ops' };
    const a = await replica('pod-a', keys);
    const b = await replica('pod-b', keys);
    const as = async (server: Replica, key: string) => {
      const c = new V2Client({ name: 'e2e-ops', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
      await c.connect(new V2HttpTransport(new URL(server.url), { requestInit: { headers: { Authorization: `Bearer ${key}` } } }));
      clients.push(c);
      return c;
    };
    const alice = await as(a, 'key-alice-0123456789');
    await run(alice, 'work', 'true');
    expect(xvfbPids(a.proc.pid)).toHaveLength(1);
    const ops = await as(b, 'key-ops-0123456789');
    const r = await ops.callTool({ name: 'cleanup_session', arguments: { session_id: 'work', principal: 'alice' } });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ session_id: 'work', principal: 'alice', ended: true });
    await waitFor('pod-a to free the desktop', () => xvfbPids(a.proc.pid).length === 0, 10_000, 100);
  });

  it('a client closing its stream on the entry replica stops the call on the replica that runs it', async () => {
    const a = await replica('pod-a');
    const b = await replica('pod-b');
    const onA = await client(a);
    const onB = await client(b);
    await run(onA, 'work', 'true');
    const ac = new AbortController();
    const running = onB.callTool({ name: 'run_command', arguments: { session_id: 'work', command: 'sleep 120; echo never' } }, { signal: ac.signal }).catch((e: Error) => e);
    // The command runs in pod-a's desktop sandbox, a process under pod-a (none under pod-b).
    await waitFor('the sleep to run under pod-a', () => pidsNamed('sleep', a.proc.pid).length === 1, 15_000, 100);
    expect(pidsNamed('sleep', b.proc.pid)).toEqual([]);
    ac.abort();
    expect(await running).toBeInstanceOf(Error);
    await waitFor('pod-a to stop the forwarded command', () => pidsNamed('sleep', a.proc.pid).length === 0, 15_000, 100);
  });

  it('the cluster port takes only calls signed with CLUSTER_SECRET, each once, and for this very replica', async () => {
    const a = await replica('pod-a');
    const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} } } }));
    const owner = await admin.hGet('cua:{r}:replica:pod-a', 'epoch');
    const identity = Buffer.from(JSON.stringify({ principal: 'mallory', via: 'api-key', permissions: ['computers:use'] })).toString('base64url');
    const signed = (secret: string, target: string, time = Date.now()) => {
      const digest = createHash('sha256').update(body).digest('hex');
      const sig = createHmac('sha256', secret).update(['POST', '/cluster/mcp', target, String(time), identity, digest].join('\n')).digest('hex');
      return { 'x-cua-identity': identity, 'x-cua-target': target, 'x-cua-time': String(time), 'x-cua-signature': sig };
    };
    const post = (headers: Record<string, string>, path = '/cluster/mcp') =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: a.clusterPort, method: 'POST', path, headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list', ...headers } }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on('error', reject);
        req.end(body);
      });
    const target = `pod-a@${owner}`;
    expect((await post({})).status).toBe(401);
    expect((await post(signed('not-the-secret-0123456789abcdef0123456789', target))).status).toBe(401);
    expect((await post(signed(SECRET, target, Date.now() - 120_000))).status).toBe(401);
    expect((await post(signed(SECRET, target), '/mcp')).status).toBe(404);
    expect((await post(signed(SECRET, `pod-a@${Number(owner) + 100}`))).status).toBe(409);
    const good = signed(SECRET, target);
    const first = await post(good);
    expect(first.status).toBe(200);
    expect(first.text).toContain('screenshot_cua');
    expect((await post(good)).status).toBe(409); // the same signed call again: a replay
    expect(a.output()).toMatch(/Refused a forwarded call from 127\.0\.0\.1: no valid signature/);

    // Browser requests (live views): only bodiless ones for /live/…, signed over the path, the Host and the target.
    const browserGet = (headers: Record<string, string>, withBody = false) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: a.clusterPort, method: withBody ? 'POST' : 'GET', path: '/cluster/http', headers }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(withBody ? 'x' : undefined);
      });
    const browserSigned = (path: string, host: string, time = Date.now()) => ({
      'x-cua-path': path,
      'x-forwarded-host': host,
      'x-cua-target': target,
      'x-cua-time': String(time),
      'x-cua-signature': createHmac('sha256', SECRET).update(['GET', path, target, String(time), `host=${host}`, createHash('sha256').update(Buffer.alloc(0)).digest('hex')].join('\n')).digest('hex'),
    });
    const host = new URL(a.url).host;
    expect(await browserGet({ 'x-cua-path': '/live/AAAAAAAAAAAAAAAA/' })).toBe(401);
    expect(await browserGet({ ...browserSigned('/live/AAAAAAAAAAAAAAAA/', host), 'x-forwarded-host': 'evil.example' })).toBe(401);
    expect(await browserGet(browserSigned('/mcp', host))).toBe(400);
    expect(await browserGet(browserSigned('/live/AAAAAAAAAAAAAAAA/../../mcp', host))).toBe(400);
    expect(await browserGet(browserSigned('/live/dashboard/assets/dashboard.js', host))).toBe(400);
    expect(await browserGet(browserSigned('/live/AAAAAAAAAAAAAAAA/', host), true)).toBe(400);
    // Signed and for a view or dashboard nobody has: served by their own routes, which know no such page.
    expect(await browserGet(browserSigned('/live/AAAAAAAAAAAAAAAA/', host))).toBe(403);
    expect(await browserGet(browserSigned('/live/dashboard/AAAAAAAAAAAAAAAAAAAAAA/', host))).toBe(403);
    // Questions between replicas (a dashboard's parts) are signed like forwarded calls.
    expect((await post({}, '/cluster/peer')).status).toBe(401);
  });

  it('a replica that forwarded a session\'s calls before answers SESSION_LOST once the holder\'s lease is gone, not a retry', async () => {
    const lease = { REPLICA_LEASE_MS: '1500' };
    const [a, b] = await Promise.all([replica('pod-a', lease), replica('pod-b', lease)]);
    const [onA, onB] = await Promise.all([client(a), client(b)]);
    await run(onA, 'work', 'true');
    expect((await onB.callTool({ name: 'screenshot_cua', arguments: { session_id: 'work' } })).isError).toBeFalsy(); // pod-b now knows where it is
    a.proc.kill('SIGKILL');
    await a.exited;
    await waitFor("pod-a's lease to run out", async () => (await admin.exists('cua:{r}:replica:pod-a')) === 0, 15_000, 100);
    // The first call after that: pod-b finds pod-a unreachable, asks the registry, and answers for the session itself.
    const r = await onB.callTool({ name: 'screenshot_cua', arguments: { session_id: 'work' } });
    expect(textOf(r)).toMatch(/\[SESSION_LOST\] Session "work" is lost: the server replica pod-a that held its computer has stopped/);
  });

  it('a session whose replica is gone is not forwarded anywhere: the replica asked answers SESSION_LOST', async () => {
    const b = await replica('pod-b');
    const onB = await client(b);
    // A record naming a replica that never registered: nothing to connect to, so nothing is connected to.
    await admin.hSet('cua:{r}:s:anonymous:ghost', { id: 'ghost', principal: 'anonymous', kind: 'named', createdAt: '1', lastActivityAt: String(Date.now()), idleTimeoutMs: '600000', owner: 'pod-x@999' });
    await admin.zAdd('cua:{r}:sessions', { score: Date.now() + 600_000, value: 'anonymous:ghost' });
    await admin.sAdd('cua:{r}:p:anonymous', 'anonymous:ghost');
    const r = await onB.callTool({ name: 'screenshot_cua', arguments: { session_id: 'ghost' } });
    expect(textOf(r)).toMatch(/\[SESSION_LOST\] Session "ghost" is lost: the server replica pod-x that held its computer has stopped/);
    expect(b.output()).not.toMatch(/Could not forward a call/);
  });
});

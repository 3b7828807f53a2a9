/**
 * Admission limits, attacked the way an abusive tenant would, against the real app: each attack
 * is bounded (at most a few hundred connections, on 127.0.0.1), the attacker is refused or cut
 * off, the other tenant keeps working, readiness stays 200 and nothing is left behind.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ComputerPool, Lease } from '../src/pool/pool.module';
import { call, startApp, TestApp, textOf } from './support/app';

const KEY_A = 'key-alice-0123456789abcdef';
const KEY_B = 'key-bob-fedcba9876543210';
const KEY_Z = 'key-zed-00112233445566778';
const API_KEYS = `${KEY_A}:alice,${KEY_B}:bob,${KEY_Z}:zed`;

async function connectAs(t: TestApp, key: string, name = 'e2e'): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(t.url), { requestInit: { headers: { Authorization: `Bearer ${key}` } } }));
  t.clients.push(client);
  return client;
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
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
  pool.events.on('leased', (l: Lease) => add(l.principal, 1));
  pool.events.on('released', (l: Lease) => add(l.principal, -1));
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
    t = await startApp({ API_KEYS, MAX_COMPUTERS_PER_PRINCIPAL: '3', POOL_MAX_SIZE: '3', POOL_ACQUIRE_TIMEOUT_MS: '20000' });
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

/*
 * Replicas sharing Redis. Server processes (this build's src/main.js) with FAKE computers (COMPUTER_PROVIDER=fake,
 * FAKE_REMOTE=true: each counts as a remote computer another replica can take over, as a cua or kubernetes desktop
 * does, so thousands of sessions fit on one machine) and a real redis-server on loopback. Measured side by side in
 * one run, in alternating blocks so drift on a shared machine hits all alike:
 *   1. a tool call on one replica with the registry in memory vs in Redis;
 *   2. with three replicas forwarding to each other (CLUSTER_PORT): the same call through the replica that holds
 *      the session vs through another one (forwarded);
 *   3. SESSIONS sessions spread over the three, then calls to random sessions through random replicas;
 *   4. one replica killed with SIGKILL: how long until the other two serve every one of its sessions, and how
 *      many were lost.
 * Parts 1 and 2 time two calls on a named session: `computer` with `cursor_position` (the registry's touch, the
 * session's computer, no image: the cheapest call, where a hop weighs most) and `screenshot_cua` of a 1280x800 fake
 * screen (a PNG of about 100 kB that a forwarded call carries back through the replica it came in by). Parts 3 and 4
 * use 320x240 screens, so that a thousand fake computers fit in memory.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { join } from 'node:path';
import { startRedisServer, type RedisServer } from '../test/support/redis-server';
import { spawnServer } from '../test/support/server-process';
import { percentile, table } from './stats';

const SESSIONS = Number(process.env.SESSIONS ?? 1000);
const BLOCKS = Number(process.env.BLOCKS ?? 10);
const BLOCK = Number(process.env.BLOCK ?? 40);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 8);
const RANDOM_CALLS = Number(process.env.RANDOM_CALLS ?? 2000);
const LEASE_MS = Number(process.env.REPLICA_LEASE_MS ?? 3000);
const SECRET = 'bench-cluster-secret-0123456789abcdef0123456789';
const MAIN = join(__dirname, '..', 'src', 'main.js');

type Replica = Awaited<ReturnType<typeof spawnServer>> & { name: string; client: Client };

/** The calls parts 1 and 2 time, each on a named session. */
const CALLS = [
  { label: 'cursor_position', name: 'computer', args: { action: 'cursor_position' } },
  { label: 'screenshot 1280x800', name: 'screenshot_cua', args: {} },
] as const;
type Call = (typeof CALLS)[number];
const SMALL = { SCREEN_WIDTH: '320', SCREEN_HEIGHT: '240' };
const LARGE = { SCREEN_WIDTH: '1280', SCREEN_HEIGHT: '800' };

async function replica(name: string, env: Record<string, string>): Promise<Replica> {
  const server = await spawnServer(
    {
      COMPUTER_PROVIDER: 'fake',
      FAKE_REMOTE: 'true',
      ...SMALL,
      LIVE_VIEW: 'false',
      POOL_MIN_WARM: '0',
      POOL_MAX_SIZE: String(SESSIONS + 100),
      MAX_SESSIONS: String(SESSIONS + 100),
      POOL_MAX_WAITERS: String(SESSIONS + 100),
      REPLICA_ID: name,
      REPLICA_LEASE_MS: String(LEASE_MS),
      ...env,
    },
    MAIN,
    60_000,
  );
  const client = new Client({ name: 'bench-replicas', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
  return { ...server, name, client };
}

const cluster = (redis: RedisServer) => ({ REDIS_URL: redis.url, CLUSTER_PORT: '0', CLUSTER_HOST: '127.0.0.1', CLUSTER_ADDRESS: '127.0.0.1', CLUSTER_SECRET: SECRET });

/** One call (cursor_position unless told); its milliseconds, or the error text. */
async function call(r: Replica, session: string, what: Call = CALLS[0]): Promise<{ ms: number; error?: string }> {
  const t = performance.now();
  try {
    const res = await r.client.callTool({ name: what.name, arguments: { session_id: session, ...what.args } });
    const ms = performance.now() - t;
    if (res.isError) return { ms, error: JSON.stringify(res.content).slice(0, 200) };
    return { ms };
  } catch (e) {
    return { ms: performance.now() - t, error: e instanceof Error ? e.message : String(e) };
  }
}

/** `n` calls, CONCURRENCY at a time; the latencies of those that succeeded, and the errors. */
async function burst(n: number, pick: (i: number) => [Replica, string], what: Call = CALLS[0]): Promise<{ lat: number[]; errors: string[] }> {
  const lat: number[] = [];
  const errors: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) {
        const i = next++;
        const [r, s] = pick(i);
        const out = await call(r, s, what);
        if (out.error) errors.push(out.error);
        else lat.push(out.ms);
      }
    }),
  );
  return { lat, errors };
}

/** Alternating blocks of each contender; every contender's latencies. */
async function sideBySide(contenders: { label: string; run: () => Promise<{ lat: number[]; errors: string[] }> }[]) {
  const lat = contenders.map(() => [] as number[]);
  const errors = contenders.map(() => 0);
  for (const c of contenders) await c.run(); // warm-up
  for (let b = 0; b < BLOCKS; b++) {
    for (const [i, c] of contenders.entries()) {
      const r = await c.run();
      lat[i].push(...r.lat);
      errors[i] += r.errors.length;
    }
  }
  return contenders.map((c, i) => ({ label: c.label, lat: lat[i], errors: errors[i] }));
}

export async function main() {
  const redis = await startRedisServer();
  const all: Replica[] = [];
  const rows: (string | number)[][] = [];
  try {
    // 1. One replica: registry in memory vs in Redis, for each call.
    const memory = await replica('bench-memory', LARGE);
    const shared = await replica('bench-redis', { ...LARGE, REDIS_URL: redis.url });
    all.push(memory, shared);
    const base = new Map<Call, number>();
    for (const what of CALLS) {
      await call(memory, 'one', what);
      await call(shared, 'one', what);
      const one = await sideBySide([
        { label: `${what.label}: one replica, in memory`, run: () => burst(BLOCK, () => [memory, 'one'], what) },
        { label: `${what.label}: one replica, Redis`, run: () => burst(BLOCK, () => [shared, 'one'], what) },
      ]);
      base.set(what, percentile(one[0].lat, 0.5));
      for (const o of one) rows.push([o.label, percentile(o.lat, 0.5), percentile(o.lat, 0.99), percentile(o.lat, 0.5) / base.get(what)!, o.errors]);
    }
    await Promise.all([memory.stop(10_000), shared.stop(10_000)]);
    all.length = 0;
    await redisFlush(redis);

    // 2. Three replicas: through the owner vs forwarded, for each call.
    const big = await Promise.all(['bench-a', 'bench-b', 'bench-c'].map((n) => replica(n, { ...LARGE, ...cluster(redis) })));
    all.push(...big);
    for (const what of CALLS) {
      await call(big[0], 'hot', what);
      const fwd = await sideBySide([
        { label: `${what.label}: three replicas, through the owner`, run: () => burst(BLOCK, () => [big[0], 'hot'], what) },
        { label: `${what.label}: three replicas, through another (forwarded)`, run: () => burst(BLOCK, () => [big[1], 'hot'], what) },
      ]);
      for (const o of fwd) rows.push([o.label, percentile(o.lat, 0.5), percentile(o.lat, 0.99), percentile(o.lat, 0.5) / base.get(what)!, o.errors]);
    }
    await Promise.all(big.map((r) => r.stop(10_000)));
    all.length = 0;
    await redisFlush(redis);
    const [a, b, c] = await Promise.all(['bench-a', 'bench-b', 'bench-c'].map((n) => replica(n, cluster(redis))));
    all.push(a, b, c);

    // 3. SESSIONS sessions over the three, then calls to random sessions through random replicas.
    const three = [a, b, c];
    const names = Array.from({ length: SESSIONS }, (_, i) => `s-${i}`);
    const t0 = performance.now();
    const made = await burst(SESSIONS, (i) => [three[i % 3], names[i]]);
    const openMs = performance.now() - t0;
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const random = await burst(RANDOM_CALLS, () => [three[Math.floor(rnd() * 3)], names[Math.floor(rnd() * SESSIONS)]]);
    rows.push([`cursor_position: ${SESSIONS} sessions over three, random entry`, percentile(random.lat, 0.5), percentile(random.lat, 0.99), percentile(random.lat, 0.5) / base.get(CALLS[0])!, random.errors.length]);

    // 4. Kill one replica; the others take its sessions over.
    const victims = names.filter((_, i) => i % 3 === 2);
    const killedAt = performance.now();
    c.proc.kill('SIGKILL');
    await c.exited;
    const pending = new Set(victims);
    const lost = new Set<string>();
    const survivors = [a, b];
    // Every pending session is called through a survivor until it answers; until the dead replica's lease has run
    // out, its sessions answer that their replica did not answer, and are tried again.
    while (pending.size && performance.now() - killedAt < 120_000) {
      const round = [...pending];
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < round.length) {
            const s = round[next++];
            const out = await call(survivors[next % 2], s);
            if (!out.error) pending.delete(s);
            else if (/SESSION_LOST/.test(out.error)) {
              lost.add(s);
              pending.delete(s);
            }
          }
        }),
      );
      if (pending.size) await new Promise((r) => setTimeout(r, 100));
    }
    const takeoverMs = performance.now() - killedAt;

    console.log(`\nReplicas: fake computers that another replica can take over (FAKE_REMOTE), a real redis-server, ${CONCURRENCY} calls at a time, each on a named session`);
    console.log(`${BLOCKS} alternating blocks of ${BLOCK} calls per contender; ratios against the same call on one replica with the registry in memory\n`);
    table(['contender', 'p50 ms', 'p99 ms', 'p50 / in memory', 'errors'], rows);
    console.log(`\n${SESSIONS} sessions opened over three replicas in ${(openMs / 1000).toFixed(1)} s (${made.errors.length} errors)`);
    console.log(
      `killed one replica (SIGKILL, REPLICA_LEASE_MS=${LEASE_MS}): its ${victims.length} sessions all served again by the other two after ${(takeoverMs / 1000).toFixed(1)} s; ` +
        `lost: ${lost.size}; not served within 120 s: ${pending.size}`,
    );
    console.log('\ngoals: forwarded and Redis p50 within 1.3x of one replica in memory; 0 sessions lost\n');
  } finally {
    await Promise.all(all.map((r) => r.stop(10_000).catch(() => undefined)));
    await redis.stop();
  }
}

async function redisFlush(redis: RedisServer) {
  const { createClient } = await import('redis');
  const c = createClient({ url: redis.url });
  await c.connect();
  await c.flushAll();
  c.destroy();
}

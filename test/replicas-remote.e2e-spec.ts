import { Client as V2Client, StreamableHTTPClientTransport as V2HttpTransport } from '@modelcontextprotocol/client';
import { createClient } from 'redis';
import { textOf } from './support/app';
import { spawnComputerServer, type ComputerServerProcess } from './support/computer-server-process';
import { startRedisServer, type RedisServer } from './support/redis-server';
import { spawnServer, type ServerProcess } from './support/server-process';
import { waitFor } from './support/wait-for';

jest.setTimeout(240_000);

type Replica = ServerProcess & { stop(ms: number): Promise<void> };

/**
 * Replicas sharing Redis and a set of remote computers (COMPUTER_PROVIDER=cua; the desktops are this project's own
 * computer-server processes, each a real Xvfb desktop): a computer goes to one session at a time whichever replica
 * asks, and a session outlives the replica that made it, with its desktop as it was.
 */
describe('replicas sharing remote computers (cua)', () => {
  let redis: RedisServer;
  let admin: ReturnType<typeof createClient>;
  const desktops: ComputerServerProcess[] = [];
  const replicas: Replica[] = [];
  const clients: V2Client[] = [];

  async function replica(id: string, extra: Record<string, string> = {}): Promise<Replica> {
    const server = await spawnServer({
      COMPUTER_PROVIDER: 'cua',
      CUA_COMPUTER_URLS: desktops.map((d) => d.url).join(','),
      POOL_MIN_WARM: '0',
      POOL_ACQUIRE_TIMEOUT_MS: '3000',
      MAX_SESSIONS: '10',
      REDIS_URL: redis.url,
      REPLICA_ID: id,
      REPLICA_LEASE_MS: '1500',
      ...extra,
    });
    replicas.push(server);
    return server;
  }

  async function client(server: ServerProcess): Promise<V2Client> {
    const c = new V2Client({ name: 'e2e-remote-replicas', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await c.connect(new V2HttpTransport(new URL(server.url)));
    clients.push(c);
    return c;
  }
  const call = (c: V2Client, name: string, args: Record<string, unknown>) => c.callTool({ name, arguments: args }, { timeout: 60_000 });
  const run = async (c: V2Client, session: string, command: string) => textOf(await call(c, 'run_command', { session_id: session, command }));

  beforeAll(async () => {
    redis = await startRedisServer();
    admin = createClient({ url: redis.url });
    admin.on('error', () => undefined);
    await admin.connect();
    desktops.push(...(await Promise.all([spawnComputerServer(), spawnComputerServer()])));
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
    await Promise.all(replicas.splice(0).map((r) => r.stop(5_000)));
    await admin.flushAll();
  });
  afterAll(async () => {
    admin?.destroy();
    await redis?.stop();
    await Promise.all(desktops.map((d) => d.stop()));
  });

  it('never hands one remote computer to sessions of two replicas: with both taken, a third session waits for one', async () => {
    const [a, b] = await Promise.all([replica('pod-a'), replica('pod-b')]);
    const [onA, onB] = await Promise.all([client(a), client(b)]);
    await run(onA, 'first', 'echo first > ~/whose.txt');
    await run(onB, 'second', 'echo second > ~/whose.txt');
    // Two desktops, two sessions: each sees its own file, so each has its own computer.
    expect(await run(onA, 'first', 'cat ~/whose.txt')).toMatch(/^first\b/m);
    expect(await run(onB, 'second', 'cat ~/whose.txt')).toMatch(/^second\b/m);
    // Redis says which replica holds each computer: one each.
    const holders = await Promise.all(desktops.map(async (d) => (await admin.hGet(`cua:{r}:c:cua:${d.url}`, 'holder'))?.replace(/@\d+$/, '')));
    expect(holders.sort()).toEqual(['pod-a', 'pod-b']);
    const third = await call(onB, 'run_command', { session_id: 'third', command: 'true' });
    expect(third.isError).toBe(true);
    expect(textOf(third)).toMatch(/POOL_EXHAUSTED/);
    // Once a session ends (its computer reset and freed for everyone), the other replica's session gets it.
    expect((await call(onA, 'cleanup_session', { session_id: 'first' })).isError).toBeFalsy();
    expect(await run(onB, 'third', 'cat ~/whose.txt 2>&1 || echo no-file')).toMatch(/no-file|No such file/);
  });

  it('a killed replica loses no session: another takes it over with its desktop as it was, a new replica after that too, and its end resets the desktop', async () => {
    // One remote computer, so that the session after this one gets the very desktop this one used.
    const one = { CUA_COMPUTER_URLS: desktops[0].url };
    const a = await replica('pod-a', one);
    const onA = await client(a);
    await run(onA, 'work', 'echo kept > ~/note.txt');
    const b = await replica('pod-b', one);
    const onB = await client(b);
    a.proc.kill('SIGKILL');
    await a.exited;
    // While pod-a's lease runs, pod-b cannot reach the session (no forwarding here); then it takes it over.
    const seen = await waitFor(
      'pod-b to take the session over',
      async () => {
        const r = await call(onB, 'run_command', { session_id: 'work', command: 'cat ~/note.txt' });
        return r.isError ? undefined : textOf(r);
      },
      30_000,
      250,
    );
    expect(seen).toMatch(/^kept\b/m);
    expect(b.output()).toMatch(/Session work: adopted from the replica pod-a@\d+, which is gone/);

    // A rolling update: pod-c starts, pod-b stops politely and hands the session over; pod-c carries it on.
    const c = await replica('pod-c', one);
    const onC = await client(c);
    await b.stop(15_000);
    expect(b.output()).toMatch(/Session work handed over: its computer stays for the next replica it reaches/);
    expect(await run(onC, 'work', 'cat ~/note.txt')).toMatch(/^kept\b/m);
    expect(c.output()).toMatch(/Session work: adopted from the replica pod-b@\d+/);

    // Its end resets the desktop with the baseline pod-a recorded when the session began: the file is gone.
    await call(onC, 'cleanup_session', { session_id: 'work' });
    expect(await run(onC, 'fresh', 'ls ~/note.txt 2>&1 || echo no-file')).toMatch(/no-file|No such file/);
    expect(await admin.keys('cua:{r}:c:*')).toHaveLength(1); // only "fresh" holds a computer now
  });

  it('a replica that stalled past its lease lets go of the session another took over: it neither serves nor resets that desktop', async () => {
    const one = { CUA_COMPUTER_URLS: desktops[0].url };
    const [a, b] = await Promise.all([replica('pod-a', one), replica('pod-b', one)]);
    const [onA, onB] = await Promise.all([client(a), client(b)]);
    await run(onA, 'work', 'echo before > ~/stall.txt');
    a.proc.kill('SIGSTOP');
    try {
      // pod-a is frozen: once its lease has run out, pod-b takes the session over and writes to its desktop.
      await waitFor(
        'pod-b to take the session over',
        async () => !(await call(onB, 'run_command', { session_id: 'work', command: 'echo after >> ~/stall.txt' })).isError,
        30_000,
        250,
      );
    } finally {
      a.proc.kill('SIGCONT');
    }
    await waitFor('pod-a to find its lease lost and let go', () => /Session work handed over/.test(a.output()), 15_000, 100);
    expect(a.output()).toMatch(/lease ran out: letting go of 1 session\(s\) another replica may carry on/);
    // Through pod-a now: it holds no session "work", so it ends nothing and resets nothing...
    const cleanup = await call(onA, 'cleanup_session', { session_id: 'work' });
    expect(cleanup.structuredContent).toMatchObject({ ended: false });
    // ...and pod-b's session still has its desktop as pod-b left it.
    expect(await run(onB, 'work', 'cat ~/stall.txt')).toMatch(/^before\nafter\b/m);
  });

  it('a record naming a computer that is not configured here is never connected to', async () => {
    const b = await replica('pod-b');
    const onB = await client(b);
    // A session of a replica that never registered, naming an address outside CUA_COMPUTER_URLS.
    await admin.hSet('cua:{r}:s:anonymous:planted', {
      id: 'planted', principal: 'anonymous', kind: 'named', createdAt: '1', lastActivityAt: String(Date.now()), idleTimeoutMs: '600000',
      owner: 'pod-x@999', computer: 'cua:http://127.0.0.1:9',
    });
    await admin.zAdd('cua:{r}:sessions', { score: Date.now() + 600_000, value: 'anonymous:planted' });
    await admin.sAdd('cua:{r}:p:anonymous', 'anonymous:planted');
    const r = await call(onB, 'screenshot_cua', { session_id: 'planted' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/\(cua:http:\/\/127\.0\.0\.1:9\) is not one of CUA_COMPUTER_URLS here; it cannot be taken over/);
    expect(b.output()).not.toMatch(/127\.0\.0\.1:9\b.*(connect|ECONNREFUSED)/);
  });
});

import { createClient } from 'redis';
import { RedisConnection, RedisSessionRegistry } from '../src/cluster/cluster.module';
import { hostname } from 'node:os';
import { redisTarget, replicaIdOf } from '../src/cluster/cluster.settings';
import { Client as V2Client, StreamableHTTPClientTransport as V2HttpTransport } from '@modelcontextprotocol/client';
import { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as HttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { call, sessionIdOf, startApp, textOf, type TestApp } from './support/app';
import { startRedisServer, type RedisServer } from './support/redis-server';
import { spawnServer } from './support/server-process';
import { alive, xvfbPids } from './support/processes';
import { waitFor } from './support/wait-for';

const record = (principal: string, id: string) => `cua:{r}:s:${principal}:${id}`;
const stats = async (client: McpClient) => (await call(client, 'get_session_stats')).structuredContent as { total_sessions: number; sessions: Record<string, { kind: string }> };

/** The server with REDIS_URL, against a real redis-server on a loopback port. */
describe('Redis (REDIS_URL)', () => {
  let redis: RedisServer;
  let admin: ReturnType<typeof createClient>;
  let t: TestApp | undefined;
  const ready = async (app: TestApp) => {
    const res = await fetch(app.url.replace('/mcp', '/health/ready'));
    return { status: res.status, body: (await res.json()) as { info?: Record<string, unknown>; error?: Record<string, { reason?: string }> } };
  };

  beforeAll(async () => {
    redis = await startRedisServer();
    admin = createClient({ url: redis.url });
    admin.on('error', () => undefined);
    await admin.connect();
  });
  beforeEach(async () => {
    await admin.flushAll();
  });
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });
  afterAll(async () => {
    admin?.destroy();
    await redis?.stop();
  });

  it('keeps the sessions\' records in Redis: there while a session lives, gone when it ends', async () => {
    t = await startApp({ REDIS_URL: redis.url });
    const client = await t.connect();
    expect((await call(client, 'screenshot_cua', { session_id: 'work' })).isError).toBeFalsy();
    const defaultId = sessionIdOf(await call(client, 'screenshot_cua'));
    expect(await admin.hGetAll(record('anonymous', 'work'))).toMatchObject({ id: 'work', principal: 'anonymous', kind: 'named', idleTimeoutMs: '600000' });
    expect(await admin.hGetAll(record('anonymous', defaultId))).toMatchObject({ id: defaultId, principal: 'anonymous', kind: 'default', idleTimeoutMs: '120000' });
    expect(await admin.zCard('cua:{r}:sessions')).toBe(2);
    expect(await stats(client)).toMatchObject({ total_sessions: 2, sessions: { work: { kind: 'named' }, [defaultId]: { kind: 'default' } } });

    expect(textOf(await call(client, 'cleanup_session', { session_id: 'work' }))).toMatch(/Session work ended/);
    expect(await admin.exists(record('anonymous', 'work'))).toBe(0);
    // DELETE of the MCP session ends its default session, and with it the record.
    await (client.transport as HttpTransport).terminateSession();
    await waitFor('the default session\'s record to go', async () => (await admin.exists(record('anonymous', defaultId))) === 0, 10_000);
    // Nothing of the sessions is left; what remains is the running replica's lease and the epoch counter.
    expect((await admin.keys('cua:*')).sort()).toEqual(['cua:{r}:epoch', 'cua:{r}:replica:' + replicaIdOf(hostname()), 'cua:{r}:replicas']);
  });

  it('counts sessions another replica registered in Redis against MAX_SESSIONS', async () => {
    t = await startApp({ REDIS_URL: redis.url, MAX_SESSIONS: '2' });
    const other = new RedisConnection({ redisUrl: redis.url, redisTarget: redisTarget(redis.url), connectTimeoutMs: 5_000, commandTimeoutMs: 2_000 });
    await other.connect();
    try {
      const elsewhere = await new RedisSessionRegistry(other).admit({
        id: 'theirs',
        principal: 'someone-else',
        kind: 'named',
        idleTimeoutMs: 600_000,
        now: Date.now(),
        limits: { maxSessions: 2, maxSessionsPerPrincipal: 2 },
      });
      expect(elsewhere.admitted).toBe(true);
      const client = await t.connect();
      expect((await call(client, 'screenshot_cua', { session_id: 'first' })).isError).toBeFalsy();
      const refused = await call(client, 'screenshot_cua', { session_id: 'second' });
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toMatch(/^\[SESSION_LIMIT\] The server already has its maximum of 2 sessions \(MAX_SESSIONS\)/);
      expect((await stats(client)).total_sessions).toBe(2);
    } finally {
      await other.close();
    }
  });

  it('answers REGISTRY_UNAVAILABLE at once while Redis is away, and serves again once it is back', async () => {
    t = await startApp({ REDIS_URL: redis.url });
    // The 2026-07-28 era, which has no MCP session to look up first: what is refused is the tool call itself.
    const client = new V2Client({ name: 'e2e-v2', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await client.connect(new V2HttpTransport(new URL(t.url)));
    const shoot = async (args: Record<string, unknown>) => (await client.callTool({ name: 'screenshot_cua', arguments: args })) as { isError?: boolean; content: unknown[] };
    try {
      expect((await shoot({ session_id: 'work' })).isError).toBeFalsy();
      await redis.kill();
      for (const args of [{ session_id: 'work' }, { session_id: 'new' }]) {
        const r = await shoot(args);
        expect(r.isError).toBe(true);
        expect(textOf(r)).toMatch(new RegExp(`^\\[REGISTRY_UNAVAILABLE\\] The session registry \\(Redis at 127\\.0\\.0\\.1:${redis.port}\\) is unreachable: .*Retry shortly\\.`));
      }
      await redis.restart();
      // The restarted Redis is empty (no persistence): "work" is no longer registered, so it ends; the next call opens it afresh.
      const shot = await waitFor(
        'a call to succeed again',
        async () => {
          const r = await shoot({ session_id: 'work' });
          return r.isError ? undefined : r;
        },
        15_000,
        200,
      );
      expect(sessionIdOf(shot)).toBe('work');
      expect(await admin.hGet(record('anonymous', 'work'), 'kind')).toBe('named');
    } finally {
      await client.close();
    }
  });

  it('is ready only while Redis answers: not ready while it is away, ready again once it is back', async () => {
    t = await startApp({ REDIS_URL: redis.url });
    const app = t;
    expect(await ready(app)).toMatchObject({ status: 200, body: { info: { registry: { status: 'up', backend: 'redis' } } } });
    await redis.kill();
    const down = await ready(app);
    expect(down.status).toBe(503);
    expect(down.body.error?.registry?.reason).toMatch(new RegExp(`Redis at 127\\.0\\.0\\.1:${redis.port}\\) is unreachable`));
    await redis.restart();
    await waitFor('readiness to come back', async () => (await ready(app)).status === 200, 15_000);
  });

  it('without REDIS_URL, readiness says the registry is in memory', async () => {
    t = await startApp();
    expect(await ready(t)).toMatchObject({ status: 200, body: { info: { registry: { status: 'up', backend: 'memory' } } } });
  });

  it('does not start when Redis cannot be reached, and says where it looked', async () => {
    const gone = await startRedisServer();
    await gone.stop();
    const started = await startApp({ REDIS_URL: `redis://:s3cret-pw@127.0.0.1:${gone.port}`, REDIS_CONNECT_TIMEOUT_MS: '300' }).then(
      (app) => {
        t = app;
        return undefined;
      },
      (e: Error) => e,
    );
    expect(started?.message).toMatch(new RegExp(`Cannot connect to Redis at 127\\.0\\.0\\.1:${gone.port} \\(REDIS_URL\\) within REDIS_CONNECT_TIMEOUT_MS=300 ms`));
    expect(started?.message).not.toContain('s3cret-pw');
  });
});

/** The built server (dist/main.js, run `npx nest build` first) as its own process, with a password-protected Redis. */
describe('the server process with REDIS_URL', () => {
  const PASSWORD = 'pw-never-in-logs-7f3a';
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer(['--requirepass', PASSWORD]);
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('serves sessions from Redis, removes their records on SIGTERM, and never prints the password', async () => {
    const url = `redis://:${PASSWORD}@127.0.0.1:${redis.port}`;
    const admin = createClient({ url });
    admin.on('error', () => undefined);
    await admin.connect();
    const server = await spawnServer({ COMPUTER_PROVIDER: 'fake', POOL_MIN_WARM: '0', REDIS_URL: url });
    try {
      expect(server.output()).toContain(`Connected to Redis at 127.0.0.1:${redis.port}`);
      const client = new McpClient({ name: 'e2e', version: '1.0.0' });
      await client.connect(new HttpTransport(new URL(server.url)));
      expect((await call(client, 'screenshot_cua', { session_id: 'work' })).isError).toBeFalsy();
      expect(await admin.hGet(record('anonymous', 'work'), 'kind')).toBe('named');
      const mcpSession = (client.transport as HttpTransport).sessionId;
      await client.close();
      server.proc.kill('SIGTERM');
      expect(await server.exited).toMatchObject({ code: 0 });
      // A clean shutdown ends every session, and with it its record, then gives up the replica's lease. What stays:
      // the epoch counter, so that the next replica to join gets a higher epoch, and the MCP session the client left
      // open without DELETE, which any other replica serves until it is idle too long.
      expect((await admin.keys('cua:*')).sort()).toEqual(['cua:{r}:epoch', 'cua:{r}:mcp:p:anonymous', `cua:{r}:mcp:s:${mcpSession}`, 'cua:{r}:mcp:sessions']);
      expect(server.output()).not.toContain(PASSWORD);
    } finally {
      await server.stop(2_000);
      admin.destroy();
    }
  });

  it('stops at start, naming the host but not the password, when the password is wrong', async () => {
    const failed = await spawnServer({ COMPUTER_PROVIDER: 'fake', POOL_MIN_WARM: '0', REDIS_URL: `redis://:not-${PASSWORD}@127.0.0.1:${redis.port}` }).then(
      async (srv) => {
        await srv.stop(2_000);
        return undefined;
      },
      (e: Error) => e.message,
    );
    expect(failed).toMatch(new RegExp(`Could not start: Cannot connect to Redis at 127\\.0\\.0\\.1:${redis.port} \\(REDIS_URL\\).*WRONGPASS`));
    expect(failed).not.toContain(PASSWORD);
  });

  it('when a replica dies, another answers SESSION_LOST for the sessions whose desktops it held, then starts them afresh', async () => {
    const url = `redis://:${PASSWORD}@127.0.0.1:${redis.port}`;
    const admin = createClient({ url });
    admin.on('error', () => undefined);
    await admin.connect();
    await admin.flushAll();
    const env = { COMPUTER_PROVIDER: 'xvfb', DESKTOP_PROFILE: 'minimal', POOL_MIN_WARM: '0', REDIS_URL: url, REPLICA_LEASE_MS: '1000' };
    const a = await spawnServer({ ...env, REPLICA_ID: 'pod-a' });
    const b = await spawnServer({ ...env, REPLICA_ID: 'pod-b' });
    const clients: McpClient[] = [];
    const connect = async (server: { url: string }) => {
      const client = new McpClient({ name: 'e2e', version: '1.0.0' });
      await client.connect(new HttpTransport(new URL(server.url)));
      clients.push(client);
      return client;
    };
    try {
      const onA = await connect(a);
      expect((await call(onA, 'screenshot_cua', { session_id: 'work' })).isError).toBeFalsy();
      expect(await admin.hGet(record('anonymous', 'work'), 'owner')).toMatch(/^pod-a@\d+$/);
      const desktopsOfA = xvfbPids(a.proc.pid);
      expect(desktopsOfA).toHaveLength(1);

      // While pod-a lives, pod-b does not take its session over (nor start a second desktop for it).
      const onB = await connect(b);
      const meanwhile = await call(onB, 'screenshot_cua', { session_id: 'work' });
      expect(textOf(meanwhile)).toMatch(/served by another server replica \(pod-a\)/);

      a.proc.kill('SIGKILL');
      await a.exited;
      await waitFor('pod-a\'s desktop to end with it', () => desktopsOfA.every((pid) => !alive(pid)), 10_000);
      // Once pod-a's lease (1 s) has run out, its session is lost, said once; until then pod-b says where it is.
      const lost = await waitFor(
        'pod-b to answer SESSION_LOST',
        async () => {
          const r = await call(onB, 'screenshot_cua', { session_id: 'work' });
          if (/served by another server replica \(pod-a\)/.test(textOf(r))) return undefined;
          return r;
        },
        15_000,
        200,
      );
      expect(lost.isError).toBe(true);
      expect(textOf(lost)).toMatch(/\[SESSION_LOST\] Session "work" is lost: the server replica pod-a that held its computer has stopped.*Call again with session_id "work"/);
      const fresh = await call(onB, 'screenshot_cua', { session_id: 'work' });
      expect(fresh.isError).toBeFalsy();
      expect(fresh.content.some((c) => c.type === 'image')).toBe(true);
      expect(await admin.hGet(record('anonymous', 'work'), 'owner')).toMatch(/^pod-b@\d+$/);
      expect(xvfbPids(b.proc.pid)).toHaveLength(1);
      expect(b.output()).toMatch(/Session work: lost with the replica pod-a@\d+ that held its computer/);
    } finally {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await Promise.all([a.stop(2_000), b.stop(5_000)]);
      admin.destroy();
    }
  });
});

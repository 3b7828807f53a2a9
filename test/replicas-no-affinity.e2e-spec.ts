import { Client as V2Client, StreamableHTTPClientTransport as V2HttpTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1HttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { call, fakeScreenText, sessionIdOf, textOf } from './support/app';
import { seededRandom } from './support/prng';
import { startRedisServer, type RedisServer } from './support/redis-server';
import { spawnServer, type ServerProcess } from './support/server-process';

jest.setTimeout(120_000);

const SECRET = 'e2e-cluster-secret-0123456789abcdef0123456789';
type Replica = ServerProcess & { stop(ms: number): Promise<void> };

/**
 * Three replicas behind no affinity at all: the test's clients send each request to the next replica in turn, as a
 * round-robin load balancer would, in both protocol eras. The computers are FAKE (in-process synthetic screens that
 * show what was typed), so the test can tell which computer a call reached by what its screen shows.
 */
describe('three replicas, no affinity', () => {
  let redis: RedisServer;
  const replicas: Replica[] = [];
  const closers: (() => Promise<unknown>)[] = [];

  async function start(extra: Record<string, string> = {}) {
    const env = {
      COMPUTER_PROVIDER: 'fake',
      POOL_MIN_WARM: '0',
      REDIS_URL: redis.url,
      CLUSTER_PORT: '0',
      CLUSTER_HOST: '127.0.0.1',
      CLUSTER_ADDRESS: '127.0.0.1',
      CLUSTER_SECRET: SECRET,
      ...extra,
    };
    replicas.push(...(await Promise.all(['pod-a', 'pod-b', 'pod-c'].map((id) => spawnServer({ ...env, REPLICA_ID: id })))));
  }
  /** A fetch that sends every request to the next replica. */
  function roundRobin(): typeof fetch {
    let n = 0;
    return (input, init) => {
      const target = replicas[n++ % replicas.length].url;
      return fetch(target, init ?? (input instanceof Request ? input : undefined));
    };
  }

  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((c) => c().catch(() => undefined)));
    await Promise.all(replicas.splice(0).map((r) => r.stop(5_000)));
  });
  afterAll(async () => redis?.stop());

  it('2026-07-28: id-less calls and a named session reach one computer each, whichever replica each request lands on', async () => {
    await start();
    const client = new V2Client({ name: 'rr-2026', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await client.connect(new V2HttpTransport(new URL(replicas[0].url), { fetch: roundRobin() }));
    closers.push(() => client.close());
    for (const letter of ['a', 'b', 'c', 'd']) await client.callTool({ name: 'computer', arguments: { action: 'type', text: letter } });
    const shot = await client.callTool({ name: 'screenshot_cua', arguments: {} });
    expect(await fakeScreenText(shot)).toBe('abcd');
    for (const letter of ['x', 'y', 'z']) await client.callTool({ name: 'computer', arguments: { action: 'type', text: letter, session_id: 'work' } });
    expect(await fakeScreenText(await client.callTool({ name: 'screenshot_cua', arguments: { session_id: 'work' } }))).toBe('xyz');
    // Two sessions in all, whichever replica is asked.
    for (let i = 0; i < 3; i++) {
      const listed = (await client.callTool({ name: 'list_sessions', arguments: {} })).structuredContent as { sessions: { session_id: string }[] };
      expect(listed.sessions.map((s) => s.session_id).sort()).toEqual([sessionIdOf(shot), 'work'].sort());
    }
  });

  it('2025-11-25: an MCP session whose every request lands on another replica keeps one default computer and its named sessions', async () => {
    await start();
    const client = new V1Client({ name: 'rr-2025', version: '1.0.0' });
    const transport = new V1HttpTransport(new URL(replicas[0].url), { fetch: roundRobin() });
    await client.connect(transport);
    closers.push(() => transport.terminateSession().then(() => client.close()));
    for (const letter of ['p', 'q', 'r', 's']) await call(client, 'computer', { action: 'type', text: letter });
    const shot = await call(client, 'screenshot_cua');
    expect(await fakeScreenText(shot)).toBe('pqrs');
    await call(client, 'computer', { action: 'type', text: 'n', session_id: 'named' });
    await call(client, 'computer', { action: 'type', text: 'm', session_id: 'named' });
    expect(await fakeScreenText(await call(client, 'screenshot_cua', { session_id: 'named' }))).toBe('nm');
  });

  it('caps hold under concurrent creation through all three: never more sessions than MAX_SESSIONS (randomized)', async () => {
    await start({ MAX_SESSIONS: '5', API_KEYS: 'k-alice-0123456789:alice,k-bob-0123456789:bob', MAX_SESSIONS_PER_PRINCIPAL: '3' });
    const rnd = seededRandom(1207);
    const clients = await Promise.all(
      [...replicas, ...replicas].map(async (r, i) => {
        const key = i % 2 ? 'k-alice-0123456789' : 'k-bob-0123456789';
        const c = new V2Client({ name: `caps-${i}`, version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
        await c.connect(new V2HttpTransport(new URL(r.url), { requestInit: { headers: { Authorization: `Bearer ${key}` } } }));
        closers.push(() => c.close());
        return { c, principal: i % 2 ? 'alice' : 'bob' };
      }),
    );
    const attempts = Array.from({ length: 24 }, (_, i) => ({ who: clients[Math.floor(rnd() * clients.length)], id: `s-${i}-${Math.floor(rnd() * 1000)}` }));
    const results = await Promise.all(attempts.map(async (a) => ({ a, r: await a.who.c.callTool({ name: 'screenshot_cua', arguments: { session_id: a.id } }) })));
    const admitted = results.filter((x) => !x.r.isError);
    const refused = results.filter((x) => x.r.isError);
    expect(refused.every((x) => /^\[SESSION_LIMIT\]/.test(textOf(x.r)))).toBe(true);
    const perPrincipal = (p: string) => admitted.filter((x) => x.a.who.principal === p).length;
    expect(admitted.length).toBeLessThanOrEqual(5);
    expect(perPrincipal('alice')).toBeLessThanOrEqual(3);
    expect(perPrincipal('bob')).toBeLessThanOrEqual(3);
    // The caps were reached, not just respected by accident: as many as they allow got in.
    expect(admitted.length).toBe(5);
  });
});

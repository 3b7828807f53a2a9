import { createClient } from 'redis';
import { startRedisServer, type RedisServer } from '../../test/support/redis-server';
import { waitFor } from '../../test/support/wait-for';
import { DomainErrorCode } from '../common/domain-error';
import type { CancelNotice } from './cluster-bus';
import { clusterBusContract } from './cluster-bus.contract';
import { redisTarget } from './cluster.settings';
import { CANCEL_CHANNEL, RedisClusterBus } from './redis-cluster-bus';
import { RedisConnection } from './redis-connection';

describe(RedisClusterBus.name, () => {
  let server: RedisServer;
  let admin: ReturnType<typeof createClient>;
  const connections: RedisConnection[] = [];
  const buses: RedisClusterBus[] = [];

  /** A bus on a connection of its own, listening: a replica of the server. */
  async function replica(connectTimeoutMs = 5_000): Promise<RedisClusterBus> {
    const c = new RedisConnection({ redisUrl: server.url, redisTarget: redisTarget(server.url), connectTimeoutMs, commandTimeoutMs: 1_000 });
    connections.push(c);
    await c.connect();
    const bus = new RedisClusterBus(c);
    buses.push(bus);
    await bus.onApplicationBootstrap();
    return bus;
  }
  /** Our subscribed connections, as redis-server lists them. */
  const subscribers = async () => (await admin.clientList()).filter((c) => c.name === 'cua-mcp-server-sub').length;

  beforeAll(async () => {
    server = await startRedisServer();
    admin = createClient({ url: server.url });
    admin.on('error', () => undefined);
    await admin.connect();
  });
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.onApplicationShutdown()));
    await Promise.all(connections.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    admin?.destroy();
    await server?.stop();
  });

  clusterBusContract(() => ({ buses: (n) => Promise.all(Array.from({ length: n }, () => replica())) }));

  it('listens on a connection of its own under the registry prefix, and closes it at shutdown', async () => {
    const sut = await replica();
    expect(CANCEL_CHANNEL).toBe('cua:{r}:cancel');
    expect(sut.listening).toBe(true);
    expect(await subscribers()).toBe(1);
    expect(await admin.pubSubNumSub(CANCEL_CHANNEL)).toEqual({ [CANCEL_CHANNEL]: 1 });
    await sut.onApplicationShutdown();
    expect(sut.listening).toBe(false);
    await waitFor('the subscribed connection to be closed', async () => (await subscribers()) === 0, 5_000);
    expect(await admin.publish(CANCEL_CHANNEL, '{}')).toBe(0);
  });

  it('drops what is published on its channel that is no notice, and still hears the notices after it', async () => {
    const sut = await replica();
    const heard: CancelNotice[] = [];
    sut.onCancel((n) => heard.push(n));
    const good = { mcpSession: 'm1', requestIds: ['c1'], principal: 'alice' };
    for (const junk of [
      'not json',
      'null',
      '[1,2]',
      JSON.stringify({ ...good, requestIds: 'c1' }),
      JSON.stringify({ ...good, requestIds: [{ id: 1 }] }),
      JSON.stringify({ ...good, principal: '' }),
      JSON.stringify({ ...good, requestIds: Array.from({ length: 51 }, (_, i) => i) }),
      JSON.stringify({ ...good, reason: 'r'.repeat(10_000) }),
      JSON.stringify({ ...good, pad: 'x'.repeat(20_000) }),
    ]) {
      await admin.publish(CANCEL_CHANNEL, junk);
    }
    // A field this version does not know (a newer replica's) is dropped; the notice stands.
    await admin.publish(CANCEL_CHANNEL, JSON.stringify({ ...good, requestIds: ['last'], sentBy: 'pod-z' }));
    await waitFor('the good notice to arrive', () => heard.length > 0, 5_000);
    expect(heard).toEqual([{ mcpSession: 'm1', requestIds: ['last'], principal: 'alice' }]);
    expect(sut.dropped).toBe(9);
  });

  it('while Redis is away, publishing fails at once with REGISTRY_UNAVAILABLE and nothing crashes; once it is back, notices flow again', async () => {
    const [a, b] = [await replica(), await replica()];
    const heard: CancelNotice[] = [];
    b.onCancel((n) => heard.push(n));
    await server.kill();
    await waitFor('the subscription to notice', () => !b.listening, 5_000);
    await expect(a.publishCancel({ mcpSession: 'm1', requestIds: [1], principal: 'alice' })).rejects.toMatchObject({
      code: DomainErrorCode.REGISTRY_UNAVAILABLE,
      message: expect.stringMatching(/^The session registry \(Redis at 127\.0\.0\.1:\d+\) is unreachable/),
    });
    await server.restart();
    await admin.connect().catch(() => undefined);
    // Both connections come back by themselves, and the subscription with them (pub/sub keeps nothing from before).
    let n = 0;
    await waitFor(
      'a notice published after the restart to be heard',
      async () => {
        await a.publishCancel({ mcpSession: 'm1', requestIds: [++n], principal: 'alice' }).catch(() => undefined);
        return heard.length > 0;
      },
      15_000,
      200,
    );
    expect(b.listening).toBe(true);
  });

  it('gives up subscribing within REDIS_CONNECT_TIMEOUT_MS when Redis cannot be reached, saying where it looked', async () => {
    const c = new RedisConnection({ redisUrl: server.url, redisTarget: redisTarget(server.url), connectTimeoutMs: 300, commandTimeoutMs: 1_000 });
    connections.push(c);
    await c.connect();
    await server.kill();
    try {
      const sut = new RedisClusterBus(c);
      buses.push(sut);
      await expect(sut.onApplicationBootstrap()).rejects.toThrow(new RegExp(`^Cannot connect to Redis at 127\\.0\\.0\\.1:${server.port} \\(REDIS_URL\\) within REDIS_CONNECT_TIMEOUT_MS=300 ms`));
      expect(sut.listening).toBe(false);
    } finally {
      await server.restart();
      await admin.connect().catch(() => undefined);
    }
  });
});

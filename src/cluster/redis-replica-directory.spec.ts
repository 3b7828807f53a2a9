import { createClient } from 'redis';
import { startRedisServer, type RedisServer } from '../../test/support/redis-server';
import { redisTarget } from './cluster.settings';
import { RedisConnection } from './redis-connection';
import { RedisReplicaDirectory, replicaKey } from './redis-replica-directory';
import { replicaDirectoryContract } from './replica-directory.contract';

describe(RedisReplicaDirectory.name, () => {
  let server: RedisServer;
  let admin: ReturnType<typeof createClient>;
  const connections: RedisConnection[] = [];

  /** A directory on its own connection: a replica of the server. */
  async function replica(): Promise<RedisReplicaDirectory> {
    const connection = new RedisConnection({ redisUrl: server.url, redisTarget: redisTarget(server.url), connectTimeoutMs: 5_000, commandTimeoutMs: 2_000 });
    connections.push(connection);
    await connection.connect();
    return new RedisReplicaDirectory(connection);
  }

  beforeAll(async () => {
    server = await startRedisServer();
    admin = createClient({ url: server.url });
    admin.on('error', () => undefined);
    await admin.connect();
  });
  afterEach(async () => {
    await Promise.all(connections.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    admin?.destroy();
    await server?.stop();
  });

  replicaDirectoryContract(() => ({
    directories: async (n) => {
      await admin.flushAll();
      return Promise.all(Array.from({ length: n }, () => replica()));
    },
  }));

  it('keeps a lease as a hash that Redis expires by itself when nobody renews it', async () => {
    await admin.flushAll();
    const sut = await replica();
    const entry = await sut.join({ id: 'pod-a', startedAt: 5, version: '1.2.3' }, 30_000);
    expect(await admin.hGetAll(replicaKey('pod-a'))).toEqual({ id: 'pod-a', epoch: String(entry.epoch), startedAt: '5', version: '1.2.3', address: '' });
    const ttl = await admin.pTTL(replicaKey('pod-a'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30_000);
  });
});

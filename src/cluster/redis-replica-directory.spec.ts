import { redisTestBed } from '../../test/support/redis-testbed';
import { RedisReplicaDirectory, replicaKey } from './redis-replica-directory';
import { replicaDirectoryContract } from './replica-directory.contract';

describe(RedisReplicaDirectory.name, () => {
  const bed = redisTestBed();
  /** A directory on its own connection: a replica of the server. */
  const replica = async () => new RedisReplicaDirectory(await bed.connection());

  replicaDirectoryContract(() => ({
    directories: async (n) => {
      await bed.admin.flushAll();
      return Promise.all(Array.from({ length: n }, () => replica()));
    },
  }));

  it('keeps a lease as a hash that Redis expires by itself when nobody renews it', async () => {
    await bed.admin.flushAll();
    const sut = await replica();
    const entry = await sut.join({ id: 'pod-a', startedAt: 5, version: '1.2.3' }, 30_000);
    expect(await bed.admin.hGetAll(replicaKey('pod-a'))).toEqual({ id: 'pod-a', epoch: String(entry.epoch), startedAt: '5', version: '1.2.3', address: '' });
    const ttl = await bed.admin.pTTL(replicaKey('pod-a'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30_000);
  });
});

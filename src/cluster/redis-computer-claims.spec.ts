import { redisTestBed } from '../../test/support/redis-testbed';
import { computerClaimsContract } from './computer-claims.contract';
import { RedisComputerClaims } from './redis-computer-claims';
import { RedisReplicaDirectory } from './redis-replica-directory';
import { REGISTRY_PREFIX, RedisSessionRegistry } from './redis-session-registry';

describe(RedisComputerClaims.name, () => {
  const bed = redisTestBed();

  computerClaimsContract(() => ({
    replicas: async (n) => {
      await bed.admin.flushAll();
      return Promise.all(
        Array.from({ length: n }, async () => {
          const c = await bed.connection();
          return { claims: new RedisComputerClaims(c), registry: new RedisSessionRegistry(c), directory: new RedisReplicaDirectory(c) };
        }),
      );
    },
  }));

  it('keeps a claim as one hash under the registry\'s prefix, and the session\'s naming of it until the session ends', async () => {
    await bed.admin.flushAll();
    const c = await bed.connection();
    const claims = new RedisComputerClaims(c);
    const registry = new RedisSessionRegistry(c);
    await registry.admit({ id: 'work', principal: 'alice', kind: 'named', idleTimeoutMs: 60_000, now: 1, owner: 'pod-a@1', limits: { maxSessions: 9, maxSessionsPerPrincipal: 9 } });
    await claims.take('cua:http://h:1', 'pod-a@1');
    await registry.assign('alice', 'work', 'pod-a@1', 'cua:http://h:1');
    expect(await bed.admin.hGetAll(`${REGISTRY_PREFIX}c:cua:http://h:1`)).toEqual({ holder: 'pod-a@1' });
    expect(await bed.admin.get(`${REGISTRY_PREFIX}cs:cua:http://h:1`)).toBe('alice:work');
    await registry.end('alice', 'work');
    await claims.release('cua:http://h:1', 'pod-a@1');
    expect(await bed.admin.keys('cua:*')).toEqual([]);
  });
});

import { redisTestBed } from '../../test/support/redis-testbed';
import { waitFor } from '../../test/support/wait-for';
import { DomainErrorCode } from '../common/domain-error';
import { RegistryUnavailableError } from './cluster.errors';
import { RedisReplicaDirectory } from './redis-replica-directory';
import { REGISTRY_PREFIX, RedisSessionRegistry } from './redis-session-registry';
import { sessionRegistryContract } from './session-registry.contract';

const T0 = 1_800_000_000_000;
const LIMITS = { maxSessions: 10, maxSessionsPerPrincipal: 10 };

describe(RedisSessionRegistry.name, () => {
  const bed = redisTestBed();
  /** A registry on its own connection: a replica of the server. */
  const replica = async () => new RedisSessionRegistry(await bed.connection());

  sessionRegistryContract(() => ({
    registries: async (n) => {
      await bed.admin.flushAll();
      return Promise.all(Array.from({ length: n }, () => replica()));
    },
    replicas: async (n) => {
      await bed.admin.flushAll();
      return Promise.all(
        Array.from({ length: n }, async () => {
          const c = await bed.connection();
          return { registry: new RedisSessionRegistry(c), directory: new RedisReplicaDirectory(c) };
        }),
      );
    },
  }));

  it('keeps each session as a hash, its expiry in one sorted set and its principal\'s set, and removes all three when it ends', async () => {
    await bed.admin.flushAll();
    const sut = await replica();
    await sut.admit({ id: 'work:1', principal: 'alice@example.com', kind: 'named', idleTimeoutMs: 60_000, now: T0, owner: 'replica-a', limits: LIMITS });
    const record = `${REGISTRY_PREFIX}s:alice%40example.com:work:1`;
    expect(await bed.admin.hGetAll(record)).toEqual({
      id: 'work:1',
      principal: 'alice@example.com',
      kind: 'named',
      createdAt: String(T0),
      lastActivityAt: String(T0),
      idleTimeoutMs: '60000',
      owner: 'replica-a',
    });
    expect(await bed.admin.zScore(`${REGISTRY_PREFIX}sessions`, 'alice%40example.com:work:1')).toBe(T0 + 60_000);
    expect(await bed.admin.sMembers(`${REGISTRY_PREFIX}p:alice%40example.com`)).toEqual(['alice%40example.com:work:1']);
    await sut.touch('alice@example.com', 'work:1', T0 + 5_000);
    expect(await bed.admin.zScore(`${REGISTRY_PREFIX}sessions`, 'alice%40example.com:work:1')).toBe(T0 + 65_000);
    await sut.end('alice@example.com', 'work:1');
    expect(await bed.admin.keys('cua:*')).toEqual([]);
  });

  it('fails at once with REGISTRY_UNAVAILABLE while Redis is away, and works again once it is restarted on the same port', async () => {
    await bed.admin.flushAll();
    const sut = await replica();
    expect((await sut.admit({ id: 'before', principal: 'alice', kind: 'named', idleTimeoutMs: 60_000, now: T0, limits: LIMITS })).admitted).toBe(true);
    await bed.server.kill();
    // Redis stays down until every call below has answered: a call that waited for it would never settle.
    for (const call of [
      () => sut.admit({ id: 'during', principal: 'alice', kind: 'named', idleTimeoutMs: 60_000, now: T0, limits: LIMITS }),
      () => sut.touch('alice', 'before', T0 + 1),
      () => sut.list('alice'),
      () => sut.claimExpired(T0, 10),
    ]) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(RegistryUnavailableError);
      expect(error).toMatchObject({ code: DomainErrorCode.REGISTRY_UNAVAILABLE, message: expect.stringMatching(/^The session registry \(Redis at 127\.0\.0\.1:\d+\) is unreachable: .*Retry shortly\.$/) });
    }
    await bed.server.restart();
    await bed.admin.connect().catch(() => undefined);
    const after = await waitFor(
      'the registry to admit again',
      () => sut.admit({ id: 'after', principal: 'alice', kind: 'named', idleTimeoutMs: 60_000, now: T0 + 2, limits: LIMITS }),
      15_000,
    );
    expect(after.admitted).toBe(true);
    // Without persistence the restarted Redis is empty: the session admitted before is gone, and the caps count afresh.
    expect(await sut.get('alice', 'before')).toBeUndefined();
    expect(await sut.count()).toBe(1);
  });
});

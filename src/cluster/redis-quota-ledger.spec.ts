import { redisTestBed } from '../../test/support/redis-testbed';
import { DomainErrorCode } from '../common/domain-error';
import { NO_LIMITS, WINDOW_GRACE_MS, windowsAt } from './quota-ledger';
import { quotaLedgerContract } from './quota-ledger.contract';
import { RedisQuotaLedger } from './redis-quota-ledger';
import { REGISTRY_PREFIX } from './redis-session-registry';

describe(RedisQuotaLedger.name, () => {
  const bed = redisTestBed();
  /** A ledger on its own connection: a replica of the server. */
  const replica = async () => new RedisQuotaLedger(await bed.connection());

  quotaLedgerContract(() => ({
    ledgers: async (n) => {
      await bed.admin.flushAll();
      return Promise.all(Array.from({ length: n }, () => replica()));
    },
  }));

  it('keeps each window\'s counts in keys that expire a grace after the window ends, and running tasks in sets that expire after a lease', async () => {
    await bed.admin.flushAll();
    const sut = await replica();
    // The clock the ledger is given is Redis's too here, so the keys' time to live can be compared with it.
    const now = Date.now();
    const { hour, day } = windowsAt(now);
    await sut.reserveStep('alice@example.com', now, NO_LIMITS);
    await sut.addTokens('alice@example.com', now, 321);
    await sut.startTasks('alice@example.com', ['t1'], now, 30_000, 2);
    const q = `${REGISTRY_PREFIX}q:`;
    expect((await bed.admin.keys(`${q}*`)).sort()).toEqual(
      [`steps:h:${hour.index}`, `tokens:h:${hour.index}`, `sum:h:${hour.index}`, `steps:d:${day.index}`, `tokens:d:${day.index}`, `sum:d:${day.index}`, 't:alice%40example.com', 'tasks']
        .map((k) => q + k)
        .sort(),
    );
    expect(await bed.admin.zScore(`${q}tokens:h:${hour.index}`, 'alice@example.com')).toBe(321);
    expect(await bed.admin.hGetAll(`${q}sum:d:${day.index}`)).toEqual({ steps: '1', tokens: '321' });
    const ttl = (key: string) => bed.admin.pTTL(q + key);
    for (const [key, end] of [[`steps:h:${hour.index}`, hour.endsAt], [`tokens:d:${day.index}`, day.endsAt]] as const) {
      const left = await ttl(key);
      expect(left).toBeGreaterThan(WINDOW_GRACE_MS);
      expect(left).toBeLessThanOrEqual(end + WINDOW_GRACE_MS - now);
    }
    expect(await ttl('t:alice%40example.com')).toBeGreaterThan(0);
    expect(await ttl('t:alice%40example.com')).toBeLessThanOrEqual(30_000);
    await sut.endTasks('alice@example.com', ['t1']);
    expect(await bed.admin.exists([`${q}t:alice%40example.com`, `${q}tasks`])).toBe(0);
  });

  it('fails at once with REGISTRY_UNAVAILABLE while Redis is away', async () => {
    await bed.admin.flushAll();
    const sut = await replica();
    await bed.server.kill();
    try {
      for (const call of [() => sut.reserveStep('alice', 1, NO_LIMITS), () => sut.startTasks('alice', ['t'], 1, 1_000, 1), () => sut.usage('alice', 1)]) {
        await expect(call()).rejects.toMatchObject({ code: DomainErrorCode.REGISTRY_UNAVAILABLE });
      }
    } finally {
      await bed.server.restart();
      await bed.admin.connect().catch(() => undefined);
    }
  });
});

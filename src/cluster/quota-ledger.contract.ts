import { NO_LIMITS, type QuotaLedger, type UsageLimits, windowsAt } from './quota-ledger';
import { seededRandom } from '../../test/support/prng';

/**
 * The contract every QuotaLedger backend passes: one set of tests, run by each backend's spec
 * (in-memory-quota-ledger.spec.ts, redis-quota-ledger.spec.ts). Not built into dist (tsconfig excludes it).
 */
export interface LedgerHarness {
  /** `n` ledgers over one fresh, empty store: what `n` replicas of the server would share. */
  ledgers(n: number): Promise<QuotaLedger[]>;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** 2027-01-15T10:00:00.000Z: the start of an hour, in the middle of a UTC day. */
const T0 = Date.UTC(2027, 0, 15, 10);
const LEASE = 30_000;

const limits = (l: { stepsHour?: number; stepsDay?: number; tokensHour?: number; tokensDay?: number }): UsageLimits => ({
  steps: { hour: l.stepsHour, day: l.stepsDay },
  tokens: { hour: l.tokensHour, day: l.tokensDay },
});

export function quotaLedgerContract(harness: () => LedgerHarness): void {
  const one = async () => (await harness().ledgers(1))[0];

  describe('the QuotaLedger contract', () => {
    it('counts steps and tokens per principal in the hour and the day, each principal apart', async () => {
      const sut = await one();
      for (let i = 0; i < 3; i++) expect(await sut.reserveStep('alice', T0 + i, NO_LIMITS)).toEqual({ reserved: true });
      await sut.addTokens('alice', T0 + 5, 1_200);
      await sut.addTokens('alice', T0 + 6, 34);
      await sut.reserveStep('bob', T0 + 7, NO_LIMITS);
      await sut.addTokens('bob', T0 + 8, 0);
      expect(await sut.usage('alice', T0 + 10)).toEqual({ steps: { hour: 3, day: 3 }, tokens: { hour: 1_234, day: 1_234 }, runningTasks: 0 });
      expect(await sut.usage('bob', T0 + 10)).toEqual({ steps: { hour: 1, day: 1 }, tokens: { hour: 0, day: 0 }, runningTasks: 0 });
      expect(await sut.usage('carol', T0 + 10)).toEqual({ steps: { hour: 0, day: 0 }, tokens: { hour: 0, day: 0 }, runningTasks: 0 });
    });

    it('refuses a step once the hour\'s steps are used up, naming the limit, the count and the hour\'s end; counts nothing; others go on', async () => {
      const sut = await one();
      const l = limits({ stepsHour: 2 });
      expect(await sut.reserveStep('alice', T0 + 1, l)).toEqual({ reserved: true });
      expect(await sut.reserveStep('alice', T0 + 2, l)).toEqual({ reserved: true });
      expect(await sut.reserveStep('alice', T0 + 3, l)).toEqual({ reserved: false, measure: 'steps', window: 'hour', used: 2, limit: 2, endsAt: T0 + HOUR });
      expect(await sut.reserveStep('alice', T0 + 4, l)).toMatchObject({ reserved: false, used: 2 });
      expect((await sut.usage('alice', T0 + 5)).steps).toEqual({ hour: 2, day: 2 });
      expect(await sut.reserveStep('bob', T0 + 6, l)).toEqual({ reserved: true });
    });

    it('refuses a step once the tokens reach their limit; tokens are added past it (they were spent), never refused', async () => {
      const sut = await one();
      const l = limits({ tokensHour: 1_000 });
      expect(await sut.reserveStep('alice', T0, l)).toEqual({ reserved: true });
      await sut.addTokens('alice', T0 + 1, 999);
      expect(await sut.reserveStep('alice', T0 + 2, l)).toEqual({ reserved: true });
      await sut.addTokens('alice', T0 + 3, 400);
      expect(await sut.reserveStep('alice', T0 + 4, l)).toEqual({ reserved: false, measure: 'tokens', window: 'hour', used: 1_399, limit: 1_000, endsAt: T0 + HOUR });
      expect((await sut.usage('alice', T0 + 5)).tokens).toEqual({ hour: 1_399, day: 1_399 });
    });

    it('names the day\'s limit before the hour\'s when both are reached, and steps before tokens', async () => {
      const sut = await one();
      await sut.reserveStep('alice', T0, NO_LIMITS);
      await sut.addTokens('alice', T0, 50);
      const dayEnd = windowsAt(T0).day.endsAt;
      expect(await sut.reserveStep('alice', T0 + 1, limits({ stepsHour: 1, stepsDay: 1, tokensHour: 10, tokensDay: 10 }))).toEqual({
        reserved: false, measure: 'steps', window: 'day', used: 1, limit: 1, endsAt: dayEnd,
      });
      expect(await sut.reserveStep('alice', T0 + 1, limits({ stepsHour: 1, tokensDay: 10 }))).toMatchObject({ measure: 'tokens', window: 'day', used: 50, limit: 10 });
      expect(await sut.reserveStep('alice', T0 + 1, limits({ stepsHour: 1, tokensHour: 10 }))).toMatchObject({ measure: 'steps', window: 'hour' });
    });

    it('starts every hour from zero, and every UTC day: the day\'s limit holds across the hours of one day', async () => {
      const sut = await one();
      const l = limits({ stepsHour: 2, stepsDay: 3 });
      await sut.reserveStep('alice', T0, l);
      await sut.reserveStep('alice', T0 + 1, l);
      await sut.addTokens('alice', T0 + 2, 70);
      expect(await sut.reserveStep('alice', T0 + HOUR - 1, l)).toMatchObject({ reserved: false, window: 'hour' });
      // The next hour: the hour's count is new, the day's goes on.
      expect(await sut.usage('alice', T0 + HOUR)).toEqual({ steps: { hour: 0, day: 2 }, tokens: { hour: 0, day: 70 }, runningTasks: 0 });
      expect(await sut.reserveStep('alice', T0 + HOUR, l)).toEqual({ reserved: true });
      const dayEnd = windowsAt(T0).day.endsAt;
      expect(await sut.reserveStep('alice', T0 + HOUR + 1, l)).toEqual({ reserved: false, measure: 'steps', window: 'day', used: 3, limit: 3, endsAt: dayEnd });
      // The next UTC day: everything is new.
      expect(await sut.usage('alice', dayEnd)).toEqual({ steps: { hour: 0, day: 0 }, tokens: { hour: 0, day: 0 }, runningTasks: 0 });
      expect(await sut.reserveStep('alice', dayEnd, l)).toEqual({ reserved: true });
      expect(dayEnd - T0).toBe(14 * HOUR);
      expect(windowsAt(dayEnd).day.endsAt).toBe(dayEnd + DAY);
    });

    it('never counts a step beyond a limit under concurrent steps from several replicas (randomized)', async () => {
      for (const seed of [3, 11, 2_024]) {
        const rnd = seededRandom(seed);
        const replicas = await harness().ledgers(3);
        const hourLimit = 3 + Math.floor(rnd() * 10);
        const l = limits({ stepsHour: hourLimit, stepsDay: 100 });
        const principals = ['p0', 'p1', 'p2'];
        const attempts = Array.from({ length: 60 }, (_, i) => ({ principal: principals[Math.floor(rnd() * 3)], ledger: replicas[Math.floor(rnd() * 3)], now: T0 + i }));
        const results = await Promise.all(attempts.map(async (a) => ({ ...a, r: await a.ledger.reserveStep(a.principal, a.now, l) })));
        for (const p of principals) {
          const asked = attempts.filter((a) => a.principal === p).length;
          const reserved = results.filter((x) => x.principal === p && x.r.reserved).length;
          const why = `seed ${seed}, ${p}, limit ${hourLimit}`;
          expect({ why, reserved }).toEqual({ why, reserved: Math.min(asked, hourLimit) });
          expect({ why, counted: (await replicas[1].usage(p, T0 + 100)).steps.hour }).toEqual({ why, counted: Math.min(asked, hourLimit) });
        }
      }
    });

    it('starts tasks up to the principal\'s limit, all of a call or none; ending one frees its place; others are not held back', async () => {
      const sut = await one();
      expect(await sut.startTasks('alice', ['a1'], T0, LEASE, 3)).toEqual({ started: true, running: 1 });
      expect(await sut.startTasks('alice', ['a2', 'a3', 'a4'], T0 + 1, LEASE, 3)).toEqual({ started: false, running: 1 });
      expect(await sut.startTasks('alice', ['a2', 'a3'], T0 + 2, LEASE, 3)).toEqual({ started: true, running: 3 });
      expect(await sut.startTasks('alice', ['a5'], T0 + 3, LEASE, 3)).toEqual({ started: false, running: 3 });
      expect(await sut.startTasks('bob', ['b1'], T0 + 4, LEASE, 3)).toEqual({ started: true, running: 1 });
      await sut.endTasks('alice', ['a2']);
      await sut.endTasks('alice', ['a2']);
      expect((await sut.usage('alice', T0 + 5)).runningTasks).toBe(2);
      expect(await sut.startTasks('alice', ['a5'], T0 + 6, LEASE, 3)).toEqual({ started: true, running: 3 });
      // Without a limit, tasks are still counted.
      expect(await sut.startTasks('carol', ['c1', 'c2', 'c3', 'c4'], T0 + 7, LEASE)).toEqual({ started: true, running: 4 });
    });

    it('a task whose lease ran out counts no more (its replica died); one renewed in time still counts', async () => {
      const sut = await one();
      await sut.startTasks('alice', ['renewed', 'abandoned'], T0, LEASE, 2);
      await sut.renewTasks('alice', ['renewed', 'never-started'], T0 + LEASE - 1, LEASE);
      expect((await sut.usage('alice', T0 + LEASE - 1)).runningTasks).toBe(2);
      expect((await sut.usage('alice', T0 + LEASE)).runningTasks).toBe(1);
      expect(await sut.startTasks('alice', ['next'], T0 + LEASE, LEASE, 2)).toEqual({ started: true, running: 2 });
      expect((await sut.usage('alice', T0 + 2 * LEASE - 1)).runningTasks).toBe(1);
      // A renewal does not bring back a task that ended.
      await sut.endTasks('alice', ['next']);
      await sut.renewTasks('alice', ['next'], T0 + 2 * LEASE - 1, LEASE);
      expect((await sut.usage('alice', T0 + 2 * LEASE - 1)).runningTasks).toBe(0);
    });

    it('never runs more tasks of a principal than its limit under concurrent starts from several replicas', async () => {
      const replicas = await harness().ledgers(3);
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => replicas[i % 3].startTasks('alice', [`t${i}`, `u${i}`], T0 + i, LEASE, 7)));
      // Two at a time: three calls fit (six tasks), a fourth would make eight.
      expect(results.filter((r) => r.started)).toHaveLength(3);
      expect((await replicas[0].usage('alice', T0 + 100)).runningTasks).toBe(6);
    });

    it('ranks the principals by each figure, the most first, with the total of all of them', async () => {
      const sut = await one();
      const steps: Record<string, number> = { alice: 5, bob: 2, carol: 9, dave: 2 };
      for (const [p, n] of Object.entries(steps)) for (let i = 0; i < n; i++) await sut.reserveStep(p, T0 + i, NO_LIMITS);
      await sut.addTokens('bob', T0, 700);
      await sut.addTokens('alice', T0 + HOUR, 100);
      await sut.startTasks('dave', ['d1', 'd2'], T0 + HOUR, LEASE);
      await sut.startTasks('bob', ['b1'], T0 + HOUR, LEASE);
      await sut.startTasks('erin', ['gone'], T0, LEASE);
      const top = await sut.top(T0 + HOUR + 1, 2);
      expect(top.steps.day).toEqual({ top: [{ principal: 'carol', value: 9 }, { principal: 'alice', value: 5 }], total: 18 });
      // Ties: the later name first.
      expect((await sut.top(T0 + HOUR + 1, 4)).steps.day.top.slice(2)).toEqual([{ principal: 'dave', value: 2 }, { principal: 'bob', value: 2 }]);
      expect(top.steps.hour).toEqual({ top: [], total: 0 });
      expect(top.tokens.day).toEqual({ top: [{ principal: 'bob', value: 700 }, { principal: 'alice', value: 100 }], total: 800 });
      expect(top.tokens.hour).toEqual({ top: [{ principal: 'alice', value: 100 }], total: 100 });
      expect(top.runningTasks).toEqual({ top: [{ principal: 'dave', value: 2 }, { principal: 'bob', value: 1 }], total: 3 });
      expect((await sut.top(T0 + HOUR + 1, 0)).steps.day).toEqual({ top: [], total: 18 });
    });

    it('keeps principals with any characters apart (colons, spaces, non-ASCII)', async () => {
      const sut = await one();
      const odd = ['a:b', 'a', 'zoë@example.com', 'x y'];
      for (const p of odd) await sut.startTasks(p, ['t:1'], T0, LEASE, 1);
      for (const p of odd) expect(await sut.startTasks(p, ['t:2'], T0 + 1, LEASE, 1)).toEqual({ started: false, running: 1 });
      await sut.reserveStep('a:b', T0, NO_LIMITS);
      expect((await sut.usage('a', T0)).steps.hour).toBe(0);
      expect((await sut.top(T0, 10)).runningTasks.top.map((x) => x.principal).sort()).toEqual([...odd].sort());
    });
  });
}

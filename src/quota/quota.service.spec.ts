import '../app.module';
import { CLUSTER_SETTINGS } from '../cluster/cluster.settings';
import { InMemoryQuotaLedger, QuotaLedger, RegistryUnavailableError } from '../cluster/cluster.module';
import { Clock } from '../common/clock';
import { DomainErrorCode } from '../common/domain-error';
import { Settings } from '../config/config.module';
import { QuotaExceededError } from './quota.errors';
import { QuotaService } from './quota.service';
import { QUOTA_SETTINGS } from './quota.settings';

/** A FAKE clock the test moves by hand. */
class FakeClock extends Clock {
  constructor(public t: number) {
    super();
  }
  now() {
    return this.t;
  }
}

/** A FAKE ledger that cannot be reached (Redis away): every call fails with REGISTRY_UNAVAILABLE. */
class UnreachableLedger extends QuotaLedger {
  private fail(): never {
    throw new RegistryUnavailableError('127.0.0.1:6379', 'the connection is down and the server is reconnecting');
  }
  async reserveStep(): Promise<never> {
    this.fail();
  }
  async addTokens(): Promise<never> {
    this.fail();
  }
  async startTasks(): Promise<never> {
    this.fail();
  }
  async renewTasks(): Promise<never> {
    this.fail();
  }
  async endTasks(): Promise<never> {
    this.fail();
  }
  async usage(): Promise<never> {
    this.fail();
  }
  async top(): Promise<never> {
    this.fail();
  }
}

const HOUR = 3_600_000;
/** 2027-03-04T22:40:00.000Z: 20 minutes before an hour ends, 80 before the UTC day does. */
const T0 = Date.UTC(2027, 2, 4, 22, 40);
const LEASE = 15_000;

function setup(env: Record<string, string>, ledger: QuotaLedger = new InMemoryQuotaLedger()) {
  const settings = Settings.load({ ...env, REPLICA_LEASE_MS: String(LEASE) });
  const clock = new FakeClock(T0);
  const sut = new QuotaService(settings.get(QUOTA_SETTINGS), settings.get(CLUSTER_SETTINGS), ledger, clock);
  const exceeded: [QuotaExceededError, string][] = [];
  sut.events.on('exceeded', (e, stage) => exceeded.push([e, stage]));
  return { sut, clock, ledger, exceeded };
}

/** Runs `n` steps of a task of `principal` through a fresh admission's budget; returns how many ran. */
async function steps(sut: QuotaService, principal: string, n: number, tokensEach = 0): Promise<number> {
  const admission = await sut.admitTasks(principal, 1);
  try {
    for (let step = 1; step <= n; step++) {
      await admission.budget.beforeStep(step);
      await admission.budget.spent({ inputTokens: tokensEach, outputTokens: 0 });
    }
    return n;
  } finally {
    await admission.close();
  }
}

describe(QuotaService.name, () => {
  afterEach(() => jest.useRealTimers());

  it('refuses a task call once the hour\'s steps are used up, saying the figure, the limit and when to retry; admits again once the hour has passed', async () => {
    const { sut, clock, exceeded } = setup({ QUOTA_STEPS_PER_HOUR: '3' });
    expect(await steps(sut, 'alice', 3)).toBe(3);
    clock.t = T0 + 5 * 60_000;
    const refused = await sut.admitTasks('alice', 1).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(QuotaExceededError);
    expect(refused).toMatchObject({
      code: DomainErrorCode.QUOTA_EXCEEDED,
      quota: 'steps',
      window: 'hour',
      used: 3,
      limit: 3,
      setting: 'QUOTA_STEPS_PER_HOUR',
      retryAt: new Date('2027-03-04T23:00:00.000Z'),
      retryAfterSeconds: 900,
      message: 'You have used 3 of your 3 agent steps this hour (QUOTA_STEPS_PER_HOUR). Retry after 2027-03-04T23:00:00.000Z (in 900 s), when the hour ends.',
    });
    expect(exceeded.map(([e, stage]) => [e.quota, e.window, stage])).toEqual([['steps', 'hour', 'refused']]);
    // Another principal's quota is its own.
    expect(await steps(sut, 'bob', 3)).toBe(3);
    // One millisecond before the hour ends: still refused, retry in 1 s.
    clock.t = Date.UTC(2027, 2, 4, 23) - 1;
    await expect(sut.admitTasks('alice', 1)).rejects.toMatchObject({ retryAfterSeconds: 1 });
    clock.t = Date.UTC(2027, 2, 4, 23);
    expect(await steps(sut, 'alice', 3)).toBe(3);
  });

  it('the day\'s steps hold across hours and reset at midnight UTC', async () => {
    const { sut, clock } = setup({ QUOTA_STEPS_PER_HOUR: '4', QUOTA_STEPS_PER_DAY: '6' });
    expect(await steps(sut, 'alice', 4)).toBe(4);
    clock.t = T0 + HOUR;
    const admission = await sut.admitTasks('alice', 1);
    await admission.budget.beforeStep(1);
    await admission.budget.beforeStep(2);
    const stopped = await admission.budget.beforeStep(3).catch((e: unknown) => e);
    await admission.close();
    expect(stopped).toMatchObject({
      window: 'day',
      message: 'The task was stopped before step 3: You have used 6 of your 6 agent steps this day (UTC) (QUOTA_STEPS_PER_DAY). Retry after 2027-03-05T00:00:00.000Z (in 1200 s), when the day ends.',
    });
    clock.t = Date.UTC(2027, 2, 5);
    expect(await steps(sut, 'alice', 4)).toBe(4);
  });

  it('a running task stops before the step that would go past the steps, and the event says it was stopped', async () => {
    const { sut, exceeded } = setup({ QUOTA_STEPS_PER_HOUR: '5' });
    const first = await sut.admitTasks('alice', 1);
    const second = await sut.admitTasks('alice', 1);
    for (const step of [1, 2, 3]) await first.budget.beforeStep(step);
    await second.budget.beforeStep(1);
    await second.budget.beforeStep(2);
    await expect(first.budget.beforeStep(4)).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED', message: expect.stringMatching(/^The task was stopped before step 4: You have used 5 of your 5 agent steps this hour/) });
    expect(exceeded.map(([, stage]) => stage)).toEqual(['stopped']);
    await first.close();
    await second.close();
  });

  it('tokens: counted after each step, and a step is not started once they reached the limit; the next hour starts from zero', async () => {
    const { sut, clock } = setup({ QUOTA_TOKENS_PER_HOUR: '1000' });
    const admission = await sut.admitTasks('alice', 1);
    await admission.budget.beforeStep(1);
    await admission.budget.spent({ inputTokens: 600, outputTokens: 50 });
    await admission.budget.beforeStep(2);
    await admission.budget.spent({ inputTokens: 700, outputTokens: 60 });
    await expect(admission.budget.beforeStep(3)).rejects.toMatchObject({
      quota: 'tokens',
      used: 1410,
      limit: 1000,
      message: expect.stringMatching(/^The task was stopped before step 3: You have used 1410 of your 1000 model tokens \(input \+ output\) this hour \(QUOTA_TOKENS_PER_HOUR\)\. Retry after 2027-03-04T23:00:00\.000Z \(in 1200 s\)/),
    });
    await admission.close();
    await expect(sut.admitTasks('alice', 1)).rejects.toMatchObject({ quota: 'tokens', window: 'hour' });
    clock.t = T0 + 20 * 60_000;
    expect(await steps(sut, 'alice', 2, 100)).toBe(2);
  });

  it('get_session_stats figures: the caller\'s usage and limits in this hour and day, when each resets, and its running tasks', async () => {
    const { sut, clock } = setup({ MAX_TASKS_PER_PRINCIPAL: '2', QUOTA_STEPS_PER_DAY: '100', QUOTA_TOKENS_PER_HOUR: '5000' });
    await steps(sut, 'alice', 2, 300);
    clock.t = T0 + HOUR;
    await steps(sut, 'alice', 1, 40);
    const running = await sut.admitTasks('alice', 2);
    expect(await sut.figures('alice')).toEqual({
      tasks: { running: 2, limit: 2 },
      steps: {
        hour: { used: 1, limit: null, resetsAt: new Date('2027-03-05T00:00:00.000Z') },
        day: { used: 3, limit: 100, resetsAt: new Date('2027-03-05T00:00:00.000Z') },
      },
      tokens: {
        hour: { used: 40, limit: 5000, resetsAt: new Date('2027-03-05T00:00:00.000Z') },
        day: { used: 640, limit: null, resetsAt: new Date('2027-03-05T00:00:00.000Z') },
      },
    });
    await running.close();
    expect((await sut.figures('alice')).tasks).toEqual({ running: 0, limit: 2 });
    expect((await sut.figures('bob')).steps.day.used).toBe(0);
  });

  it('keeps a long call\'s tasks counted by renewing their leases, a third of REPLICA_LEASE_MS apart, until it is closed', async () => {
    jest.useFakeTimers({ now: T0 });
    const { sut, clock } = setup({ MAX_TASKS_PER_PRINCIPAL: '1' });
    const admission = await sut.admitTasks('alice', 1);
    for (let i = 0; i < 6; i++) {
      clock.t += LEASE / 3;
      await jest.advanceTimersByTimeAsync(LEASE / 3);
    }
    // Two leases later the task still holds the principal's one place.
    await expect(sut.admitTasks('alice', 1)).rejects.toMatchObject({ quota: 'tasks', used: 1 });
    await admission.close();
    await (await sut.admitTasks('alice', 1)).close();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('with no limit set, usage is still counted, and a ledger that cannot be reached does not stop tasks', async () => {
    const counted = setup({});
    expect(await steps(counted.sut, 'alice', 3, 10)).toBe(3);
    expect((await counted.sut.figures('alice')).tokens.hour).toMatchObject({ used: 30, limit: null });
    const { sut } = setup({}, new UnreachableLedger());
    expect(await steps(sut, 'alice', 3, 10)).toBe(3);
  });

  it('with a limit set, a ledger that cannot be reached stops the call: the quota cannot be checked', async () => {
    const { sut } = setup({ QUOTA_TOKENS_PER_DAY: '1000' }, new UnreachableLedger());
    await expect(sut.admitTasks('alice', 1)).rejects.toMatchObject({ code: DomainErrorCode.REGISTRY_UNAVAILABLE });
    const tasksOnly = setup({ MAX_TASKS_PER_PRINCIPAL: '3' }, new UnreachableLedger());
    await expect(tasksOnly.sut.admitTasks('alice', 1)).rejects.toMatchObject({ code: DomainErrorCode.REGISTRY_UNAVAILABLE });
  });
});

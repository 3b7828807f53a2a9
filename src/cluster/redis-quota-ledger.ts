import { Injectable } from '@nestjs/common';
import { RedisConnection } from './redis-connection';
import { REGISTRY_PREFIX } from './redis-session-registry';
import {
  byValue,
  checkLedgerNumbers,
  LIMIT_ORDER,
  type PrincipalUsage,
  QuotaLedger,
  type Ranking,
  type StepReservation,
  type TaskStart,
  type UsageLimits,
  type UsageTop,
  WINDOW_GRACE_MS,
  windowsAt,
} from './quota-ledger';

const Q = `${REGISTRY_PREFIX}q:`;
const ALL_TASKS = `${Q}tasks`;
const pp = (principal: string) => encodeURIComponent(principal);
const tasksKey = (principal: string) => `${Q}t:${pp(principal)}`;

/** The keys of the windows `now` falls in (quota-ledger.scripts.ts), in the order limits are checked, and their time to live. */
function windowKeys(now: number) {
  const { hour, day } = windowsAt(now);
  const d = day.index;
  const h = hour.index;
  return {
    /** steps day, tokens day, steps hour, tokens hour: LIMIT_ORDER. */
    counts: [`${Q}steps:d:${d}`, `${Q}tokens:d:${d}`, `${Q}steps:h:${h}`, `${Q}tokens:h:${h}`],
    sums: [`${Q}sum:d:${d}`, `${Q}sum:h:${h}`],
    ttl: [String(day.endsAt + WINDOW_GRACE_MS - now), String(hour.endsAt + WINDOW_GRACE_MS - now)],
    endsAt: { day: day.endsAt, hour: hour.endsAt },
  };
}

const num = (s: string | undefined, what: string): number => {
  const n = Number(s);
  if (!Number.isFinite(n)) throw new Error(`The quota ledger on Redis answered ${JSON.stringify(s)} for ${what}`);
  return n;
};

/**
 * The quota ledger on Redis (REDIS_URL): shared by every replica. Each change is one Lua script
 * (quota-ledger.scripts.ts), so the steps and task starts of several replicas never interleave. While Redis is away
 * every method fails at once with REGISTRY_UNAVAILABLE (RedisConnection.call).
 */
@Injectable()
export class RedisQuotaLedger extends QuotaLedger {
  constructor(private readonly redis: RedisConnection) {
    super();
  }

  async reserveStep(principal: string, now: number, limits: UsageLimits): Promise<StepReservation> {
    checkLedgerNumbers({ now });
    const w = windowKeys(now);
    const limitArgs = LIMIT_ORDER.map(([measure, window]) => String(limits[measure][window] ?? -1));
    const reply = await this.redis.call((c) => c.quotaReserveStep([...w.counts, ...w.sums], [principal, ...limitArgs, ...w.ttl]));
    if (reply.length === 0) return { reserved: true };
    const [measure, window] = LIMIT_ORDER[num(reply[0], 'the limit reached') - 1];
    return { reserved: false, measure, window, used: num(reply[1], 'the count'), limit: num(reply[2], 'the limit'), endsAt: w.endsAt[window] };
  }

  async addTokens(principal: string, now: number, tokens: number): Promise<void> {
    checkLedgerNumbers({ now, tokens });
    if (tokens === 0) return;
    const w = windowKeys(now);
    await this.redis.call((c) => c.quotaAddTokens([w.counts[1], w.counts[3], ...w.sums], [principal, String(tokens), ...w.ttl]));
  }

  async startTasks(principal: string, ids: readonly string[], now: number, leaseMs: number, max?: number): Promise<TaskStart> {
    checkLedgerNumbers({ now, leaseMs, max });
    const args = [String(now), String(now + leaseMs), String(max ?? -1), String(Math.max(1, leaseMs)), pp(principal), ...ids];
    const [started, running] = await this.redis.call((c) => c.quotaStartTasks([tasksKey(principal), ALL_TASKS], args));
    return { started: started === '1', running: num(running, 'the running tasks') };
  }

  async renewTasks(principal: string, ids: readonly string[], now: number, leaseMs: number): Promise<void> {
    checkLedgerNumbers({ now, leaseMs });
    if (ids.length === 0) return;
    await this.redis.call((c) => c.quotaRenewTasks([tasksKey(principal), ALL_TASKS], [String(now + leaseMs), String(Math.max(1, leaseMs)), pp(principal), ...ids]));
  }

  async endTasks(principal: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.redis.call((c) => c.quotaEndTasks([tasksKey(principal), ALL_TASKS], [pp(principal), ...ids]));
  }

  async usage(principal: string, now: number): Promise<PrincipalUsage> {
    checkLedgerNumbers({ now });
    const w = windowKeys(now);
    const r = await this.redis.call((c) => c.quotaUsage([...w.counts, tasksKey(principal), ALL_TASKS], [principal, String(now), pp(principal)]));
    const [stepsDay, tokensDay, stepsHour, tokensHour, running] = r.map((s) => num(s, 'a count'));
    return { steps: { hour: stepsHour, day: stepsDay }, tokens: { hour: tokensHour, day: tokensDay }, runningTasks: running };
  }

  async top(now: number, n: number): Promise<UsageTop> {
    checkLedgerNumbers({ now, n });
    const w = windowKeys(now);
    const r = await this.redis.call((c) => c.quotaTop([...w.counts, ...w.sums, ALL_TASKS], [String(n), String(now), REGISTRY_PREFIX]));
    const totals = (r[4] ?? []).map((s) => num(s, 'a total'));
    const ranking = (i: number): Ranking => {
      const flat = r[i] ?? [];
      const top: { principal: string; value: number }[] = [];
      for (let j = 0; j + 1 < flat.length; j += 2) top.push({ principal: flat[j], value: num(flat[j + 1], 'a count') });
      return { top: top.filter((x) => x.value > 0), total: totals[i] ?? 0 };
    };
    const running = new Map<string, number>();
    for (const member of r[5] ?? []) {
      const principal = decodeURIComponent(member.slice(0, member.indexOf(':')));
      running.set(principal, (running.get(principal) ?? 0) + 1);
    }
    const tasks = [...running].map(([principal, value]) => ({ principal, value })).sort(byValue);
    return {
      steps: { day: ranking(0), hour: ranking(2) },
      tokens: { day: ranking(1), hour: ranking(3) },
      runningTasks: { top: tasks.slice(0, n), total: (r[5] ?? []).length },
    };
  }
}


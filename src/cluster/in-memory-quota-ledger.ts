import { Injectable } from '@nestjs/common';
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
  type UsageMeasure,
  type UsageTop,
  type UsageWindow,
  USAGE_WINDOWS,
  WINDOW_GRACE_MS,
  windowsAt,
} from './quota-ledger';

type Counts = Record<UsageMeasure, number>;

/**
 * The quota ledger in this process's memory: the embedded default, for one server. Every method runs to completion
 * without awaiting anything, so each change is atomic among this process's callers. A window's counts are dropped
 * WINDOW_GRACE_MS after it ended, as Redis expires them.
 */
@Injectable()
export class InMemoryQuotaLedger extends QuotaLedger {
  /** Per window (`hour:<index>`, `day:<index>`): when it ends and each principal's counts in it. */
  private readonly windows = new Map<string, { endsAt: number; counts: Map<string, Counts> }>();
  /** Each principal's running tasks: id → lease expiry. */
  private readonly tasks = new Map<string, Map<string, number>>();

  async reserveStep(principal: string, now: number, limits: UsageLimits): Promise<StepReservation> {
    checkLedgerNumbers({ now });
    const at = windowsAt(now);
    for (const [measure, window] of LIMIT_ORDER) {
      const limit = limits[measure][window];
      if (limit === undefined) continue;
      const used = this.countsOf(principal, window, now)[measure];
      if (used >= limit) return { reserved: false, measure, window, used, limit, endsAt: at[window].endsAt };
    }
    for (const window of USAGE_WINDOWS) this.add(principal, window, now, 'steps', 1);
    return { reserved: true };
  }

  async addTokens(principal: string, now: number, tokens: number): Promise<void> {
    checkLedgerNumbers({ now, tokens });
    if (tokens === 0) return;
    for (const window of USAGE_WINDOWS) this.add(principal, window, now, 'tokens', tokens);
  }

  async startTasks(principal: string, ids: readonly string[], now: number, leaseMs: number, max?: number): Promise<TaskStart> {
    checkLedgerNumbers({ now, leaseMs, max });
    const running = this.running(principal, now);
    const count = running?.size ?? 0;
    if (max !== undefined && count + ids.length > max) return { started: false, running: count };
    const mine = running ?? new Map<string, number>();
    for (const id of ids) mine.set(id, now + leaseMs);
    this.tasks.set(principal, mine);
    return { started: true, running: mine.size };
  }

  async renewTasks(principal: string, ids: readonly string[], now: number, leaseMs: number): Promise<void> {
    checkLedgerNumbers({ now, leaseMs });
    const mine = this.tasks.get(principal);
    for (const id of ids) if (mine?.has(id)) mine.set(id, now + leaseMs);
  }

  async endTasks(principal: string, ids: readonly string[]): Promise<void> {
    const mine = this.tasks.get(principal);
    if (!mine) return;
    for (const id of ids) mine.delete(id);
    if (mine.size === 0) this.tasks.delete(principal);
  }

  async usage(principal: string, now: number): Promise<PrincipalUsage> {
    checkLedgerNumbers({ now });
    const hour = this.countsOf(principal, 'hour', now);
    const day = this.countsOf(principal, 'day', now);
    return { steps: { hour: hour.steps, day: day.steps }, tokens: { hour: hour.tokens, day: day.tokens }, runningTasks: this.running(principal, now)?.size ?? 0 };
  }

  async top(now: number, n: number): Promise<UsageTop> {
    checkLedgerNumbers({ now, n });
    const rank = (values: Iterable<[string, number]>): Ranking => {
      const all = [...values].filter(([, v]) => v > 0).map(([principal, value]) => ({ principal, value }));
      return { top: all.sort(byValue).slice(0, n), total: all.reduce((sum, x) => sum + x.value, 0) };
    };
    const inWindow = (window: UsageWindow, measure: UsageMeasure) => {
      return rank([...this.current(window, now)].map(([p, c]): [string, number] => [p, c[measure]]));
    };
    for (const p of [...this.tasks.keys()]) this.running(p, now);
    return {
      steps: { hour: inWindow('hour', 'steps'), day: inWindow('day', 'steps') },
      tokens: { hour: inWindow('hour', 'tokens'), day: inWindow('day', 'tokens') },
      runningTasks: rank([...this.tasks].map(([p, ids]): [string, number] => [p, ids.size])),
    };
  }

  /** The principal's running tasks, those whose lease ran out by `now` dropped; undefined when it has none. */
  private running(principal: string, now: number): Map<string, number> | undefined {
    const mine = this.tasks.get(principal);
    if (!mine) return undefined;
    for (const [id, expiry] of mine) if (expiry <= now) mine.delete(id);
    if (mine.size === 0) {
      this.tasks.delete(principal);
      return undefined;
    }
    return mine;
  }

  /** The window of that kind `now` falls in; windows that ended more than WINDOW_GRACE_MS before `now` are dropped. */
  private current(window: UsageWindow, now: number): Map<string, Counts> {
    for (const [key, w] of this.windows) if (w.endsAt + WINDOW_GRACE_MS <= now) this.windows.delete(key);
    const at = windowsAt(now)[window];
    const key = `${window}:${at.index}`;
    let w = this.windows.get(key);
    if (!w) {
      w = { endsAt: at.endsAt, counts: new Map() };
      this.windows.set(key, w);
    }
    return w.counts;
  }

  private countsOf(principal: string, window: UsageWindow, now: number): Counts {
    return this.current(window, now).get(principal) ?? { steps: 0, tokens: 0 };
  }

  private add(principal: string, window: UsageWindow, now: number, measure: UsageMeasure, n: number) {
    const counts = this.current(window, now);
    const mine = counts.get(principal) ?? { steps: 0, tokens: 0 };
    mine[measure] += n;
    counts.set(principal, mine);
  }
}

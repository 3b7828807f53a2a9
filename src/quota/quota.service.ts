import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Clock } from '../common/clock';
import { errorMessage } from '../common/domain-error';
import { CLUSTER_SETTINGS, type ClusterSettings } from '../cluster/cluster.settings';
import { LIMIT_ORDER, NO_LIMITS, QuotaLedger, type PrincipalUsage, type StepReservation, type TaskStart, type UsageLimits, type UsageTop, windowsAt } from '../cluster/cluster.module';
import { InjectSettings } from '../config/config.module';
import { QuotaExceededError, type QuotaWindow } from './quota.errors';
import { QUOTA_SETTINGS, type QuotaSettings } from './quota.settings';

/** How often ledger failures are said while they last (each step would say it again). */
const WARN_EVERY_MS = 60_000;

/** What the agent loop asks before each step of a task and tells after it (AgentRunOptions.budget). */
export interface StepBudget {
  /** Resolves when the step may run; throws QUOTA_EXCEEDED (or REGISTRY_UNAVAILABLE) when it may not. */
  beforeStep(step: number): Promise<void>;
  /** The tokens the model reported for the step just taken. Never throws. */
  spent(usage: { inputTokens: number; outputTokens: number }): Promise<void>;
}

/** A quota was reached: a call refused before it started (`refused`), or a task stopped before its next step (`stopped`). */
export interface QuotaEvents {
  exceeded: [error: QuotaExceededError, stage: 'refused' | 'stopped'];
}

/** One window's figure for a principal: what it used, its limit (null: none), and when the window ends. */
export interface WindowFigure {
  used: number;
  limit: number | null;
  resetsAt: Date;
}

/** A principal's quotas and figures now (get_session_stats). */
export interface QuotaFigures {
  tasks: { running: number; limit: number | null };
  steps: Record<QuotaWindow, WindowFigure>;
  tokens: Record<QuotaWindow, WindowFigure>;
}

/**
 * The quotas per principal (issue #18): its agent tasks running at once (MAX_TASKS_PER_PRINCIPAL) and its agent steps
 * and model tokens per UTC hour and day (QUOTA_*), counted in the QuotaLedger, which replicas share with REDIS_URL.
 *
 * A task call is admitted (admitTasks) before it starts anything: its tasks take their places among the principal's
 * running tasks, and the step and token limits are checked. Each task then asks its admission's budget before every
 * step (the ledger checks every limit and counts the step in one atomic step) and tells it the tokens afterwards, so
 * a task that runs over a quota stops before its next step with the progress it made.
 *
 * Usage is counted with no limit set too (get_session_stats and the metrics show it); then a ledger that cannot be
 * reached (Redis away) is said and does not stop tasks. With a limit set it does: the quota cannot be checked.
 * Operators (sessions:admin) have the same quotas as everyone: their calls cost the same.
 */
@Injectable()
export class QuotaService {
  private readonly logger = new Logger('Quotas');
  readonly events = new EventEmitter<QuotaEvents>();
  private readonly limits: UsageLimits;
  /** Whether any step or token limit is set: then a ledger failure stops a step rather than going uncounted. */
  private readonly enforced: boolean;
  private lastWarnAt = -Infinity;

  constructor(
    @InjectSettings(QUOTA_SETTINGS) private readonly settings: QuotaSettings,
    @InjectSettings(CLUSTER_SETTINGS) private readonly cluster: Pick<ClusterSettings, 'replicaLeaseMs'>,
    private readonly ledger: QuotaLedger,
    private readonly clock: Clock,
  ) {
    this.limits = settings.limits;
    this.enforced = LIMIT_ORDER.some(([measure, window]) => settings.limits[measure][window] !== undefined);
  }

  /**
   * Admits a call of the principal that runs `atOnce` agent tasks at the same time, or refuses it with
   * QUOTA_EXCEEDED before it starts anything: when its steps or tokens are used up in this hour or day, or when its
   * tasks would be more than MAX_TASKS_PER_PRINCIPAL. The admission holds the tasks' places until it is closed.
   */
  async admitTasks(principal: string, atOnce: number): Promise<TaskAdmission> {
    const now = this.clock.now();
    if (this.enforced) {
      const usage = await this.ledger.usage(principal, now);
      const over = overLimit(usage, this.limits, now);
      if (over) this.exceeded(QuotaExceededError.usage(over, now), 'refused');
    }
    const ids = Array.from({ length: atOnce }, () => randomUUID());
    const max = this.settings.maxTasks;
    const leaseMs = this.cluster.replicaLeaseMs;
    let started: TaskStart;
    try {
      started = await this.ledger.startTasks(principal, ids, now, leaseMs, max);
    } catch (e) {
      if (max !== undefined) throw e;
      // Without a limit the tasks are only counted: a ledger that cannot count them does not stop them.
      this.warn(`Could not count ${principal}'s agent tasks`, e);
      return new TaskAdmission(principal, [], this, leaseMs);
    }
    if (!started.started) this.exceeded(QuotaExceededError.tasks(started.running, atOnce, max ?? 0), 'refused');
    return new TaskAdmission(principal, ids, this, leaseMs);
  }

  /** The principal's figures and limits now. */
  async figures(principal: string): Promise<QuotaFigures> {
    const now = this.clock.now();
    const usage = await this.ledger.usage(principal, now);
    const at = windowsAt(now);
    const figure = (measure: 'steps' | 'tokens', window: QuotaWindow): WindowFigure => ({
      used: usage[measure][window],
      limit: this.limits[measure][window] ?? null,
      resetsAt: new Date(at[window].endsAt),
    });
    return {
      tasks: { running: usage.runningTasks, limit: this.settings.maxTasks ?? null },
      steps: { hour: figure('steps', 'hour'), day: figure('steps', 'day') },
      tokens: { hour: figure('tokens', 'hour'), day: figure('tokens', 'day') },
    };
  }

  /** For the metrics: the principals with the most of each figure now (QUOTA_METRICS_PRINCIPALS of them), and the totals. */
  top(): Promise<UsageTop> {
    return this.ledger.top(this.clock.now(), this.settings.metricsPrincipals);
  }

  /** The limits set, for the metrics. */
  configured(): { maxTasks?: number; limits: UsageLimits } {
    return { maxTasks: this.settings.maxTasks, limits: this.limits };
  }

  /** @internal The budget of one task of an admission. */
  budgetFor(principal: string): StepBudget {
    return {
      beforeStep: async (step) => {
        const now = this.clock.now();
        let r: StepReservation;
        try {
          r = await this.ledger.reserveStep(principal, now, this.enforced ? this.limits : NO_LIMITS);
        } catch (e) {
          if (this.enforced) throw e;
          this.warn(`Could not count a step of ${principal}`, e);
          return;
        }
        if (!r.reserved) this.exceeded(QuotaExceededError.usage(r, now, step > 1 ? step : undefined), step > 1 ? 'stopped' : 'refused');
      },
      spent: async (usage) => {
        const tokens = usage.inputTokens + usage.outputTokens;
        if (!(tokens > 0)) return;
        // Spent already: a ledger that cannot count them now does not undo the step, and the next check says the rest.
        await this.ledger.addTokens(principal, this.clock.now(), Math.round(tokens)).catch((e: unknown) => this.warn(`Could not count ${tokens} tokens of ${principal}`, e));
      },
    };
  }

  /** @internal Renews the leases of an admission's running tasks. */
  async renew(principal: string, ids: readonly string[], leaseMs: number): Promise<void> {
    await this.ledger.renewTasks(principal, ids, this.clock.now(), leaseMs).catch((e: unknown) => this.warn(`Could not renew ${principal}'s running tasks`, e));
  }

  /** @internal An admission's tasks ended. */
  async end(principal: string, ids: readonly string[]): Promise<void> {
    // Should the ledger not answer, their leases run out by themselves.
    await this.ledger.endTasks(principal, ids).catch((e: unknown) => this.warn(`Could not end ${principal}'s tasks in the quota ledger (their leases run out by themselves)`, e));
  }

  private exceeded(e: QuotaExceededError, stage: 'refused' | 'stopped'): never {
    this.events.emit('exceeded', e, stage);
    throw e;
  }

  private warn(what: string, e: unknown) {
    const now = Date.now();
    if (now - this.lastWarnAt < WARN_EVERY_MS) return;
    this.lastWarnAt = now;
    this.logger.warn(`${what}: ${errorMessage(e)}`);
  }
}

/** The first limit `usage` has reached, in the ledger's order (the day's first), or undefined. */
function overLimit(usage: PrincipalUsage, limits: UsageLimits, now: number) {
  const at = windowsAt(now);
  for (const [measure, window] of LIMIT_ORDER) {
    const limit = limits[measure][window];
    const used = usage[measure][window];
    if (limit !== undefined && used >= limit) return { measure, window, used, limit, endsAt: at[window].endsAt };
  }
  return undefined;
}

/**
 * An admitted task call: its tasks' places among the principal's running tasks (leases renewed while it runs, a
 * third of REPLICA_LEASE_MS apart) and the budget its tasks ask before each step. Whoever admitted the call closes
 * it when the call ends; a call whose tasks run at once frees each task's place as that task ends (taskDone).
 */
export class TaskAdmission {
  /** The budget each task of the call asks before each step (AgentRunOptions.budget). */
  readonly budget: StepBudget;
  private readonly held: string[];
  private readonly timer?: NodeJS.Timeout;

  constructor(
    readonly principal: string,
    ids: readonly string[],
    private readonly quotas: QuotaService,
    leaseMs: number,
  ) {
    this.held = [...ids];
    this.budget = quotas.budgetFor(principal);
    if (this.held.length) {
      this.timer = setInterval(() => void quotas.renew(principal, this.held, leaseMs), Math.max(100, Math.floor(leaseMs / 3)));
      this.timer.unref();
    }
  }

  /** One task of the call ended: its place is free for the principal's next task. */
  taskDone(): void {
    const id = this.held.pop();
    if (id !== undefined) void this.quotas.end(this.principal, [id]);
    if (!this.held.length) clearInterval(this.timer);
  }

  /** The call ended: every place it still holds is freed. Idempotent. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    const ids = this.held.splice(0);
    if (ids.length) await this.quotas.end(this.principal, ids);
  }
}

/** What a principal's agent work is measured in: steps (model calls) and model tokens (input + output). */
export type UsageMeasure = 'steps' | 'tokens';
/** The windows usage is counted in: the current UTC clock hour and the current UTC day. */
export type UsageWindow = 'hour' | 'day';

export const USAGE_MEASURES: readonly UsageMeasure[] = ['steps', 'tokens'];
export const USAGE_WINDOWS: readonly UsageWindow[] = ['hour', 'day'];

/** How long a window's counts are kept after it ended (for a clock a little behind another replica's), then dropped. */
export const WINDOW_GRACE_MS = 60_000;

const WINDOW_MS: Readonly<Record<UsageWindow, number>> = { hour: 3_600_000, day: 86_400_000 };

/** One window at a moment: its kind, its number since the epoch (the key of its counts) and when it began and ends (ms since the epoch). */
export interface WindowAt {
  readonly window: UsageWindow;
  readonly index: number;
  readonly startsAt: number;
  readonly endsAt: number;
}

/**
 * The hour and the day `now` falls in. Windows are fixed and aligned to UTC (an hour from :00 to :00, a day from
 * midnight to midnight UTC): every replica computes the same window from the same time, its end is the moment a
 * refused caller may retry, and a count needs one number per principal and window, not a log of events.
 */
export function windowsAt(now: number): Record<UsageWindow, WindowAt> {
  const at = (window: UsageWindow): WindowAt => {
    const ms = WINDOW_MS[window];
    const index = Math.floor(now / ms);
    return { window, index, startsAt: index * ms, endsAt: (index + 1) * ms };
  };
  return { hour: at('hour'), day: at('day') };
}

/** Limits per measure and window; undefined: no limit (the usage is still counted). */
export type UsageLimits = Readonly<Record<UsageMeasure, Readonly<Partial<Record<UsageWindow, number>>>>>;

export const NO_LIMITS: UsageLimits = { steps: {}, tokens: {} };

/** A principal's counts in the windows `now` falls in. */
export interface PrincipalUsage {
  readonly steps: Readonly<Record<UsageWindow, number>>;
  readonly tokens: Readonly<Record<UsageWindow, number>>;
  /** Agent tasks of the principal running now (their leases hold). */
  readonly runningTasks: number;
}

export type StepReservation =
  | { readonly reserved: true }
  /** A limit is reached: which one, the principal's count in that window, the limit, and when the window ends. */
  | { readonly reserved: false; readonly measure: UsageMeasure; readonly window: UsageWindow; readonly used: number; readonly limit: number; readonly endsAt: number };

export type TaskStart =
  | { readonly started: true; readonly running: number }
  /** The principal already runs `running` tasks: one more than `max` would be too many. */
  | { readonly started: false; readonly running: number };

/** The principals with the most of one figure, the most first, and the figure of all principals together. */
export interface Ranking {
  readonly top: readonly { readonly principal: string; readonly value: number }[];
  readonly total: number;
}

/** For metrics: the top principals of each figure now. */
export interface UsageTop {
  readonly steps: Readonly<Record<UsageWindow, Ranking>>;
  readonly tokens: Readonly<Record<UsageWindow, Ranking>>;
  readonly runningTasks: Ranking;
}

/**
 * The quota ledger (port): what principals' agent work has used, and which agent tasks run now, shared by every
 * replica of the server the way the session registry is. Every change is atomic, also between replicas:
 * `reserveStep` checks every limit and counts the step in one step, so concurrent steps never exceed a step limit;
 * `startTasks` checks the principal's running tasks and records the new ones in one step.
 *
 * Counts are kept per fixed window (windowsAt): a new hour starts from zero, and a window's counts disappear some
 * time after it ended. Running tasks hold a lease (`now + leaseMs`) that their replica renews while they run, so
 * a replica that dies stops holding its principals' places once its leases run out.
 *
 * Backends: InMemoryQuotaLedger (one process) and RedisQuotaLedger (REDIS_URL, several replicas). A backend that
 * cannot be reached fails at once with REGISTRY_UNAVAILABLE.
 */
export abstract class QuotaLedger {
  /**
   * Counts one step of the principal in the hour and the day of `now` when no limit is reached: every step and
   * token limit is checked against the counts before this step. A refusal names the limit, the day's before the
   * hour's (its window ends later), steps before tokens; it counts nothing.
   */
  abstract reserveStep(principal: string, now: number, limits: UsageLimits): Promise<StepReservation>;

  /** Adds tokens a model reported to the principal's hour and day of `now`: never refused (they are spent already). */
  abstract addTokens(principal: string, now: number, tokens: number): Promise<void>;

  /**
   * Records the principal's tasks `ids` as running until `now + leaseMs` when, with them, it would run at most
   * `max` (undefined: no limit): all of them or none. Tasks whose lease ran out by `now` count no more.
   */
  abstract startTasks(principal: string, ids: readonly string[], now: number, leaseMs: number, max?: number): Promise<TaskStart>;

  /** Extends the leases of the principal's tasks `ids` that still run to `now + leaseMs`. */
  abstract renewTasks(principal: string, ids: readonly string[], now: number, leaseMs: number): Promise<void>;

  /** The principal's tasks `ids` ended: they count no more. */
  abstract endTasks(principal: string, ids: readonly string[]): Promise<void>;

  /** The principal's counts in the hour and the day of `now`, and its running tasks. */
  abstract usage(principal: string, now: number): Promise<PrincipalUsage>;

  /** For each figure, the `n` principals with the most of it now, and the figure of all of them together. */
  abstract top(now: number, n: number): Promise<UsageTop>;
}

/** Throws when numbers given to the ledger cannot be right: a programming error, not a user's. */
export function checkLedgerNumbers(numbers: Record<string, number | undefined>): void {
  for (const [name, n] of Object.entries(numbers)) {
    if (n !== undefined && (!Number.isSafeInteger(n) || n < 0)) throw new Error(`The quota ledger's ${name} must be a whole number of at least 0, not ${n}`);
  }
}

/** The order reserveStep checks limits in: the day's first (a refusal then names the window that ends last), steps before tokens. */
export const LIMIT_ORDER: readonly (readonly [UsageMeasure, UsageWindow])[] = [
  ['steps', 'day'],
  ['tokens', 'day'],
  ['steps', 'hour'],
  ['tokens', 'hour'],
];

/** The most first; ties by principal, the later name first (as Redis's ZREVRANGE ranks them), so every backend ranks alike. */
export function byValue(a: { principal: string; value: number }, b: { principal: string; value: number }): number {
  return b.value - a.value || (a.principal < b.principal ? 1 : a.principal > b.principal ? -1 : 0);
}

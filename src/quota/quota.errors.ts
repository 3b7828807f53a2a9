import { DomainError, DomainErrorCode } from '../common/domain-error';

/** Which quota: the principal's agent tasks running at once, or its agent steps or model tokens in a window. */
export type QuotaName = 'tasks' | 'steps' | 'tokens';
export type QuotaWindow = 'hour' | 'day';

/** The setting of each limit, named in messages. */
export const QUOTA_SETTING: Readonly<Record<'steps' | 'tokens', Readonly<Record<QuotaWindow, string>>>> = {
  steps: { hour: 'QUOTA_STEPS_PER_HOUR', day: 'QUOTA_STEPS_PER_DAY' },
  tokens: { hour: 'QUOTA_TOKENS_PER_HOUR', day: 'QUOTA_TOKENS_PER_DAY' },
};

const WHAT: Readonly<Record<'steps' | 'tokens', string>> = { steps: 'agent steps', tokens: 'model tokens (input + output)' };

/**
 * A quota of the caller's principal is used up (QUOTA_EXCEEDED): a call refused before it started anything, or a
 * task stopped before its next step. It says which quota, the figure and the limit, and when to retry: the end of
 * the window for steps and tokens (an ISO time and seconds from now); for running tasks, whenever one of them ends.
 */
export class QuotaExceededError extends DomainError {
  private constructor(
    readonly quota: QuotaName,
    /** The window of a step or token quota; undefined for running tasks. */
    readonly window: QuotaWindow | undefined,
    /** The principal's figure: its steps or tokens in the window, or its tasks running. */
    readonly used: number,
    readonly limit: number,
    /** The setting of the limit. */
    readonly setting: string,
    /** When the window ends and the call may be retried; undefined for running tasks. */
    readonly retryAt: Date | undefined,
    /** Whole seconds until retryAt (at least 1); undefined with it. */
    readonly retryAfterSeconds: number | undefined,
    message: string,
  ) {
    super(DomainErrorCode.QUOTA_EXCEEDED, message);
  }

  /**
   * The principal's steps or tokens reached their limit in the window that ends at `endsAt`. `stoppedBeforeStep`: a
   * running task stopped before that step (the progress it made comes with the task's failure); unset: refused before
   * anything started.
   */
  static usage(r: { measure: 'steps' | 'tokens'; window: QuotaWindow; used: number; limit: number; endsAt: number }, now: number, stoppedBeforeStep?: number): QuotaExceededError {
    const setting = QUOTA_SETTING[r.measure][r.window];
    const retryAt = new Date(r.endsAt);
    const seconds = Math.max(1, Math.ceil((r.endsAt - now) / 1000));
    const window = r.window === 'hour' ? 'this hour' : 'this day (UTC)';
    const what = stoppedBeforeStep === undefined ? '' : `The task was stopped before step ${stoppedBeforeStep}: `;
    return new QuotaExceededError(
      r.measure,
      r.window,
      r.used,
      r.limit,
      setting,
      retryAt,
      seconds,
      `${what}You have used ${r.used} of your ${r.limit} ${WHAT[r.measure]} ${window} (${setting}). ` +
        `Retry after ${retryAt.toISOString()} (in ${seconds} s), when the ${r.window} ends.`,
    );
  }

  /** The principal runs `running` tasks; `needed` more would go past MAX_TASKS_PER_PRINCIPAL. */
  static tasks(running: number, needed: number, limit: number): QuotaExceededError {
    const setting = 'MAX_TASKS_PER_PRINCIPAL';
    const head = `You have ${running} agent task(s) running, and one principal may run at most ${limit} at once (${setting}=${limit}); this call needs ${needed} more. `;
    const advice =
      needed > limit
        ? `A call with concurrent=true runs all its tasks at once: send at most ${limit} per call, or use concurrent=false to run them in turn.`
        : 'Retry when one of your tasks has finished (get_session_stats shows how many run), or cancel one.';
    return new QuotaExceededError('tasks', undefined, running, limit, setting, undefined, undefined, head + advice);
  }
}

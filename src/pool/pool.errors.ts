import { DomainError, DomainErrorCode } from '../common/domain-error';

export const poolDraining = () =>
  new DomainError(DomainErrorCode.SHUTTING_DOWN, 'The server is shutting down and gives out no more computers. Reconnect to another instance or retry shortly.');

/** Every computer the pool may hold is in use, and none became free within the wait. */
export class PoolExhaustedError extends DomainError {
  constructor(
    /** How long the caller waited (POOL_ACQUIRE_TIMEOUT_MS or its own timeout). */
    readonly waitedMs: number,
    /** POOL_MAX_SIZE. */
    readonly maxSize: number,
  ) {
    super(
      DomainErrorCode.POOL_EXHAUSTED,
      `No computer became free within ${waitedMs} ms (POOL_ACQUIRE_TIMEOUT_MS): all ${maxSize} computers (POOL_MAX_SIZE) are in use. ` +
        'End a session you no longer need with cleanup_session, retry later, or ask the operator to raise POOL_MAX_SIZE.',
    );
  }
}

/** POOL_MAX_WAITERS callers already wait for a computer: refused at once rather than queued. */
export class PoolQueueFullError extends DomainError {
  constructor(readonly maxWaiters: number) {
    super(
      DomainErrorCode.POOL_QUEUE_FULL,
      `Too many calls are already waiting for a computer (POOL_MAX_WAITERS=${maxWaiters}). Retry later, or end a session you no longer need with cleanup_session.`,
    );
  }
}

/** A principal asked for more computers than MAX_COMPUTERS_PER_PRINCIPAL lets it hold or wait for. */
export class ComputerLimitError extends DomainError {
  constructor(readonly max: number) {
    super(
      DomainErrorCode.SESSION_LIMIT,
      `You already hold or wait for your maximum of ${max} computers (MAX_COMPUTERS_PER_PRINCIPAL): your sessions' computers, ` +
        'the extra ones of concurrent run_multi_cua_tasks calls and calls still waiting for a computer all count. ' +
        'Free one with cleanup_session(session_id) (list_sessions shows yours), let your running calls finish, or run tasks with concurrent=false.',
    );
  }
}

import { DomainError, DomainErrorCode } from '../common/domain-error';

export const poolDraining = () =>
  new DomainError(DomainErrorCode.SHUTTING_DOWN, 'The server is shutting down and gives out no more computers. Reconnect to another instance or retry shortly.');

export const poolExhausted = (timeoutMs: number, max: number) =>
  new DomainError(
    DomainErrorCode.POOL_EXHAUSTED,
    `No computer became free within ${timeoutMs} ms (POOL_ACQUIRE_TIMEOUT_MS): all ${max} computers (POOL_MAX_SIZE) are in use. ` +
      'End a session you no longer need with cleanup_session, retry later, or ask the operator to raise POOL_MAX_SIZE.',
  );

export const poolQueueFull = (maxWaiters: number) =>
  new DomainError(
    DomainErrorCode.POOL_QUEUE_FULL,
    `Too many calls are already waiting for a computer (POOL_MAX_WAITERS=${maxWaiters}). Retry later, or end a session you no longer need with cleanup_session.`,
  );

export const computerLimit = (max: number) =>
  new DomainError(
    DomainErrorCode.SESSION_LIMIT,
    `You already hold or wait for your maximum of ${max} computers (MAX_COMPUTERS_PER_PRINCIPAL): your sessions' computers, ` +
      'the extra ones of concurrent run_multi_cua_tasks calls and calls still waiting for a computer all count. ' +
      'Free one with cleanup_session(session_id) (list_sessions shows yours), let your running calls finish, or run tasks with concurrent=false.',
  );

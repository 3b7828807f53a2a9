import { DomainError, DomainErrorCode } from '../common/domain-error';

export const sessionLimit = (max: number, idleTimeoutMs: number) =>
  new DomainError(
    DomainErrorCode.SESSION_LIMIT,
    `The server already has its maximum of ${max} sessions (MAX_SESSIONS). ` +
      `Free a slot with cleanup_session(session_id) on a session you no longer need (list_sessions shows yours), ` +
      `or wait until an idle session is swept (after ${Math.round(idleTimeoutMs / 1000)} s without activity).`,
  );

export const principalSessionLimit = (max: number, idleTimeoutMs: number) =>
  new DomainError(
    DomainErrorCode.SESSION_LIMIT,
    `You already have your maximum of ${max} sessions (MAX_SESSIONS_PER_PRINCIPAL). ` +
      `Free one with cleanup_session(session_id) on a session you no longer need (list_sessions shows yours), ` +
      `or wait until an idle one is swept (after ${Math.round(idleTimeoutMs / 1000)} s without activity).`,
  );

export const sessionNotFound = (id: string) =>
  new DomainError(
    DomainErrorCode.SESSION_NOT_FOUND,
    `No session "${id}" exists for you (it may have been cleaned up or swept after being idle). ` +
      'Create one with create_session, or omit session_id to use this connection\'s default session.',
  );

export const sessionEnded = (id: string) =>
  new DomainError(DomainErrorCode.SESSION_ENDED, `Session "${id}" was ended while this call was running. Start a new one to continue.`);

export const shuttingDown = () =>
  new DomainError(DomainErrorCode.SHUTTING_DOWN, 'The server is shutting down and accepts no new sessions or tasks. Reconnect and retry shortly.');

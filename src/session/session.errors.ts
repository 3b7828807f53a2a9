import { DomainError, DomainErrorCode } from '../common/domain-error';
import type { EndReason, Session } from './session';

/** The server (MAX_SESSIONS) or the principal (MAX_SESSIONS_PER_PRINCIPAL) holds all the sessions it may. */
export class SessionLimitError extends DomainError {
  constructor(
    /** Whose limit was reached: the whole server's or one principal's. */
    readonly scope: 'server' | 'principal',
    readonly max: number,
    idleTimeoutMs: number,
  ) {
    const idle = `(after ${Math.round(idleTimeoutMs / 1000)} s without activity)`;
    super(
      DomainErrorCode.SESSION_LIMIT,
      scope === 'server'
        ? `The server already has its maximum of ${max} sessions (MAX_SESSIONS). ` +
            `Free a slot with cleanup_session(session_id) on a session you no longer need (list_sessions shows yours), ` +
            `or wait until an idle session is swept ${idle}.`
        : `You already have your maximum of ${max} sessions (MAX_SESSIONS_PER_PRINCIPAL). ` +
            `Free one with cleanup_session(session_id) on a session you no longer need (list_sessions shows yours), ` +
            `or wait until an idle one is swept ${idle}.`,
    );
  }
}

/** A server-minted session id that does not exist (any more) for this principal. */
export class SessionNotFoundError extends DomainError {
  constructor(readonly sessionId: string) {
    super(
      DomainErrorCode.SESSION_NOT_FOUND,
      `No session "${sessionId}" exists for you (it may have been cleaned up or swept after being idle). ` +
        'Create one with create_session, or omit session_id to use this connection\'s default session.',
    );
  }
}

const ENDED_BY: Record<EndReason, string> = {
  cleanup: 'by cleanup_session',
  operator: "by an operator (cleanup_session of someone with the operator's permission)",
  idle: 'by the idle sweep (it had been unused for its idle timeout)',
  'connection-closed': 'because the MCP connection it belonged to closed',
  shutdown: 'because the server is shutting down',
  'handed-over': 'here, because this server replica let go of it (it is shutting down, or it had stalled past its lease); another replica carries it on: call again',
  unregistered: 'because the session registry no longer had it (the idle sweep had just ended it, or the registry lost its records)',
};

/**
 * The session's computer was held by a server replica that is gone (it crashed, was killed or restarted, or lost
 * contact with the others for longer than its lease): the computer, its screen and files went with it.
 */
export class SessionLostError extends DomainError {
  constructor(
    readonly sessionId: string,
    /** REPLICA_ID of the replica that held it. */
    readonly replica: string | undefined,
    kind: 'named' | 'minted' | 'default',
  ) {
    const next =
      kind === 'named'
        ? `Call again with session_id "${sessionId}" to start a new session of that name with a fresh computer.`
        : kind === 'minted'
          ? 'Create a new session with create_session.'
          : 'Call again without session_id to start a new default session.';
    super(
      DomainErrorCode.SESSION_LOST,
      `Session "${sessionId}" is lost: the server replica${replica ? ` ${replica}` : ''} that held its computer has stopped (a crash, a restart, ` +
        `or a lost contact), and its desktop and files went with it. ${next}`,
    );
    this.sessionId = sessionId;
  }
}

/** A call met a session that ended (or was being ended) while the call was running. */
export class SessionEndedError extends DomainError {
  readonly sessionId: string;
  readonly endReason?: EndReason;

  constructor(session: Pick<Session, 'id' | 'kind' | 'endReason'>) {
    const { id, kind, endReason } = session;
    const by = endReason ? ` ${ENDED_BY[endReason]}` : '';
    const next =
      kind === 'named'
        ? `Call again with session_id "${id}"${endReason === 'cleanup' ? ' once cleanup_session has returned' : ''} to start a new session of that name with a fresh computer.`
        : kind === 'minted'
          ? 'Create a new session with create_session.'
          : 'Call again without session_id to start a new default session.';
    super(DomainErrorCode.SESSION_ENDED, `Session "${id}" was ended${by} while this call was running, and its computer destroyed. ${next}`);
    this.sessionId = id;
    this.endReason = endReason;
  }
}

/**
 * A person holds control of the session's desktop (taken in the live view): input from the `computer` tool,
 * `run_command`, or another person who wants control, is refused at once, never queued. Screenshots still work.
 */
export class SessionUnderHumanControlError extends DomainError {
  constructor(
    readonly sessionId: string,
    /** Who holds control: the label the live view gave when it took it. */
    readonly heldBy: string,
    /** What was refused, e.g. 'the computer action "left_click"'. */
    refused: string,
    /** LIVE_VIEW_CONTROL_IDLE_MS: after this long without their input, control returns on its own. */
    idleMs: number,
  ) {
    super(
      DomainErrorCode.SESSION_UNDER_HUMAN_CONTROL,
      `A person (${heldBy}) is controlling the desktop of session "${sessionId}" in the live view, so ${refused} was refused. ` +
        `Control returns on its own after ${Math.round(idleMs / 1000)} s without their input.`,
    );
  }
}

export const shuttingDown = () =>
  new DomainError(DomainErrorCode.SHUTTING_DOWN, 'The server is shutting down and accepts no new sessions or tasks. Reconnect and retry shortly.');

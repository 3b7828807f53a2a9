/**
 * Stable error codes that every transport maps in exactly one place
 * (see mcp/mcp-errors.ts and health/). Services throw DomainError only,
 * never transport-specific types.
 */
export const DomainErrorCode = {
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  SESSION_LIMIT: 'SESSION_LIMIT',
  SESSION_NOT_FOUND: 'SESSION_NOT_FOUND',
  SESSION_ENDED: 'SESSION_ENDED',
  /** The server replica that held the session's computer is gone (crashed, killed, restarted): so is the computer. */
  SESSION_LOST: 'SESSION_LOST',
  /** A person controls the session's desktop in the live view: input from anyone else is refused, not queued. */
  SESSION_UNDER_HUMAN_CONTROL: 'SESSION_UNDER_HUMAN_CONTROL',
  POOL_EXHAUSTED: 'POOL_EXHAUSTED',
  POOL_QUEUE_FULL: 'POOL_QUEUE_FULL',
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  COMPUTER_FAILED: 'COMPUTER_FAILED',
  COMPUTER_UNSUPPORTED: 'COMPUTER_UNSUPPORTED',
  COMPUTER_BUSY: 'COMPUTER_BUSY',
  MODEL_ERROR: 'MODEL_ERROR',
  AGENT_STEP_LIMIT: 'AGENT_STEP_LIMIT',
  AGENT_TOKEN_LIMIT: 'AGENT_TOKEN_LIMIT',
  SAFETY_CHECK: 'SAFETY_CHECK',
  /** The model ended the task without doing it: it judged the task impossible, or asked for a person's help. */
  AGENT_GAVE_UP: 'AGENT_GAVE_UP',
  CANCELLED: 'CANCELLED',
  TIMEOUT: 'TIMEOUT',
  /**
   * A quota of the caller's principal is used up: its agent tasks running at once, or its agent steps or model tokens
   * in this hour or day. The message names the quota, the figure and the limit, and when to retry.
   */
  QUOTA_EXCEEDED: 'QUOTA_EXCEEDED',
  /** The caller's credentials do not grant the permission the call needs (a token scope, an operator key). */
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  /** The shared session registry (Redis) cannot be reached: nothing was decided, the call may be retried. */
  REGISTRY_UNAVAILABLE: 'REGISTRY_UNAVAILABLE',
  /** An unexpected failure (a bug or an unforeseen error from a library); the message is the original error's. */
  INTERNAL: 'INTERNAL',
} as const;
export type DomainErrorCode = (typeof DomainErrorCode)[keyof typeof DomainErrorCode];

/**
 * A failure the caller can act on: a stable code and a message saying what to do. Errors that carry data
 * a caller reads (a limit, the progress a task made) are subclasses with typed fields, next to the feature
 * that throws them (`*.errors.ts`).
 */
export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }
}

export function isDomainError(e: unknown, code?: DomainErrorCode): e is DomainError {
  return e instanceof DomainError && (code === undefined || e.code === code);
}

/** The reason an AbortSignal carries, as a DomainError (CANCELLED unless the reason already is one). */
export function abortReason(signal: AbortSignal, what: string): DomainError {
  const r: unknown = signal.reason;
  if (r instanceof DomainError) return r;
  return new DomainError(DomainErrorCode.CANCELLED, `${what} was cancelled.`, { cause: r });
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

import { DomainError, DomainErrorCode } from '../../common/domain-error';
import { CuaFramingError } from '../../cua-protocol';

/** How talking to a cua server fails, for the WebSocket channel, the HTTP side and the client alike. */

/** A success reply's fields (`success` is true). */
export type CuaFields = Record<string, unknown>;

/** What went wrong talking to a server. */
export type CuaFailureKind = 'timeout' | 'closed' | 'unreachable' | 'protocol' | 'remote' | 'auth';

/** What a failed request learnt from the server, when it got that far. */
export interface CuaFailureFacts {
  command?: string;
  /** The server's own words for a `success: false` reply. */
  remoteError?: string;
  httpStatus?: number;
  /** The request was never written to a connection that then broke: safe to send again. */
  notSent?: boolean;
}

/** A failure talking to a cua computer-server: TIMEOUT for a timeout, COMPUTER_FAILED otherwise. */
export class CuaError extends DomainError {
  readonly command?: string;
  readonly remoteError?: string;
  readonly httpStatus?: number;
  readonly notSent: boolean;

  constructor(
    readonly kind: CuaFailureKind,
    message: string,
    cause?: unknown,
    facts: CuaFailureFacts = {},
  ) {
    super(kind === 'timeout' ? DomainErrorCode.TIMEOUT : DomainErrorCode.COMPUTER_FAILED, message, { cause });
    this.command = facts.command;
    this.remoteError = facts.remoteError;
    this.httpStatus = facts.httpStatus;
    this.notSent = facts.notSent ?? false;
  }
}

/** A failure of the given kind: TIMEOUT for timeouts, COMPUTER_FAILED for the rest. */
export function cuaError(kind: CuaFailureKind, message: string, cause?: unknown, facts: CuaFailureFacts = {}): CuaError {
  return new CuaError(kind, message, cause, facts);
}

/** The failure kind of an error thrown here, if it is one of ours. */
export function cuaKindOf(e: unknown): CuaFailureKind | undefined {
  return e instanceof CuaError ? e.kind : undefined;
}

/** Checks a reply frame: a JSON object with a boolean `success` (and a string `error` when false). */
export function checkReply(value: unknown, where: string): { success: boolean; fields: CuaFields } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CuaFramingError(`${where} sent a reply that is not a JSON object`);
  const fields = value as CuaFields;
  if (typeof fields.success !== 'boolean') throw new CuaFramingError(`${where} sent a reply without a boolean "success"`);
  return { success: fields.success, fields };
}

/** A `success: false` reply, as an error naming the command and the server's words. */
export function remoteFailure(host: string, command: string, fields: CuaFields): CuaError {
  const why = typeof fields.error === 'string' && fields.error ? fields.error : JSON.stringify(fields).slice(0, 300);
  return cuaError('remote', `The remote computer at ${host} could not run "${command}": ${why}`, undefined, { command, remoteError: why });
}

/** The same failure, marked as one of a request that never reached the server. */
export function notSent(why: CuaError): CuaError {
  return new CuaError(why.kind, why.message, why.cause, { command: why.command, remoteError: why.remoteError, httpStatus: why.httpStatus, notSent: true });
}

/** True for an error of a request that never reached the server (it may be sent again). */
export function wasNotSent(e: unknown): boolean {
  return e instanceof CuaError && e.notSent;
}

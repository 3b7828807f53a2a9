import { DomainError, DomainErrorCode } from '../../common/domain-error';
import { CuaFramingError } from '../../cua-protocol';

/** How talking to a cua server fails, for the WebSocket channel, the HTTP side and the client alike. */

/** A success reply's fields (`success` is true). */
export type CuaFields = Record<string, unknown>;

/** What went wrong talking to a server; carried in a DomainError's details as `cua`. */
export type CuaFailureKind = 'timeout' | 'closed' | 'unreachable' | 'protocol' | 'remote' | 'auth';

/** A failure of the given kind: TIMEOUT for timeouts, COMPUTER_FAILED for the rest. */
export function cuaError(kind: CuaFailureKind, message: string, cause?: unknown, extra: Record<string, unknown> = {}): DomainError {
  return new DomainError(kind === 'timeout' ? DomainErrorCode.TIMEOUT : DomainErrorCode.COMPUTER_FAILED, message, {
    cause,
    details: { cua: kind, ...extra },
  });
}

/** The failure kind of an error thrown here, if it is one of ours. */
export function cuaKindOf(e: unknown): CuaFailureKind | undefined {
  return e instanceof DomainError ? (e.details?.cua as CuaFailureKind | undefined) : undefined;
}

/** Checks a reply frame: a JSON object with a boolean `success` (and a string `error` when false). */
export function checkReply(value: unknown, where: string): { success: boolean; fields: CuaFields } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CuaFramingError(`${where} sent a reply that is not a JSON object`);
  const fields = value as CuaFields;
  if (typeof fields.success !== 'boolean') throw new CuaFramingError(`${where} sent a reply without a boolean "success"`);
  return { success: fields.success, fields };
}

/** A `success: false` reply, as an error naming the command and the server's words. */
export function remoteFailure(host: string, command: string, fields: CuaFields): DomainError {
  const why = typeof fields.error === 'string' && fields.error ? fields.error : JSON.stringify(fields).slice(0, 300);
  return cuaError('remote', `The remote computer at ${host} could not run "${command}": ${why}`, undefined, { command, remoteError: why });
}

/** Marks a request that was never written to a connection that then broke: safe to send again. */
const NOT_SENT = 'notSent';

/** The same failure, marked as one of a request that never reached the server. */
export function notSent(why: DomainError): DomainError {
  return new DomainError(why.code, why.message, { cause: why.cause, details: { ...why.details, [NOT_SENT]: true } });
}

/** True for an error of a request that never reached the server (it may be sent again). */
export function wasNotSent(e: unknown): boolean {
  return e instanceof DomainError && e.details?.[NOT_SENT] === true;
}

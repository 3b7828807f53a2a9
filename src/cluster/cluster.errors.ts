import { DomainError, DomainErrorCode } from '../common/domain-error';

/**
 * The shared session registry (Redis) could not be asked: it is unreachable, or did not answer in time. Said at
 * once, never queued for later (a queued change could run against a Redis that restarted empty meanwhile).
 */
export class RegistryUnavailableError extends DomainError {
  constructor(
    /** host:port of REDIS_URL (never its credentials). */
    readonly target: string,
    /** What went wrong, in a few words. */
    why: string,
    cause?: unknown,
  ) {
    super(DomainErrorCode.REGISTRY_UNAVAILABLE, `The session registry (Redis at ${target}) is unreachable: ${why}. Retry shortly.`, { cause });
  }
}

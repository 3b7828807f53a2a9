import { DomainError } from '../common/domain-error';
import type { StepRecord, TokenUsage } from './model.port';

/**
 * A task the agent loop stopped (any code: the model failed, the step or token limit, a dead computer,
 * a cancellation …), with the progress it made so the caller can report it.
 */
export class AgentTaskError extends DomainError {
  constructor(
    reason: DomainError,
    message: string,
    /** The steps done before it stopped, in order. */
    readonly steps: StepRecord[],
    /** Tokens it used, summed over its model calls. */
    readonly usage: TokenUsage,
    /** The stored trajectory's id, with TRAJECTORY_DIR set. */
    readonly trajectoryId: string | undefined,
    cause: unknown,
  ) {
    super(reason.code, message, { cause });
  }
}

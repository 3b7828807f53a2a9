import { AgentTaskError, StepRecord, TokenUsage } from '../agent/agent.module';
import { DomainError, DomainErrorCode, errorMessage, isDomainError } from '../common/domain-error';
import type { Screenshot } from '../computer/computer.module';

/** Where a task stopped: before it started (its call was cancelled), waiting for a computer, or while it ran. */
export type TaskFailureStage = 'not-started' | 'no-computer' | 'ran';

/**
 * A task that failed, with what it got done: its code and message are those of `reason` (why it stopped),
 * so it maps like that error; the steps, tokens, trajectory and the screen as it was left come with it.
 */
export class TaskFailedError extends DomainError {
  /** The steps done before it stopped, in order. */
  readonly steps: StepRecord[];
  /** Tokens it used, when it got to the model. */
  readonly usage?: TokenUsage;
  /** Its stored trajectory, with TRAJECTORY_DIR set. */
  readonly trajectoryId?: string;

  constructor(
    readonly reason: DomainError,
    readonly stage: TaskFailureStage,
    readonly sessionId: string,
    /** The screen as the task left it (not when the computer died or the call was cancelled). */
    readonly screenshot?: Screenshot,
  ) {
    super(reason.code, reason.message, { cause: reason });
    const progress = reason instanceof AgentTaskError ? reason : undefined;
    this.steps = progress?.steps ?? [];
    this.usage = progress?.usage;
    this.trajectoryId = progress?.trajectoryId;
  }

  /** `e` as the reason of a failed task; an unexpected error becomes INTERNAL. */
  static of(e: unknown, stage: TaskFailureStage, sessionId: string, screenshot?: Screenshot): TaskFailedError {
    if (e instanceof TaskFailedError) return e;
    const reason = isDomainError(e) ? e : new DomainError(DomainErrorCode.INTERNAL, errorMessage(e), { cause: e });
    return new TaskFailedError(reason, stage, sessionId, screenshot);
  }
}

/** A concurrent call that needs more computers than its principal may still take: refused before any task runs. */
export class ConcurrentTasksLimitError extends DomainError {
  constructor(
    readonly tasks: number,
    /** How many more computers the principal may take now. */
    readonly room: number,
    /** MAX_COMPUTERS_PER_PRINCIPAL. */
    readonly max: number,
  ) {
    super(
      DomainErrorCode.SESSION_LIMIT,
      `concurrent=true runs each task on its own computer: these ${tasks} tasks need ${tasks - 1} computer(s) besides the session's, ` +
        `but you may take only ${room} more (MAX_COMPUTERS_PER_PRINCIPAL=${max}, counting your sessions' computers, the extra ones of your running calls and your calls waiting for one). ` +
        `Send at most ${room + 1} task(s) per concurrent call, use concurrent=false, or free computers with cleanup_session.`,
    );
  }
}

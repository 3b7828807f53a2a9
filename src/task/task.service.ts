import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { AgentResult, AgentService, StepRecord } from '../agent/agent.module';
import { abortReason, errorMessage, isDomainError } from '../common/domain-error';
import { Computer, Screenshot, ScreenshotService } from '../computer/computer.module';
import { ComputerPool } from '../pool/pool.module';
import { QuotaService, type TaskAdmission } from '../quota/quota.module';
import { Session, SessionService } from '../session/session.module';
import { ConcurrentTasksLimitError, TaskFailedError } from './task.errors';

/** One step of a running task (`task`: its 0-based position in the call). */
export interface TaskStepEvent {
  task: number;
  computerId: string;
  step: StepRecord;
  maxSteps: number;
}

/** The agent waits before asking the model again (`step`: the step it is on). */
export interface TaskRetryEvent {
  task: number;
  computerId: string;
  step: number;
  message: string;
}

/** A task waits at `step`: a person controls the session's desktop in the live view. */
export interface TaskPauseEvent {
  task: number;
  computerId: string;
  step: number;
  heldBy: string;
}

/** A paused task goes on with `step`, control handed back after `pausedMs`. */
export interface TaskResumeEvent {
  task: number;
  computerId: string;
  step: number;
  pausedMs: number;
}

/** A step of a task finished on one of a session's computers: for records kept per session (the recordings). */
export interface TaskStepDoneEvent extends TaskStepEvent {
  session: Session;
  /** When the step began (ms since the epoch: its screenshot, the model, the actions, the settling) and how long it took. */
  startedAt: number;
  durationMs: number;
}

export interface TaskEvents {
  /** After every step of every task. */
  step: [TaskStepDoneEvent];
}

export interface TaskRunOptions {
  /** Stops the task(s): the call was cancelled, or its client went away. */
  signal: AbortSignal;
  /** The call's admission (admit()): its tasks' places among the principal's running tasks, and the budget asked before each step. */
  admission: TaskAdmission;
  /** provider/model, as resolveModel returned it. */
  model: string;
  onStep?: (event: TaskStepEvent) => void;
  onRetry?: (event: TaskRetryEvent) => void;
  onPause?: (event: TaskPauseEvent) => void;
  onResume?: (event: TaskResumeEvent) => void;
}

export interface MultiTaskOptions extends TaskRunOptions {
  /** Each task on its own computer at the same time (the session's for the first, extra ones for the rest). */
  concurrent: boolean;
  /** Once the call is admitted, before the first task starts. */
  onStart?: () => void;
  /** As each task finishes, in the order they finish. */
  onTaskDone?: (task: number, outcome: TaskOutcome) => void;
}

/** A finished task: the agent's result, and where it ran. */
export interface TaskReport {
  sessionId: string;
  computerId: string;
  result: AgentResult;
}

export type TaskOutcome = { ok: true; report: TaskReport } | { ok: false; error: TaskFailedError };

/**
 * Runs tasks in plain words on a session's computers: one task, or several one after another on the
 * session's computer or at once on computers of their own (extra ones leased for the session and returned
 * afterwards). Each task is a task of the session (ended with it, never swept while it runs); a dead
 * computer is replaced by the session service. A task on the session's own computer pauses while a person
 * controls that desktop in the live view (the session's HumanControl is its turn gate); extra computers are
 * nobody's to take over.
 */
@Injectable()
export class TaskService {
  private readonly logger = new Logger(TaskService.name);
  readonly events = new EventEmitter<TaskEvents>();

  constructor(
    private readonly sessions: SessionService,
    private readonly agent: AgentService,
    private readonly screenshots: ScreenshotService,
    private readonly pool: ComputerPool,
    private readonly quotas: QuotaService,
  ) {}

  /**
   * Admits a call of the principal that runs `tasks` tasks, one after another or all at once (`concurrent`), against
   * its quotas (QUOTA_EXCEEDED when one is used up), before anything of the call happens: no session is opened and no
   * computer leased for a refused call. The caller closes the admission when the call ends.
   */
  admit(principal: string, tasks: number, concurrent: boolean): Promise<TaskAdmission> {
    return this.quotas.admitTasks(principal, concurrent ? tasks : 1);
  }

  /** The model a call asked for, or CUA_MODEL_NAME; INVALID_ARGUMENT when it is not allowed. Check it before leasing anything. */
  resolveModel(requested?: string): string {
    return this.agent.resolveModel(requested);
  }

  /** Runs one task on the session's computer; a failure is thrown as TaskFailedError, with the progress made. */
  async runOne(session: Session, task: string, options: TaskRunOptions): Promise<TaskReport> {
    const outcome = await this.onSessionComputer(session, task, options, 0);
    if (!outcome.ok) throw outcome.error;
    return outcome.report;
  }

  /**
   * Runs several tasks; one failing does not stop the others. Outcomes are in input order. A concurrent call
   * that needs more computers than the principal may still take is refused before any task runs.
   */
  async runMany(session: Session, tasks: readonly string[], options: MultiTaskOptions): Promise<TaskOutcome[]> {
    const n = tasks.length;
    if (options.concurrent) {
      // All or nothing: a race with the principal's other calls can still fail single tasks below, with the same code.
      const room = this.pool.roomFor(session.principal);
      if (n - 1 > room) throw new ConcurrentTasksLimitError(n, room, this.pool.maxPerPrincipal());
    }
    options.onStart?.();
    const outcomes: TaskOutcome[] = [];
    const finished = (i: number, outcome: TaskOutcome) => {
      outcomes[i] = outcome;
      // Tasks at once hold a place each among the principal's running tasks; tasks in turn hold one for the call.
      if (options.concurrent) options.admission.taskDone();
      options.onTaskDone?.(i, outcome);
    };
    if (!options.concurrent) {
      for (let i = 0; i < n; i++) {
        if (options.signal.aborted) {
          finished(i, { ok: false, error: TaskFailedError.of(abortReason(options.signal, 'The task'), 'not-started', session.id) });
          continue;
        }
        finished(i, await this.onSessionComputer(session, tasks[i], options, i));
      }
      return outcomes;
    }
    await Promise.all(
      tasks.map(async (task, i) => {
        if (i === 0) return finished(i, await this.onSessionComputer(session, task, options, i));
        // attempt() never throws: what does is getting the extra computer.
        const outcome = await this.sessions
          .withExtraComputer(session, options.signal, (computer) => this.attempt(session, computer, task, options, i, false))
          .catch((e: unknown): TaskOutcome => ({ ok: false, error: TaskFailedError.of(e, 'no-computer', session.id) }));
        finished(i, outcome);
      }),
    );
    return outcomes;
  }

  private async onSessionComputer(session: Session, task: string, options: TaskRunOptions, index: number): Promise<TaskOutcome> {
    try {
      return await this.sessions.withComputer(
        session,
        async (computer) => {
          const outcome = await this.attempt(session, computer, task, options, index, true);
          // A failed task is an outcome, not an error; a dead computer is thrown so that the session replaces it.
          if (!outcome.ok && isDomainError(outcome.error, 'COMPUTER_FAILED')) throw outcome.error;
          return outcome;
        },
        options.signal,
      );
    } catch (e) {
      return { ok: false, error: this.failed(e, session) };
    }
  }

  /** Runs the task on `computer` as a task of the session. Never throws: a failure is an outcome. */
  private async attempt(session: Session, computer: Computer, task: string, options: TaskRunOptions, index: number, sessionDesktop: boolean): Promise<TaskOutcome> {
    let steps = 0;
    let stepStarted = Date.now();
    try {
      const result = await this.sessions.runTask(session, task.slice(0, 80), options.signal, (signal) =>
        this.agent.run(task, computer, {
          signal,
          budget: options.admission.budget,
          gate: sessionDesktop ? session.control : undefined,
          onPause: (heldBy, step) => options.onPause?.({ task: index, computerId: computer.id, step, heldBy }),
          onResume: (pausedMs, step) => options.onResume?.({ task: index, computerId: computer.id, step, pausedMs }),
          modelName: options.model,
          owner: { principal: session.principal, sessionId: session.id },
          onStep: (step, maxSteps) => {
            steps = step.step;
            const now = Date.now();
            const event: TaskStepEvent = { task: index, computerId: computer.id, step, maxSteps };
            this.events.emit('step', { ...event, session, startedAt: stepStarted, durationMs: now - stepStarted });
            stepStarted = now;
            options.onStep?.(event);
          },
          onRetry: (message) => options.onRetry?.({ task: index, computerId: computer.id, step: steps + 1, message }),
        }),
      );
      return { ok: true, report: { sessionId: session.id, computerId: computer.id, result } };
    } catch (e) {
      // The screen as it was left helps the caller decide what to do; not when the computer is gone or the call was cancelled.
      const shot = options.signal.aborted || isDomainError(e, 'COMPUTER_FAILED') ? undefined : await this.screenshots.take(computer, 'png').catch(() => undefined);
      return { ok: false, error: this.failed(e, session, shot) };
    }
  }

  private failed(e: unknown, session: Session, screenshot?: Screenshot): TaskFailedError {
    if (!isDomainError(e)) this.logger.error(`A task of session ${session.id} failed unexpectedly: ${errorMessage(e)}`, (e as Error)?.stack);
    return TaskFailedError.of(e, 'ran', session.id, screenshot);
  }
}

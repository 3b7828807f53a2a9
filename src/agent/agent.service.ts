import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { linkSignals, sleep } from '../common/async';
import { backoffDelay } from '../common/backoff';
import { abortReason, DomainError, DomainErrorCode, errorMessage, isDomainError } from '../common/domain-error';
import { InjectSettings } from '../config/config.module';
import { AGENT_SETTINGS, type AgentSettings } from './agent.settings';
import { Computer, ComputerAction, ComputerActionRunner, describeSettle, ImageSize, Screenshot, ScreenshotService, SETTLES_AFTER } from '../computer/computer.module';
import { AgentTaskError } from './agent.errors';
import { ModelProviderRegistry } from './model-provider.registry';
import { CuaModel, ModelCallError, ModelInput, ModelTurn, NOT_EXECUTED, StepRecord, TAKEN_OVER, TokenUsage } from './model.port';
import { SecretRedactor } from './secret-redactor';
import { TrajectoryOwner, TrajectoryStore, TrajectoryWriter, usageJson } from './trajectory/trajectory.store';
import {
  ATTR_CUA_AGENT_ACTIONS,
  ATTR_CUA_AGENT_STEP,
  ATTR_CUA_AGENT_STEPS,
  ATTR_CUA_MODEL_RETRIES,
  ATTR_CUA_RETRY_WAIT_MS,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  errorType,
  failSpan,
  genAiProvider,
  SpanKind,
  Tracing,
  usageAttributes,
  type Span,
} from '../tracing/tracing.module';

/**
 * Someone other than the agent who may hold the computer for a while: a person controlling the desktop in the
 * live view (a session's HumanControl fits this). The loop waits for its turn before it looks at the screen for
 * the model and before it acts; the time it waits does not count against the task's time limit nor its steps.
 */
export interface TurnGate {
  /** Who holds the computer now (for progress), or undefined when the agent may act. */
  readonly heldBy: string | undefined;
  /** Changes each time someone takes the computer: a turn planned on a screenshot from before is not carried out. */
  readonly takeovers: number;
  /** Resolves when the agent may act (at once when nobody holds the computer); rejects when the signal aborts. */
  agentTurn(signal: AbortSignal): Promise<void>;
}

/**
 * What the loop asks before each step and tells after it, for limits beyond the task's own (a principal's quotas):
 * the agent does not know whose they are.
 */
export interface StepBudget {
  /** Resolves when step `step` may run (its model call); throws a DomainError, which stops the task with its progress, when it may not. */
  beforeStep(step: number): Promise<void>;
  /** The tokens the model reported for the step just taken. */
  spent(usage: TokenUsage): Promise<void>;
}

export interface AgentRunOptions {
  signal: AbortSignal;
  /** Asked before each step: a refusal stops the task there, with the steps done (checked after a turn's wait, before the screenshot). */
  budget?: StepBudget;
  /** Whose turn it is on the computer: without it the agent never waits. */
  gate?: TurnGate;
  /** The loop waits at `step` (before it looks, or before it acts) because someone else holds the computer, e.g. to send progress. */
  onPause?: (heldBy: string, step: number) => void;
  /** The loop goes on with `step` after waiting `pausedMs` for the computer. */
  onResume?: (pausedMs: number, step: number) => void;
  /** Called after every step, e.g. to send progress. */
  onStep?: (step: StepRecord, maxSteps: number) => void;
  /** Called when the loop waits before retrying the model, e.g. to send progress. */
  onRetry?: (message: string) => void;
  maxSteps?: number;
  /** Defaults to CUA_MODEL_NAME; otherwise it must be one of AGENT_ALLOWED_MODELS. */
  modelName?: string;
  /** Whose task this is: with TRAJECTORY_DIR set, its trajectory is stored for them. */
  owner?: TrajectoryOwner;
}

export interface AgentResult {
  answer: string;
  model: string;
  steps: StepRecord[];
  /** Tokens the task used, summed over its model calls. */
  usage: TokenUsage;
  /** The screen after the last step. */
  screenshot: Screenshot;
  /** The stored trajectory's id, with TRAJECTORY_DIR set. */
  trajectoryId?: string;
}

const SKIPPED_FOR_BUDGET = 'Not executed: the task used up its token budget (AGENT_MAX_TOKENS_PER_TASK).';

/**
 * The computer-use loop, shared by every model: screenshot → model → actions, until the model answers.
 * It owns the discipline of long tasks: the step limit, the task timeout, the token budget, trimming old
 * screenshots to CUA_MAX_IMAGES, retries with backoff (honouring retry-after), cancellation (which aborts the
 * model's HTTP request and lets no later action touch the computer), and the trajectory.
 */
/** One agent step's model call: which model provider answered, and how long it took (retries included). */
export interface AgentStepEvent {
  provider: string;
  modelMs: number;
}

export interface AgentEvents {
  /** After each model call of a task. */
  step: [AgentStepEvent];
}

@Injectable()
export class AgentService {
  private readonly logger = new Logger(AgentService.name);
  readonly events = new EventEmitter<AgentEvents>();

  constructor(
    @InjectSettings(AGENT_SETTINGS) private readonly settings: AgentSettings,
    private readonly models: ModelProviderRegistry,
    private readonly screenshots: ScreenshotService,
    private readonly actions: ComputerActionRunner,
    private readonly trajectories: TrajectoryStore,
    private readonly redactor: SecretRedactor,
    private readonly tracing: Tracing,
  ) {}

  /** The model a call asked for, or CUA_MODEL_NAME; INVALID_ARGUMENT when it is not in AGENT_ALLOWED_MODELS. */
  resolveModel(requested?: string): string {
    const { modelName, allowedModels } = this.settings;
    if (requested === undefined || requested === modelName) return modelName;
    if (!allowedModels.includes(requested)) {
      throw new DomainError(
        DomainErrorCode.INVALID_ARGUMENT,
        `model "${requested}" is not allowed on this server. Allowed: ${allowedModels.join(', ')} (AGENT_ALLOWED_MODELS); omit model to use ${modelName}.`,
      );
    }
    return requested;
  }

  /**
   * Runs a task to its end. The task is a span (`invoke_agent`), each step a span within it (`agent step`), and within a step its
   * model call (`chat <model>`) and its actions (`computer <action>`).
   */
  async run(task: string, computer: Computer, options: AgentRunOptions): Promise<AgentResult> {
    const modelName = this.resolveModel(options.modelName);
    const provider = modelName.slice(0, modelName.indexOf('/'));
    const span = this.tracing.startSpan('invoke_agent', {
      attributes: { [ATTR_GEN_AI_OPERATION_NAME]: 'invoke_agent', [ATTR_GEN_AI_PROVIDER_NAME]: genAiProvider(provider), [ATTR_GEN_AI_REQUEST_MODEL]: modelName.slice(provider.length + 1) },
    });
    try {
      const result = await this.tracing.withSpan(span, () => this.loop(task, computer, options, modelName, provider));
      span.setAttributes({ [ATTR_CUA_AGENT_STEPS]: result.steps.length, ...usageAttributes(result.usage) });
      return result;
    } catch (e) {
      if (e instanceof AgentTaskError) span.setAttributes({ [ATTR_CUA_AGENT_STEPS]: e.steps.length, ...usageAttributes(e.usage) });
      failSpan(span, errorType(e));
      throw e;
    } finally {
      span.end();
    }
  }

  private async loop(task: string, computer: Computer, options: AgentRunOptions, modelName: string, provider: string): Promise<AgentResult> {
    const cfg = this.settings;
    const model = this.models.create(modelName);
    const maxSteps = options.maxSteps ?? cfg.maxSteps;
    const timeout = new AbortController();
    // Stopped while the task waits for its turn on the computer: that time is not the task's.
    const deadline = new PausableDeadline(cfg.taskTimeoutMs, () =>
      timeout.abort(new DomainError(DomainErrorCode.TIMEOUT, `The task did not finish within ${cfg.taskTimeoutMs} ms (AGENT_TASK_TIMEOUT_MS).`)),
    );
    const link = linkSignals(options.signal, timeout.signal);
    const signal = link.signal;
    const steps: StepRecord[] = [];
    const screens: (Screenshot | undefined)[] = [];
    const usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
    let trajectory: TrajectoryWriter | undefined;
    const { gate } = options;
    /** Turns planned before a take-over and not carried out: they do not count against the step limit. */
    let voided = 0;
    try {
      trajectory = options.owner ? await this.trajectories.start(options.owner, task, model.name) : undefined;
      for (let step = 1; step <= maxSteps + voided; step++) {
        if (signal.aborted) throw abortReason(signal, 'The task');
        await this.awaitTurn(gate, step, signal, deadline, options);
        await options.budget?.beforeStep(step);
        const stepSpan = this.tracing.startSpan('agent step', { attributes: { [ATTR_CUA_AGENT_STEP]: step } });
        try {
          const seen = gate?.takeovers;
          /** Whether someone took the computer since the screenshot below (waiting until they hand it back). */
          const takenOver = async () => {
            if (!gate || gate.takeovers === seen) return false;
            await this.awaitTurn(gate, step, signal, deadline, options);
            return true;
          };
          const screenshot = await this.screenshots.take(computer, 'png', signal, model.screenshotSize);
          screens.push(screenshot);
          // Only the CUA_MAX_IMAGES most recent screens go to the model; older ones become placeholders.
          if (screens.length > cfg.maxImages) screens[screens.length - cfg.maxImages - 1] = undefined;
          const t0 = Date.now();
          const turn = await this.tracing.withSpan(stepSpan, () => this.ask(model, provider, { task, step, screenshot, history: steps, screens }, signal, options));
          stepSpan.setAttributes({ [ATTR_CUA_AGENT_ACTIONS]: turn.actions.length, ...usageAttributes(turn.usage) });
          const modelMs = Date.now() - t0;
          const record: StepRecord = { step, thought: turn.thought, actions: turn.actions, results: [], outcomes: [], usage: turn.usage, modelMs, state: turn.state };
          this.events.emit('step', { provider, modelMs });
          usage.inputTokens += turn.usage?.inputTokens ?? 0;
          usage.outputTokens += turn.usage?.outputTokens ?? 0;
          if (turn.usage) await options.budget?.spent(turn.usage);
          const spent = usage.inputTokens + usage.outputTokens;
          // An answer the model's provider could not carry out: the step's one result, read back by the model next turn.
          if (turn.error !== undefined) this.note(record, 'error', turn.error);
          if (spent > cfg.maxTokensPerTask && !turn.done && !turn.gaveUp) {
            for (const _ of turn.actions) this.note(record, 'skipped', SKIPPED_FOR_BUDGET);
            this.finishStep(steps, record, screenshot, trajectory, options, maxSteps);
            throw new DomainError(
              DomainErrorCode.AGENT_TOKEN_LIMIT,
              `The task used ${spent} tokens, over its budget of ${cfg.maxTokensPerTask} (AGENT_MAX_TOKENS_PER_TASK); it was stopped after step ${step}.`,
            );
          }
          if (turn.actions.length && (await takenOver())) {
            // Planned on a screen a person may have changed since: not carried out; the model looks again.
            for (const _ of turn.actions) this.note(record, 'skipped', TAKEN_OVER);
            this.finishStep(steps, record, screenshot, trajectory, options, maxSteps);
            voided++;
            continue;
          }
          await this.tracing.withSpan(stepSpan, () => this.act(computer, turn.actions, record, screenshot, signal, model.screenshotSize, takenOver));
          this.finishStep(steps, record, screenshot, trajectory, options, maxSteps);
          if (turn.gaveUp) throw new DomainError(DomainErrorCode.AGENT_GAVE_UP, turn.gaveUp.reason);
          if (turn.done) {
            const final = await this.screenshots.take(computer, 'png', signal, model.screenshotSize);
            await trajectory?.finish({ status: 'done', answer: turn.done.answer, steps: step, usage: usageJson(usage) }, final);
            this.logger.debug(`Task finished in ${step} step(s) on ${computer.id}`);
            return { answer: turn.done.answer, model: model.name, steps, usage, screenshot: final, trajectoryId: trajectory?.taskId };
          }
        } catch (e) {
          failSpan(stepSpan, errorType(e));
          throw e;
        } finally {
          stepSpan.end();
        }
      }
      throw new DomainError(
        DomainErrorCode.AGENT_STEP_LIMIT,
        `The task was not finished within ${maxSteps} steps (AGENT_MAX_STEPS). Split it into smaller tasks or raise the limit.`,
      );
    } catch (e) {
      // Keep the progress made so far on every failure: the caller reports it.
      const base = signal.aborted
        ? abortReason(signal, 'The task')
        : isDomainError(e)
          ? e
          : new DomainError(DomainErrorCode.MODEL_ERROR, `The model failed: ${errorMessage(e)}`, { cause: e });
      // The one gate for what a failed task tells the caller and the trajectory: no secret passes, whoever wrote the text.
      const message = this.redactor.redact(base.message);
      await trajectory?.finish({ status: 'failed', error: `[${base.code}] ${message}`, steps: steps.length, usage: usageJson(usage) });
      throw new AgentTaskError(base, message, steps, usage, trajectory?.taskId, base.cause ?? e);
    } finally {
      deadline.stop();
      link.dispose();
    }
  }

  /** Waits while someone else holds the computer, with the task's time limit stopped meanwhile. */
  private async awaitTurn(gate: TurnGate | undefined, step: number, signal: AbortSignal, deadline: PausableDeadline, options: AgentRunOptions) {
    const holder = gate?.heldBy;
    if (!gate || holder === undefined) return;
    const since = performance.now();
    deadline.pause();
    options.onPause?.(holder, step);
    this.logger.debug(`Task paused at step ${step}: ${holder} holds the computer`);
    try {
      await gate.agentTurn(signal);
    } finally {
      deadline.resume();
    }
    options.onResume?.(performance.now() - since, step);
  }

  private finishStep(steps: StepRecord[], record: StepRecord, shown: Screenshot, trajectory: TrajectoryWriter | undefined, options: AgentRunOptions, maxSteps: number) {
    // Images an action returned (a zoom, a screenshot in mid-turn) go to the model once, with the step's results;
    // older steps show a placeholder, so a long task does not hold every one of them.
    for (const o of steps.at(-1)?.outcomes ?? []) delete o.image;
    steps.push(record);
    void trajectory?.step(record, shown, new Date()); // ordered by the writer; finish() waits for it
    options.onStep?.(record, maxSteps);
  }

  private note(record: StepRecord, status: 'ok' | 'error' | 'skipped', text: string, coordinate?: [number, number], image?: Screenshot) {
    record.outcomes.push({ status, text, ...(coordinate ? { coordinate } : {}), ...(image ? { image } : {}) });
    record.results.push(status === 'ok' ? text : status === 'error' ? `error: ${text}` : text === TAKEN_OVER ? 'not executed (a person took control meanwhile)' : 'not executed');
  }

  /**
   * Carries out a turn's actions in order, in the coordinates of the screenshot the model saw. A failed action is
   * reported back to the model and the rest of the turn is skipped (they usually depend on it); a dead computer
   * or a cancellation ends the task, and no action starts after the abort. A screenshot asked for in the middle of
   * a turn shows the screen at that moment (the one after the turn is taken anyway). Whatever looks at the screen
   * after actions that change it (a mid-turn screenshot or zoom, the next step's screenshot) first waits for the
   * screen to settle, so the model sees what its actions did; the last wait is kept in `record.settle`. When a
   * person takes the computer between two actions, the loop waits for them to hand it back and the rest of the
   * turn is not carried out (the screen may have changed).
   */
  private async act(
    computer: Computer,
    actions: ComputerAction[],
    record: StepRecord,
    shown: Screenshot,
    signal: AbortSignal,
    size?: ImageSize,
    takenOver: () => Promise<boolean> = async () => false,
  ) {
    let failed = false;
    let interrupted = false;
    /** When the earliest action whose effect no screenshot has waited for yet began (performance.now()). */
    let unsettledSince: number | undefined;
    const settle = async () => {
      const since = unsettledSince;
      unsettledSince = undefined;
      return since === undefined ? undefined : this.actions.settle(computer, since, signal);
    };
    for (const [i, action] of actions.entries()) {
      if (failed) {
        this.note(record, 'skipped', NOT_EXECUTED);
        continue;
      }
      if (signal.aborted) throw abortReason(signal, 'The task');
      if (interrupted || (await takenOver())) {
        interrupted = true;
        this.note(record, 'skipped', TAKEN_OVER);
        continue;
      }
      let began: number | undefined;
      try {
        const looks = action.action === 'screenshot' || action.action === 'zoom';
        const settled = looks ? await settle() : undefined;
        began = performance.now();
        const outcome = await this.actions.run(computer, action, signal, shown, size);
        if (SETTLES_AFTER.has(action.action)) unsettledSince ??= began;
        const midTurnShot = action.action === 'screenshot' && i < actions.length - 1;
        const image = outcome.image ?? (midTurnShot ? await this.screenshots.take(computer, 'png', signal, size) : undefined);
        this.note(record, 'ok', settled ? `${outcome.summary} (${describeSettle(settled)})` : outcome.summary, outcome.coordinate, image);
      } catch (e) {
        if (signal.aborted) throw abortReason(signal, 'The task');
        if (isDomainError(e, 'COMPUTER_FAILED') || isDomainError(e, 'CANCELLED')) throw e;
        // An action that failed part-way may have changed the screen; one refused for its arguments did nothing.
        if (began !== undefined && SETTLES_AFTER.has(action.action) && !isDomainError(e, 'INVALID_ARGUMENT')) unsettledSince ??= began;
        this.note(record, 'error', errorMessage(e));
        failed = true;
      }
    }
    const settled = await settle();
    if (settled) record.settle = settled;
  }

  /**
   * One model call, retried with backoff on retryable failures (honouring the server's retry-after): a span (`chat <model>`,
   * the GenAI conventions' attributes, the tokens, how many retries, an event per retry with its HTTP status and wait).
   */
  private async ask(model: CuaModel, provider: string, input: ModelInput, signal: AbortSignal, options: AgentRunOptions): Promise<ModelTurn> {
    const requested = model.name.startsWith(`${provider}/`) ? model.name.slice(provider.length + 1) : model.name;
    const span = this.tracing.startSpan(`chat ${requested}`, {
      kind: SpanKind.CLIENT,
      attributes: { [ATTR_GEN_AI_OPERATION_NAME]: 'chat', [ATTR_GEN_AI_PROVIDER_NAME]: genAiProvider(provider), [ATTR_GEN_AI_REQUEST_MODEL]: requested, [ATTR_CUA_MODEL_RETRIES]: 0 },
    });
    try {
      const turn = await this.askWithRetries(model, input, signal, options, span);
      span.setAttributes(usageAttributes(turn.usage));
      return turn;
    } catch (e) {
      failSpan(span, errorType(e));
      throw e;
    } finally {
      span.end();
    }
  }

  private async askWithRetries(model: CuaModel, input: ModelInput, signal: AbortSignal, options: AgentRunOptions, span: Span): Promise<ModelTurn> {
    const cfg = this.settings;
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) throw abortReason(signal, 'The task');
      try {
        return await model.next(input, signal);
      } catch (e) {
        if (signal.aborted) throw abortReason(signal, 'The task');
        if (isDomainError(e)) throw e;
        const call = e instanceof ModelCallError ? e : undefined;
        if (!call?.retryable || attempt >= cfg.maxRetries) {
          const tries = attempt ? ` after ${attempt + 1} attempts` : '';
          throw new DomainError(DomainErrorCode.MODEL_ERROR, `The model ${model.name} failed${tries}: ${errorMessage(e)}`, { cause: e });
        }
        const wait = call.retryAfterMs ?? backoffDelay(attempt, { baseMs: cfg.retryBaseMs, maxMs: cfg.retryMaxMs });
        const why = call.status ? `HTTP ${call.status}` : 'a network error';
        this.logger.warn(`${model.name}: ${why} (${this.redactor.redact(call.message)}); retry ${attempt + 1} of ${cfg.maxRetries} in ${wait} ms`);
        options.onRetry?.(`the model answered ${why}; retrying in ${Math.ceil(wait / 1000)} s (retry ${attempt + 1} of ${cfg.maxRetries})`);
        span.setAttribute(ATTR_CUA_MODEL_RETRIES, attempt + 1);
        span.addEvent('retry', { ...(call.status && { [ATTR_HTTP_RESPONSE_STATUS_CODE]: call.status }), [ATTR_CUA_RETRY_WAIT_MS]: wait });
        await sleep(wait, signal);
      }
    }
  }
}

/**
 * The task's time limit (AGENT_TASK_TIMEOUT_MS), stopped while the task waits for its turn on the computer:
 * `onExpire` runs once the running time, pauses left out, reaches `ms`.
 */
class PausableDeadline {
  private timer?: NodeJS.Timeout;
  private leftMs: number;
  private runningSince = 0;
  private stopped = false;

  constructor(
    ms: number,
    private readonly onExpire: () => void,
  ) {
    this.leftMs = ms;
    this.resume();
  }

  pause() {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.leftMs -= performance.now() - this.runningSince;
  }

  resume() {
    if (this.timer || this.stopped) return;
    this.runningSince = performance.now();
    this.timer = setTimeout(this.onExpire, Math.max(0, this.leftMs));
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

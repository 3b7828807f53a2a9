import { Injectable, Logger } from '@nestjs/common';
import { abortReason, DomainError, DomainErrorCode, errorMessage, isDomainError } from '../common/domain-error';
import { AppConfig } from '../config/config.module';
import { Computer, ComputerActionRunner, Screenshot, ScreenshotService } from '../computer/computer.module';
import { ModelProviderRegistry } from './model-provider.registry';
import { ModelTurn, StepRecord } from './model.port';

export interface AgentRunOptions {
  signal: AbortSignal;
  /** Called after every step, e.g. to send progress. */
  onStep?: (step: StepRecord) => void;
  maxSteps?: number;
  /** Defaults to CUA_MODEL_NAME. */
  modelName?: string;
}

export interface AgentResult {
  answer: string;
  model: string;
  steps: StepRecord[];
  /** The screen after the last step. */
  screenshot: Screenshot;
}

/** The computer-use loop: screenshot → model → actions, until the model answers or the step limit. */
@Injectable()
export class AgentService {
  private readonly logger = new Logger(AgentService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly models: ModelProviderRegistry,
    private readonly screenshots: ScreenshotService,
    private readonly actions: ComputerActionRunner,
  ) {}

  async run(task: string, computer: Computer, options: AgentRunOptions): Promise<AgentResult> {
    const { signal } = options;
    const maxSteps = options.maxSteps ?? this.config.agent.maxSteps;
    const model = this.models.create(options.modelName ?? this.config.agent.modelName);
    const steps: StepRecord[] = [];
    const fail = (e: unknown): never => {
      // Keep the progress made so far on every failure: the caller reports it.
      const base = isDomainError(e) ? e : new DomainError(DomainErrorCode.MODEL_ERROR, `The model failed: ${errorMessage(e)}`, { cause: e });
      throw new DomainError(base.code, base.message, { cause: base.cause ?? e, details: { ...base.details, steps } });
    };
    for (let step = 1; step <= maxSteps; step++) {
      if (signal.aborted) fail(abortReason(signal, 'The task'));
      let turn: ModelTurn;
      try {
        const screenshot = await this.screenshots.take(computer, 'png', signal);
        turn = await model.next({ task, step, screenshot, history: steps }, signal);
      } catch (e) {
        return fail(signal.aborted ? abortReason(signal, 'The task') : e);
      }
      const record: StepRecord = { step, thought: turn.thought, actions: turn.actions, results: [] };
      for (const action of turn.actions) {
        if (signal.aborted) fail(abortReason(signal, 'The task'));
        try {
          record.results.push((await this.actions.run(computer, action, signal)).summary);
        } catch (e) {
          // A dead computer or a cancellation ends the task; a bad action is reported back to the model.
          if (signal.aborted || isDomainError(e, 'COMPUTER_FAILED') || isDomainError(e, 'CANCELLED')) fail(signal.aborted ? abortReason(signal, 'The task') : e);
          record.results.push(`error: ${errorMessage(e)}`);
        }
      }
      steps.push(record);
      options.onStep?.(record);
      if (turn.done) {
        const screenshot = await this.screenshots.take(computer, 'png', signal).catch(fail);
        this.logger.debug(`Task finished in ${step} step(s) on ${computer.id}`);
        return { answer: turn.done.answer, model: model.name, steps, screenshot };
      }
    }
    return fail(
      new DomainError(
        DomainErrorCode.AGENT_STEP_LIMIT,
        `The task was not finished within ${maxSteps} steps (AGENT_MAX_STEPS). Split it into smaller tasks or raise the limit.`,
      ),
    );
  }
}

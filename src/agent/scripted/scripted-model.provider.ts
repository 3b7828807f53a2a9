import { Injectable } from '@nestjs/common';
import { sleep } from '../../common/async';
import { DomainError, DomainErrorCode } from '../../common/domain-error';
import { InjectSettings } from '../../config/config.module';
import { SCRIPTED_SETTINGS, type ScriptedSettings } from './scripted.settings';
import { RegisterModelProvider } from '../model-provider.registry';
import { CuaModel, ModelInput, ModelProvider, ModelTurn } from '../model.port';

/**
 * CUA_MODEL_NAME=scripted/<anything>: a deterministic stand-in for a vision model, for tests and demos.
 * It performs real computer actions, one per step, in this fixed order:
 *   1. left_click at the centre of the screen   2. type the task text   3. key Return
 * (repeating 1-3 if SCRIPTED_MODEL_STEPS is larger), and on the last step answers
 * `Done: <task>`. Each step first waits SCRIPTED_MODEL_STEP_MS (model latency; cancellable).
 * A task whose text contains "[fail]" fails at step 1 with a model error.
 */
export class ScriptedModel extends CuaModel {
  constructor(
    readonly name: string,
    private readonly steps: number,
    private readonly stepMs: number,
  ) {
    super();
  }

  async next(input: ModelInput, signal: AbortSignal): Promise<ModelTurn> {
    if (this.stepMs > 0) await sleep(this.stepMs, signal);
    if (input.task.includes('[fail]')) {
      throw new DomainError(DomainErrorCode.MODEL_ERROR, `The scripted model refuses tasks containing "[fail]" (step ${input.step}).`);
    }
    if (input.step >= this.steps) return { thought: 'The task is done.', actions: [], done: { answer: `Done: ${input.task}` } };
    const { width, height } = input.screenshot;
    switch ((input.step - 1) % 3) {
      case 0:
        return { thought: 'Focus the screen.', actions: [{ action: 'left_click', coordinate: [Math.floor(width / 2), Math.floor(height / 2)] }] };
      case 1:
        return { thought: 'Type the task.', actions: [{ action: 'type', text: input.task }] };
      default:
        return { thought: 'Submit it.', actions: [{ action: 'key', text: 'Return' }] };
    }
  }
}

@Injectable()
@RegisterModelProvider()
export class ScriptedModelProvider extends ModelProvider {
  readonly name = 'scripted';
  override readonly form = 'scripted/<name> (a deterministic demo, no key)';

  constructor(@InjectSettings(SCRIPTED_SETTINGS) private readonly settings: ScriptedSettings) {
    super();
  }

  create(model: string): CuaModel {
    return new ScriptedModel(`scripted/${model}`, this.settings.steps, this.settings.stepMs);
  }
}

import type { ComputerAction, Screenshot } from '../computer/computer.module';

export interface StepRecord {
  step: number;
  thought?: string;
  actions: ComputerAction[];
  /** One line per action: what was done, or the error the action met. */
  results: string[];
}

export interface ModelInput {
  task: string;
  /** 1-based. */
  step: number;
  /** The screen as it is now, already sized for the model. */
  screenshot: Screenshot;
  history: readonly StepRecord[];
}

/** One model turn: actions to carry out, and/or the final answer that ends the task. */
export interface ModelTurn {
  thought?: string;
  actions: ComputerAction[];
  done?: { answer: string };
}

/** A computer-use model: sees the screen, says what to do next. One instance per task run. */
export abstract class CuaModel {
  abstract readonly name: string;
  abstract next(input: ModelInput, signal: AbortSignal): Promise<ModelTurn>;
}

/**
 * A model provider serves the models whose CUA_MODEL_NAME starts with `<name>/`.
 * Register one from any Nest module with @RegisterModelProvider().
 */
export abstract class ModelProvider {
  abstract readonly name: string;
  /** `model` is the part after the slash. Throw a DomainError when it cannot be served. */
  abstract create(model: string): CuaModel;
}

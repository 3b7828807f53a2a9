import type { ComputerAction, Coordinate, Screenshot, SettleResult } from '../computer/computer.module';

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

/** What became of one action the model asked for. */
export interface ActionResult {
  /** `skipped`: not run, because an earlier action of the same turn failed, or a person took control meanwhile. */
  status: 'ok' | 'error' | 'skipped';
  /** What was done (screen pixels), or what went wrong. */
  text: string;
  /** For cursor_position: where the pointer is, in screenshot pixels. */
  coordinate?: Coordinate;
  /**
   * An image the action produced for the model to see with its result: a zoom, or a screenshot taken in the middle
   * of a turn. Only the most recent step keeps it; older steps have none (send a short placeholder instead).
   */
  image?: Screenshot;
}

/** The text the model reads for an action that was not run because an earlier one of its turn failed. */
export const NOT_EXECUTED = 'Not executed: an earlier computer action in this turn failed.';

/** The text the model reads for an action that was not run because a person took control of the desktop meanwhile. */
export const TAKEN_OVER =
  'Not executed: a person took control of the desktop after the screenshot this turn was planned on, and may have changed the screen. Look at the screen again.';

export interface StepRecord {
  step: number;
  thought?: string;
  actions: ComputerAction[];
  /** One line per action: what was done, or the error the action met. */
  results: string[];
  /** The same, per action, for the model to read back. */
  outcomes: ActionResult[];
  usage?: TokenUsage;
  /** How long the model took (retries included). */
  modelMs?: number;
  /** How the wait for the screen to settle after this step's actions ended (before the next screenshot); absent when none was needed. */
  settle?: SettleResult;
  /** The provider's own record of the turn (e.g. the assistant message), JSON-serialisable; opaque to the loop. */
  state?: unknown;
}

export interface ModelInput {
  task: string;
  /** 1-based. */
  step: number;
  /** The screen as it is now, already sized for the model. */
  screenshot: Screenshot;
  /** The earlier steps, oldest first, with what became of each action. */
  history: readonly StepRecord[];
  /**
   * The screen shown to the model at each step (index 0 = step 1; the last one is `screenshot`). Entries older than
   * the CUA_MAX_IMAGES most recent are undefined: send a short text placeholder in their place.
   */
  screens: readonly (Screenshot | undefined)[];
}

/** One model turn: actions to carry out, and/or the final answer that ends the task. */
export interface ModelTurn {
  thought?: string;
  actions: ComputerAction[];
  done?: { answer: string };
  /**
   * The answer could not be carried out as given (it could not be read, named an unknown action, or a point off the
   * image): nothing is run, the step records this text as its error, and the model reads it on its next turn.
   */
  error?: string;
  /**
   * The model ended the task without doing it (it judged the task impossible, or asked for a person's help): the step
   * is recorded, then the task fails with AGENT_GAVE_UP and this reason (a full sentence naming what the model said).
   */
  gaveUp?: { reason: string };
  /** Tokens this call used, when the vendor reports them. */
  usage?: TokenUsage;
  /** Kept with the step and handed back in `history` (e.g. the vendor's assistant message or response id). */
  state?: unknown;
}

export interface ScreenshotSize {
  maxLongEdge: number;
  maxPixels: number;
}

/**
 * A computer-use model: sees the screen, says what to do next. One instance per task run.
 * The agent loop owns retries, limits, image trimming and cancellation; a model only translates
 * between its vendor's wire format and ModelTurn, and throws ModelCallError for failed calls.
 */
export abstract class CuaModel {
  abstract readonly name: string;
  /** Screenshot size this model needs, when it differs from SCREENSHOT_MAX_LONG_EDGE / SCREENSHOT_MAX_PIXELS. */
  readonly screenshotSize?: ScreenshotSize;
  abstract next(input: ModelInput, signal: AbortSignal): Promise<ModelTurn>;
}

/**
 * A failed model call, classified for the loop: `retryable` ones (rate limits, overload, 5xx, network) are retried
 * with backoff, honouring `retryAfterMs`; the rest stop the task at once with `message` (the vendor's words).
 */
export class ModelCallError extends Error {
  override readonly name = 'ModelCallError';
  readonly retryable: boolean;
  readonly status?: number;
  readonly retryAfterMs?: number;

  constructor(message: string, options: { retryable: boolean; status?: number; retryAfterMs?: number; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options.retryable;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * A model provider serves the models whose CUA_MODEL_NAME starts with `<name>/`.
 * Register one from any Nest module with @RegisterModelProvider().
 */
export abstract class ModelProvider {
  abstract readonly name: string;
  /** How its model names are written and what they need, e.g. `anthropic/<model> (needs ANTHROPIC_API_KEY)`. */
  readonly form?: string;
  /** `model` is the part after the slash. Throw a DomainError (MODEL_ERROR for a missing key) when it cannot be served. */
  abstract create(model: string): CuaModel;
}

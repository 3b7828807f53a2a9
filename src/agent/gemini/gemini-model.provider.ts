import { Injectable } from '@nestjs/common';
import { ApiError, Environment, FinishReason, GoogleGenAI, type Content, type FunctionResponse, type GenerateContentResponse, type Part } from '@google/genai';
import { DomainError, DomainErrorCode } from '../../common/domain-error';
import { InjectSettings } from '../../config/config.module';
import type { Screenshot } from '../../computer/computer.module';
import { AGENT_SETTINGS, type AgentSettings } from '../agent.settings';
import { redact } from '../secret-redactor';
import { RegisterModelProvider } from '../model-provider.registry';
import { ActionResult, CuaModel, ModelCallError, ModelInput, ModelProvider, ModelTurn, NOT_EXECUTED, ScreenshotSize, StepRecord } from '../model.port';
import { describeGeminiCall, planGeminiCall, type GeminiFunctionCall } from './gemini-actions';
import { GEMINI_SETTINGS, type GeminiSettings } from './gemini.settings';

const MAX_OUTPUT_TOKENS = 8192;
/** Google's recommended screen size for Gemini computer use, 1440x900: larger screens are fitted into it. */
export const GEMINI_SCREEN: ScreenshotSize = { maxLongEdge: 1440, maxPixels: 1440 * 900 };
export const OMITTED = 'An older screenshot was here; only the most recent ones are kept (CUA_MAX_IMAGES).';

export type GeminiEnvironment = 'desktop' | 'browser';

/**
 * Which environment a model is told it operates. The models of the first function set (the 2.5 computer-use
 * preview, gemini-3-flash-preview, gemini-3.1-pro-preview) know only the browser; later ones also a desktop,
 * which is what this server's computers are. GEMINI_ENVIRONMENT overrides it.
 */
export function geminiEnvironmentFor(model: string, setting: 'auto' | GeminiEnvironment): GeminiEnvironment {
  if (setting !== 'auto') return setting;
  return /^gemini-(2(\.\d+)?|3|3\.[01])-/.test(model) ? 'browser' : 'desktop';
}

/** What a step keeps of a Gemini turn: the model's content, sent back unchanged (thought signatures included), and how each call went. */
interface GeminiState {
  content?: Content;
  calls: GeminiCallRecord[];
  /** The turn could not be used at all (a malformed function call): the model is told so with the next screen. */
  unusable?: string;
}

interface GeminiCallRecord {
  name: string;
  id?: string;
  /** How many of the step's actions carry out this call (in order). */
  actions: number;
  /** Why the call was not carried out (unknown, bad arguments …), or NOT_EXECUTED after such a call. */
  error?: string;
  /** The call came with a require_confirmation safety decision, acknowledged by AGENT_ACK_SAFETY_CHECKS. */
  acknowledged: boolean;
}

interface SafetyDecision {
  decision?: unknown;
  explanation?: unknown;
}

function inline(shot: Screenshot) {
  return { inlineData: { mimeType: shot.mimeType, data: shot.data.toString('base64') } };
}

function systemInstruction(environment: GeminiEnvironment) {
  return (
    `You operate a Linux desktop for a user${environment === 'browser' ? ' (a whole desktop: the browser is one of its windows)' : ''}. ` +
    'Act, then check the result on the next screenshot. When the task is done, or cannot be done, stop calling functions and reply with the final answer in plain text.'
  );
}

/** Answers the model stops with, without acting or answering, that are the vendor's refusal rather than a glitch. */
const REFUSED = new Set<string>([
  FinishReason.SAFETY, FinishReason.RECITATION, FinishReason.BLOCKLIST, FinishReason.PROHIBITED_CONTENT, FinishReason.SPII,
  FinishReason.IMAGE_SAFETY, FinishReason.IMAGE_PROHIBITED_CONTENT, FinishReason.IMAGE_RECITATION,
]);
const MALFORMED = new Set<string>([FinishReason.MALFORMED_FUNCTION_CALL, FinishReason.UNEXPECTED_TOOL_CALL]);
const RETRYABLE = new Set([408, 409, 425, 429]);

/**
 * A failed Gemini call for the loop. The SDK throws ApiError with the HTTP status and the JSON error body as
 * its message (no headers: a 429's wait comes from the body's RetryInfo), a fetch TypeError when the server
 * cannot be reached, and an AbortError when its timeout (AGENT_MODEL_TIMEOUT_MS) or our signal aborts the call.
 */
export function geminiCallError(e: unknown, signal: AbortSignal, secrets: readonly (string | undefined)[]): Error {
  if (signal.aborted) return e as Error; // the loop reports the cancellation or the timeout itself
  if (e instanceof ApiError) {
    let body: { error?: { message?: unknown; status?: unknown; details?: { '@type'?: string; retryDelay?: unknown }[] } } | undefined;
    try {
      body = JSON.parse(e.message) as typeof body;
    } catch {
      body = undefined;
    }
    const err = body?.error;
    const words = typeof err?.message === 'string' ? err.message : e.message;
    const status = typeof err?.status === 'string' ? `${err.status}: ` : '';
    const delay = err?.details?.find((d) => String(d['@type']).endsWith('google.rpc.RetryInfo'))?.retryDelay;
    // google.rpc.RetryInfo's retryDelay is a protobuf Duration in JSON: seconds with an "s", e.g. "30s" or "1.5s".
    const retryAfter = typeof delay === 'string' && /^\d+(\.\d+)?s$/.test(delay) ? Math.round(parseFloat(delay) * 1000) : undefined;
    return new ModelCallError(redact(`${e.status} ${status}${words}`, secrets), { retryable: RETRYABLE.has(e.status) || e.status >= 500, status: e.status, retryAfterMs: retryAfter, cause: e });
  }
  // (A DOMException, which is not an Error of every realm: matched by name.)
  const name = (e as { name?: unknown } | null)?.name;
  if (name === 'AbortError' || name === 'TimeoutError') {
    return new ModelCallError('the model did not answer within AGENT_MODEL_TIMEOUT_MS', { retryable: true, cause: e });
  }
  // fetch's TypeError, as thrown or as the SDK wraps it ("exception TypeError: fetch failed sending request").
  const failed = [e, (e as { cause?: unknown } | null)?.cause].find((x): x is TypeError => (x as { name?: unknown } | null)?.name === 'TypeError');
  if (failed) {
    const why = (failed.cause as { message?: unknown } | undefined)?.message;
    return new ModelCallError(redact(`could not reach the model server: ${failed.message}${typeof why === 'string' ? `: ${why}` : ''}`, secrets), { retryable: true, cause: e });
  }
  return new ModelCallError(redact(e instanceof Error ? e.message : String(e), secrets), { retryable: false, cause: e });
}

/** A Gemini model with its computer-use tool, through the Gemini API's generateContent; the conversation is rebuilt each turn. */
export class GeminiModel extends CuaModel {
  override readonly screenshotSize = GEMINI_SCREEN;

  constructor(
    readonly name: string,
    private readonly client: GoogleGenAI,
    private readonly model: string,
    readonly environment: GeminiEnvironment,
    private readonly excluded: readonly string[],
    private readonly ackSafetyChecks: boolean,
    private readonly secrets: (string | undefined)[],
  ) {
    super();
  }

  async next(input: ModelInput, signal: AbortSignal): Promise<ModelTurn> {
    let response: GenerateContentResponse;
    try {
      response = await this.client.models.generateContent({
        model: this.model,
        contents: this.contents(input),
        config: {
          systemInstruction: systemInstruction(this.environment),
          tools: [
            {
              computerUse: {
                environment: this.environment === 'desktop' ? Environment.ENVIRONMENT_DESKTOP : Environment.ENVIRONMENT_BROWSER,
                ...(this.excluded.length ? { excludedPredefinedFunctions: [...this.excluded] } : {}),
              },
            },
          ],
          thinkingConfig: { includeThoughts: true },
          maxOutputTokens: MAX_OUTPUT_TOKENS,
          abortSignal: signal,
        },
      });
    } catch (e) {
      throw geminiCallError(e, signal, this.secrets);
    }
    return this.turn(response, input.screenshot);
  }

  private turn(response: GenerateContentResponse, shot: Screenshot): ModelTurn {
    const u = response.usageMetadata;
    const usage = u ? { inputTokens: (u.promptTokenCount ?? 0) + (u.toolUsePromptTokenCount ?? 0), outputTokens: (u.candidatesTokenCount ?? 0) + (u.thoughtsTokenCount ?? 0) } : undefined;
    const candidate = response.candidates?.[0];
    if (!candidate) {
      const blocked = response.promptFeedback?.blockReason;
      if (blocked) {
        const why = response.promptFeedback?.blockReasonMessage;
        throw new ModelCallError(`Gemini refused the request (${blocked}${why ? `: ${why}` : ''}).`, { retryable: false });
      }
      throw new ModelCallError('Gemini answered with no candidate.', { retryable: true });
    }
    const parts: Part[] = candidate.content?.parts ?? [];
    const calls = parts.filter((p) => p.functionCall).map((p) => p.functionCall as GeminiFunctionCall);
    const text = parts.filter((p) => p.text && !p.thought).map((p) => p.text).join('\n').trim();
    const intents = calls.map((c) => c.args?.intent).filter((i): i is string => typeof i === 'string' && i.length > 0);
    const thoughts = parts.filter((p) => p.text && p.thought).map((p) => p.text);
    const thought = [...thoughts, text, ...intents].filter(Boolean).join('\n') || undefined;
    const finish = candidate.finishReason ?? '';

    if (!calls.length) {
      if (MALFORMED.has(finish)) {
        const unusable = `your last reply could not be used (${finish}${candidate.finishMessage ? `: ${candidate.finishMessage}` : ''}). Call one of the computer-use functions with valid arguments, or answer in plain text.`;
        const state: GeminiState = { calls: [], unusable };
        return { thought: `(${finish}: the model is told and asked again)`, actions: [], usage, state };
      }
      if (REFUSED.has(finish)) throw new ModelCallError(`Gemini refused to go on (${finish})${text ? `: ${text}` : '.'}`, { retryable: false });
      const state: GeminiState = { content: candidate.content, calls: [] };
      return { thought: thoughts.join('\n') || undefined, actions: [], done: { answer: text || `(the model stopped: ${finish || 'no reason'})` }, usage, state };
    }

    const confirm = calls.filter((c) => (c.args?.safety_decision as SafetyDecision | undefined)?.decision === 'require_confirmation');
    if (confirm.length && !this.ackSafetyChecks) {
      const asked = confirm
        .map((c) => {
          const why = (c.args?.safety_decision as SafetyDecision).explanation;
          return `${describeGeminiCall(c)}${typeof why === 'string' && why ? ` (${why})` : ''}`;
        })
        .join('; ');
      throw new DomainError(
        DomainErrorCode.SAFETY_CHECK,
        `The model asked for a person's confirmation before acting: ${asked}. The task was stopped without acting; the server confirms such actions only with AGENT_ACK_SAFETY_CHECKS=true.`,
      );
    }

    // The calls in order; once one cannot be carried out, the rest are not run (as when an action fails).
    const actions: ModelTurn['actions'] = [];
    const records: GeminiCallRecord[] = [];
    let refused = false;
    for (const call of calls) {
      const acknowledged = confirm.includes(call);
      const record = { name: call.name ?? '', ...(call.id ? { id: call.id } : {}), actions: 0, acknowledged };
      if (refused) {
        records.push({ ...record, error: NOT_EXECUTED });
        continue;
      }
      const plan = planGeminiCall(call, shot, this.excluded);
      if ('error' in plan) {
        refused = true;
        records.push({ ...record, error: plan.error });
        continue;
      }
      actions.push(...plan.actions);
      records.push({ ...record, actions: plan.actions.length });
    }
    const state: GeminiState = { content: candidate.content, calls: records };
    return { thought, actions, usage, state };
  }

  /** The whole conversation, rebuilt from the steps so far (only the most recent screens are images). */
  private contents(input: ModelInput): Content[] {
    const contents: Content[] = [];
    const user = (...parts: Part[]) => {
      const last = contents[contents.length - 1];
      if (last?.role === 'user') last.parts?.push(...parts);
      else contents.push({ role: 'user', parts });
    };
    const screen = (shot: Screenshot | undefined): Part => (shot ? inline(shot) : { text: OMITTED });
    user({ text: input.task }, screen(input.screens[0]));
    for (const [i, record] of input.history.entries()) {
      const state = record.state as GeminiState | undefined;
      const after = input.screens[i + 1];
      if (!state?.content || !state.calls.length) {
        // A turn that held nothing to answer: say why, with the screen as it is now.
        user({ text: `Note: ${state?.unusable ?? 'your last reply held no function call.'} The screen now:` }, screen(after));
        continue;
      }
      contents.push({ role: 'model', parts: state.content.parts ?? [] });
      user(...this.responses(state.calls, record, after).map((functionResponse) => ({ functionResponse })));
    }
    return contents;
  }

  /**
   * One function response per call of the step, in order (with its id when the call had one): what was done, or the
   * error; the acknowledgement of a confirmed safety decision; the screenshot a mid-turn take_screenshot showed, and
   * on the last one the screen after the turn. No `url`: the screen is a whole desktop, not one page.
   */
  private responses(calls: GeminiCallRecord[], record: StepRecord, after: Screenshot | undefined): FunctionResponse[] {
    let next = 0;
    return calls.map((call, j) => {
      const outcomes: ActionResult[] = record.outcomes.slice(next, next + call.actions);
      next += call.actions;
      const failed = outcomes.find((o) => o.status !== 'ok');
      const done = outcomes.filter((o) => o.status === 'ok').map((o) => o.text).join('; ');
      const response: Record<string, unknown> = call.error
        ? { error: call.error }
        : failed || outcomes.length < call.actions
          ? { error: failed?.text ?? NOT_EXECUTED, ...(done ? { done } : {}) }
          : { output: done };
      if (call.acknowledged) response.safety_acknowledgement = 'true';
      const last = j === calls.length - 1;
      const image = last ? after : outcomes.find((o) => o.image)?.image;
      if (last && !after) response.screenshot = OMITTED;
      return { name: call.name, ...(call.id ? { id: call.id } : {}), response, ...(image ? { parts: [inline(image)] } : {}) };
    });
  }
}

/** CUA_MODEL_NAME=gemini/<model>: Gemini computer use through Google's Gen AI SDK (GEMINI_API_KEY, GEMINI_BASE_URL). */
@Injectable()
@RegisterModelProvider()
export class GeminiModelProvider extends ModelProvider {
  readonly name = 'gemini';
  override readonly form = 'gemini/<model> (needs GEMINI_API_KEY), e.g. gemini/gemini-3.5-flash or gemini/gemini-2.5-computer-use-preview-10-2025';
  private client?: GoogleGenAI;

  constructor(
    @InjectSettings(GEMINI_SETTINGS) private readonly settings: GeminiSettings,
    @InjectSettings(AGENT_SETTINGS) private readonly agent: AgentSettings,
  ) {
    super();
  }

  create(model: string): CuaModel {
    const { apiKey, baseUrl, environment, excludedActions } = this.settings;
    if (!apiKey) {
      throw new DomainError(
        DomainErrorCode.MODEL_ERROR,
        `The model gemini/${model} needs an API key: set GEMINI_API_KEY (and GEMINI_BASE_URL for a proxy or gateway), or choose another model with CUA_MODEL_NAME.`,
      );
    }
    // The Gemini API (not Vertex AI, whatever GOOGLE_GENAI_USE_VERTEXAI says); no retryOptions: the SDK does not retry, the loop does.
    this.client ??= new GoogleGenAI({ apiKey, vertexai: false, httpOptions: { baseUrl, timeout: this.agent.modelTimeoutMs } });
    return new GeminiModel(`gemini/${model}`, this.client, model, geminiEnvironmentFor(model, environment), excludedActions, this.agent.ackSafetyChecks, [apiKey]);
  }
}

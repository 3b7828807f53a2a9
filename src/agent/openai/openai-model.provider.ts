import { Injectable } from '@nestjs/common';
import OpenAI from 'openai';
import type { Response, ResponseCreateParamsNonStreaming, ResponseInputItem } from 'openai/resources/responses/responses';
import { DomainError, DomainErrorCode } from '../../common/domain-error';
import { InjectSettings } from '../../config/config.module';
import { OPENAI_SETTINGS, type OpenAISettings } from './openai.settings';
import { AGENT_SETTINGS, type AgentSettings } from '../agent.settings';
import type { Screenshot } from '../../computer/computer.module';
import { toModelCallError } from '../model-errors';
import { RegisterModelProvider } from '../model-provider.registry';
import { CuaModel, ModelInput, ModelProvider, ModelTurn } from '../model.port';
import { fromOpenAIAction, OpenAIAction } from './openai-actions';

export type OpenAIToolForm = 'computer' | 'computer_use_preview';

/**
 * Which form a model gets (OpenAI's computer use guide, November 2026): `computer-use-preview` takes the
 * `computer_use_preview` tool (one action per call); every other model the GA `computer` tool (batched actions).
 * OPENAI_COMPUTER_TOOL overrides it.
 */
export function openAIToolFormFor(model: string, override: string): OpenAIToolForm {
  if (override === 'computer' || override === 'computer_use_preview') return override;
  return model.startsWith('computer-use-preview') ? 'computer_use_preview' : 'computer';
}

interface SafetyCheck {
  id: string;
  code?: string | null;
  message?: string | null;
}

/** What a step keeps of a response: its id (to chain the next request) and the computer calls to answer. */
interface OpenAIState {
  response_id: string;
  calls: { call_id: string; pending_safety_checks: SafetyCheck[] }[];
  output: unknown[];
}

function dataUrl(shot: Screenshot) {
  return `data:${shot.mimeType};base64,${shot.data.toString('base64')}`;
}

/** An OpenAI model behind the Responses API, with its computer tool; turns are chained with previous_response_id. */
export class OpenAIModel extends CuaModel {
  constructor(
    readonly name: string,
    private readonly client: OpenAI,
    private readonly model: string,
    readonly form: OpenAIToolForm,
    private readonly ackSafetyChecks: boolean,
    private readonly secrets: (string | undefined)[],
  ) {
    super();
  }

  async next(input: ModelInput, signal: AbortSignal): Promise<ModelTurn> {
    const { width, height } = input.screenshot;
    const params: ResponseCreateParamsNonStreaming = {
      model: this.model,
      instructions:
        `You operate a Linux desktop for a user through the computer tool. Screenshots are ${width}x${height} pixels. ` +
        'When the task is done, or cannot be done, stop using the tool and reply with the final answer.',
      tools: [this.form === 'computer' ? { type: 'computer' } : { type: 'computer_use_preview', display_width: width, display_height: height, environment: 'linux' }],
      input: this.input(input),
      ...(this.form === 'computer_use_preview' ? { truncation: 'auto' as const } : {}),
    };
    const previous = input.history[input.history.length - 1]?.state as OpenAIState | undefined;
    if (previous) params.previous_response_id = previous.response_id;
    let response: Response;
    try {
      response = await this.client.responses.create(params, { signal });
    } catch (e) {
      throw toModelCallError(e, OpenAI, this.secrets);
    }
    return this.turn(response);
  }

  /** Step 1: the task and the screen. Later: the screen after the previous call's actions, as its computer_call_output. */
  private input(input: ModelInput): ResponseInputItem[] {
    const last = input.history[input.history.length - 1];
    if (!last) {
      return [{ role: 'user', content: [{ type: 'input_text', text: input.task }, { type: 'input_image', image_url: dataUrl(input.screenshot), detail: 'auto' }] }];
    }
    const state = last.state as OpenAIState;
    const items: ResponseInputItem[] = state.calls.map((c) => ({
      type: 'computer_call_output',
      call_id: c.call_id,
      output: { type: 'computer_screenshot', image_url: dataUrl(input.screenshot) },
      // Only reached when AGENT_ACK_SAFETY_CHECKS=true: otherwise the task stopped at the check.
      ...(c.pending_safety_checks.length ? { acknowledged_safety_checks: c.pending_safety_checks } : {}),
    }));
    const failed = last.outcomes.filter((o) => o.status !== 'ok');
    if (failed.length) {
      const lines = last.actions.map((a, i) => `${i + 1}. ${a.action}: ${last.outcomes[i]?.status === 'ok' ? 'done' : (last.outcomes[i]?.text ?? 'not executed')}`);
      items.push({ role: 'user', content: [{ type: 'input_text', text: `Not every action worked:\n${lines.join('\n')}` }] });
    }
    return items;
  }

  private turn(response: Response): ModelTurn {
    const usage = response.usage ? { inputTokens: response.usage.input_tokens, outputTokens: response.usage.output_tokens } : undefined;
    const calls = response.output.filter((o) => o.type === 'computer_call');
    const reasoning = response.output
      .filter((o) => o.type === 'reasoning')
      .flatMap((o) => o.summary.map((s) => s.text))
      .join('\n');
    const text = response.output_text?.trim() ?? '';
    const thought = [reasoning, text].filter(Boolean).join('\n') || undefined;
    const checks = calls.flatMap((c) => c.pending_safety_checks);
    if (checks.length && !this.ackSafetyChecks) {
      const list = checks.map((c) => `${c.code ?? 'check'}: ${c.message ?? '(no message)'}`).join('; ');
      throw new DomainError(
        DomainErrorCode.SAFETY_CHECK,
        `The model raised safety checks before acting (${list}). The task was stopped without acting; the server acknowledges safety checks only with AGENT_ACK_SAFETY_CHECKS=true.`,
      );
    }
    const actions = calls.flatMap((c) => ((c.actions?.length ? c.actions : c.action ? [c.action] : []) as OpenAIAction[]).map(fromOpenAIAction));
    const state: OpenAIState = {
      response_id: response.id,
      calls: calls.map((c) => ({ call_id: c.call_id, pending_safety_checks: c.pending_safety_checks.map(({ id, code, message }) => ({ id, code, message })) })),
      output: response.output,
    };
    if (!calls.length) return { thought, actions: [], done: { answer: text || `(the model stopped: ${response.status ?? 'no reason'})` }, usage, state };
    return { thought, actions, usage, state };
  }
}

/** CUA_MODEL_NAME=openai/<model>: OpenAI's Responses API with its computer tool (OPENAI_API_KEY, OPENAI_BASE_URL). */
@Injectable()
@RegisterModelProvider()
export class OpenAIModelProvider extends ModelProvider {
  readonly name = 'openai';
  override readonly form = 'openai/<model> (needs OPENAI_API_KEY), e.g. openai/gpt-5.4 or openai/computer-use-preview';
  private client?: OpenAI;

  constructor(@InjectSettings(OPENAI_SETTINGS) private readonly settings: OpenAISettings,
    @InjectSettings(AGENT_SETTINGS) private readonly agent: AgentSettings,) {
    super();
  }

  create(model: string): CuaModel {
    const { apiKey, baseUrl, computerTool } = this.settings;
    if (!apiKey) {
      throw new DomainError(
        DomainErrorCode.MODEL_ERROR,
        `The model openai/${model} needs an API key: set OPENAI_API_KEY (and OPENAI_BASE_URL for a proxy or gateway), or choose another model with CUA_MODEL_NAME.`,
      );
    }
    this.client ??= new OpenAI({ apiKey, baseURL: baseUrl, maxRetries: 0, timeout: this.agent.modelTimeoutMs });
    return new OpenAIModel(`openai/${model}`, this.client, model, openAIToolFormFor(model, computerTool), this.agent.ackSafetyChecks, [apiKey]);
  }
}

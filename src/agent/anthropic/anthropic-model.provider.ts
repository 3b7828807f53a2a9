import { Injectable } from '@nestjs/common';
import Anthropic from '@anthropic-ai/sdk';
import type {
  BetaContentBlockParam,
  BetaImageBlockParam,
  BetaMessageParam,
  BetaTextBlockParam,
  BetaToolResultBlockParam,
  BetaToolUseBlock,
} from '@anthropic-ai/sdk/resources/beta';
import { DomainError, DomainErrorCode } from '../../common/domain-error';
import { InjectSettings } from '../../config/config.module';
import { ANTHROPIC_SETTINGS, type AnthropicSettings } from './anthropic.settings';
import { AGENT_SETTINGS, type AgentSettings } from '../agent.settings';
import type { ComputerAction, Screenshot } from '../../computer/computer.module';
import { toModelCallError } from '../model-errors';
import { RegisterModelProvider } from '../model-provider.registry';
import { CuaModel, ModelCallError, ModelInput, ModelProvider, ModelTurn, StepRecord } from '../model.port';
import { AnthropicToolForm, BETA_FLAG, toolFormFor } from './computer-tool-forms';
import { ReplayedComputerToolset } from './replayed-computer-toolset';

const MAX_TOKENS = 8192;
export const OMITTED = '[An older screenshot was here; only the most recent ones are kept (CUA_MAX_IMAGES).]';

/** What a step keeps of a Claude turn, to send it back unchanged (thinking blocks included). */
interface AnthropicState {
  content: unknown[];
}

/** The parts of a Message (standard or beta) the model reads. */
interface Reply {
  content: unknown[];
  stop_reason: string | null;
  usage: { input_tokens: number; output_tokens: number; cache_creation_input_tokens?: number | null; cache_read_input_tokens?: number | null };
}

function systemPrompt(shot: Screenshot) {
  return (
    `You operate a Linux desktop for a user through the computer tool. Screenshots are ${shot.width}x${shot.height} pixels; ` +
    'give every coordinate in those pixels. Act, then check the result on the next screenshot. When the task is done, or ' +
    'cannot be done, stop using tools and reply with the final answer in plain text.'
  );
}

function image(shot: Screenshot | undefined): BetaTextBlockParam | BetaImageBlockParam {
  if (!shot) return { type: 'text', text: OMITTED };
  return { type: 'image', source: { type: 'base64', media_type: shot.mimeType, data: shot.data.toString('base64') } };
}

/** A Claude model behind the Messages API, in the computer-use form its model family takes. */
export class AnthropicModel extends CuaModel {
  private readonly toolset = new ReplayedComputerToolset();

  constructor(
    readonly name: string,
    private readonly client: Anthropic,
    private readonly model: string,
    readonly form: AnthropicToolForm,
    private readonly secrets: (string | undefined)[],
  ) {
    super();
  }

  async next(input: ModelInput, signal: AbortSignal): Promise<ModelTurn> {
    const messages = await this.messages(input);
    const system = systemPrompt(input.screenshot);
    let message: Reply;
    try {
      if (this.form === 'computer_toolset_20260801') {
        // GA: the standard client, no beta header. The beta param types describe the same wire blocks.
        message = await this.client.messages.create(
          { model: this.model, max_tokens: MAX_TOKENS, system, tools: [this.toolset.toJSON()], messages: messages as Anthropic.MessageParam[] },
          { signal },
        );
      } else {
        const { width, height } = input.screenshot;
        message = await this.client.beta.messages.create(
          {
            model: this.model,
            max_tokens: MAX_TOKENS,
            system,
            tools: [
              {
                type: this.form,
                name: 'computer',
                display_width_px: width,
                display_height_px: height,
                ...(this.form === 'computer_20251124' ? { enable_zoom: true } : {}),
              },
            ],
            betas: [BETA_FLAG[this.form]],
            messages,
          },
          { signal },
        );
      }
    } catch (e) {
      throw toModelCallError(e, Anthropic, this.secrets);
    }
    return this.turn(message);
  }

  private turn(message: Reply): ModelTurn {
    const blocks = message.content as { type: string; text?: string; name?: string; input?: unknown; toolset_name?: string | null }[];
    const text = blocks.filter((b) => b.type === 'text').map((b) => b.text ?? '').join('\n').trim();
    const u = message.usage;
    const usage = {
      inputTokens: (u.input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0),
      outputTokens: u.output_tokens ?? 0,
    };
    if (message.stop_reason === 'refusal') throw new ModelCallError(`The model refused the task${text ? `: ${text}` : '.'}`, { retryable: false });
    const actions: ComputerAction[] = blocks
      .filter((b) => b.type === 'tool_use')
      .map((b) => {
        const args = (b.input && typeof b.input === 'object' ? b.input : {}) as Record<string, unknown>;
        // Toolset: the member is the action. Versioned tool: input.action names it. Anything else is reported back as unknown.
        return (b.toolset_name === 'computer' ? { ...args, action: b.name } : b.name === 'computer' ? args : { action: b.name }) as unknown as ComputerAction;
      });
    const state: AnthropicState = { content: message.content };
    if (!actions.length) return { thought: text || undefined, actions, done: { answer: text || `(the model stopped: ${message.stop_reason ?? 'no reason'})` }, usage, state };
    return { thought: text || undefined, actions, usage, state };
  }

  /** The whole conversation, rebuilt from the steps so far (only the most recent screens are images). */
  private async messages(input: ModelInput): Promise<BetaMessageParam[]> {
    const messages: BetaMessageParam[] = [
      { role: 'user', content: [{ type: 'text', text: input.task }, { type: 'text', text: 'The screen now:' }, image(input.screens[0])] },
    ];
    for (const [i, record] of input.history.entries()) {
      const content = (record.state as AnthropicState | undefined)?.content ?? [];
      messages.push({ role: 'assistant', content: content as BetaContentBlockParam[] });
      messages.push({ role: 'user', content: await this.results(record, content, input.screens[i + 1]) });
    }
    return messages;
  }

  /** One tool_result per tool_use of the step (in order), then the screen after them. */
  private async results(record: StepRecord, content: unknown[], after: Screenshot | undefined): Promise<BetaContentBlockParam[]> {
    const uses = (content as BetaToolUseBlock[]).filter((b) => b.type === 'tool_use');
    const out: BetaContentBlockParam[] = [];
    let screenShown = false;
    for (const [j, use] of uses.entries()) {
      const outcome = record.outcomes[j] ?? { status: 'skipped', text: 'This action was not carried out.' };
      const last = j === uses.length - 1;
      if (this.form === 'computer_toolset_20260801' && use.toolset_name === 'computer') {
        // A screenshot member shows the screen it was taken at: mid-turn, its own image; last in the turn, the screen after.
        const shows = use.name === 'zoom' || use.name === 'screenshot' ? (outcome.image ?? (last && use.name === 'screenshot' ? after : undefined)) : undefined;
        if ((use.name === 'screenshot' || use.name === 'zoom') && outcome.status === 'ok' && !shows) {
          out.push({ type: 'tool_result', tool_use_id: use.id, toolset_name: 'computer', content: [{ type: 'text', text: OMITTED }] });
        } else {
          out.push(await this.toolset.answer(use, outcome, shows));
          screenShown ||= last && use.name === 'screenshot' && outcome.status === 'ok';
        }
        continue;
      }
      const result: BetaToolResultBlockParam = { type: 'tool_result', tool_use_id: use.id, content: [{ type: 'text', text: outcome.text }] };
      if (outcome.status !== 'ok') result.is_error = true;
      else if (outcome.image) result.content = [{ type: 'text', text: outcome.text }, image(outcome.image)];
      else if (last && after) {
        result.content = [{ type: 'text', text: outcome.text }, image(after)];
        screenShown = true;
      }
      out.push(result);
    }
    if (!screenShown) out.push({ type: 'text', text: 'The screen now:' }, image(after));
    return out;
  }
}

/** CUA_MODEL_NAME=anthropic/<model>: Claude through the Messages API (ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL). */
@Injectable()
@RegisterModelProvider()
export class AnthropicModelProvider extends ModelProvider {
  readonly name = 'anthropic';
  override readonly form = 'anthropic/<model> (needs ANTHROPIC_API_KEY), e.g. anthropic/claude-sonnet-5-5';
  private client?: Anthropic;

  constructor(@InjectSettings(ANTHROPIC_SETTINGS) private readonly settings: AnthropicSettings,
    @InjectSettings(AGENT_SETTINGS) private readonly agent: AgentSettings,) {
    super();
  }

  create(model: string): CuaModel {
    const { apiKey, baseUrl, computerTool } = this.settings;
    if (!apiKey) {
      throw new DomainError(
        DomainErrorCode.MODEL_ERROR,
        `The model anthropic/${model} needs an API key: set ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL for a proxy or gateway), or choose another model with CUA_MODEL_NAME.`,
      );
    }
    this.client ??= new Anthropic({ apiKey, baseURL: baseUrl, maxRetries: 0, timeout: this.agent.modelTimeoutMs });
    return new AnthropicModel(`anthropic/${model}`, this.client, model, toolFormFor(model, computerTool), [apiKey]);
  }
}

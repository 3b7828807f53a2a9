import { Injectable } from '@nestjs/common';
import OpenAI from 'openai';
import type {
  ChatCompletion,
  ChatCompletionContentPart,
  ChatCompletionMessageParam,
  ChatCompletionMessageToolCall,
} from 'openai/resources/chat/completions';
import { DomainError, DomainErrorCode } from '../../common/domain-error';
import { InjectSettings } from '../../config/config.module';
import { OPENAI_COMPATIBLE_SETTINGS, type OpenAICompatibleSettings } from './openai-compatible.settings';
import { AGENT_SETTINGS, type AgentSettings } from '../agent.settings';
import type { ComputerAction, Screenshot } from '../../computer/computer.module';
import { toModelCallError } from '../model-errors';
import { RegisterModelProvider } from '../model-provider.registry';
import { CuaModel, ModelInput, ModelProvider, ModelTurn } from '../model.port';
import { COMPUTER_FUNCTION } from './computer-function';

export const OMITTED = '[An older screenshot was here; only the most recent ones are kept (CUA_MAX_IMAGES).]';

/** What a step keeps of a chat turn: the assistant message, to send it back. */
interface ChatState {
  content: string | null;
  tool_calls: ChatCompletionMessageToolCall[];
}

function screen(shot: Screenshot | undefined): ChatCompletionContentPart {
  if (!shot) return { type: 'text', text: OMITTED };
  return { type: 'image_url', image_url: { url: `data:${shot.mimeType};base64,${shot.data.toString('base64')}` } };
}

function parseCall(call: ChatCompletionMessageToolCall): ComputerAction {
  if (call.type !== 'function' || call.function.name !== 'computer') return { action: (call.type === 'function' ? call.function.name : call.type) as ComputerAction['action'] };
  try {
    const args = JSON.parse(call.function.arguments || '{}') as unknown;
    if (args && typeof args === 'object' && typeof (args as { action?: unknown }).action === 'string') return args as ComputerAction;
  } catch {
    // reported back to the model below
  }
  return { action: `(invalid arguments: ${call.function.arguments.slice(0, 200)})` as ComputerAction['action'] };
}

/**
 * A vision model behind any OpenAI-style chat-completions server (vLLM, Ollama, LM Studio …), driving the computer
 * through function calling: one `computer` function whose schema is this server's action set.
 */
export class OpenAICompatibleModel extends CuaModel {
  constructor(
    readonly name: string,
    private readonly client: OpenAI,
    private readonly model: string,
    private readonly secrets: (string | undefined)[],
  ) {
    super();
  }

  async next(input: ModelInput, signal: AbortSignal): Promise<ModelTurn> {
    let completion: ChatCompletion;
    try {
      completion = await this.client.chat.completions.create(
        { model: this.model, messages: this.messages(input), tools: [{ type: 'function', function: COMPUTER_FUNCTION }], tool_choice: 'auto' },
        { signal },
      );
    } catch (e) {
      throw toModelCallError(e, OpenAI, this.secrets);
    }
    const message = completion.choices[0]?.message;
    const usage = completion.usage ? { inputTokens: completion.usage.prompt_tokens, outputTokens: completion.usage.completion_tokens } : undefined;
    const text = message?.content?.trim() ?? '';
    const calls = message?.tool_calls ?? [];
    const state: ChatState = { content: message?.content ?? null, tool_calls: calls };
    if (!calls.length) return { thought: text || undefined, actions: [], done: { answer: text || '(the model gave no answer)' }, usage, state };
    return { thought: text || undefined, actions: calls.map(parseCall), usage, state };
  }

  private messages(input: ModelInput): ChatCompletionMessageParam[] {
    const { width, height } = input.screenshot;
    const messages: ChatCompletionMessageParam[] = [
      {
        role: 'system',
        content:
          `You operate a Linux desktop for a user by calling the computer function. Screenshots are ${width}x${height} pixels; ` +
          'give coordinates in those pixels. After acting you get a new screenshot. When the task is done, or cannot be done, ' +
          'reply with the final answer in plain text and call no function.',
      },
      { role: 'user', content: [{ type: 'text', text: input.task }, { type: 'text', text: 'The screen now:' }, screen(input.screens[0])] },
    ];
    for (const [i, record] of input.history.entries()) {
      const state = record.state as ChatState;
      messages.push({ role: 'assistant', content: state.content, tool_calls: state.tool_calls });
      state.tool_calls.forEach((call, j) => {
        const o = record.outcomes[j];
        messages.push({ role: 'tool', tool_call_id: call.id, content: !o ? 'not executed' : o.status === 'ok' ? o.text : `error: ${o.text}` });
      });
      // A screenshot the model asked for in the middle of its turn: the screen at that moment, before the one after the turn.
      const midTurn = record.outcomes.flatMap((o, j) => (o.image ? [{ type: 'text' as const, text: `The screen after call ${j + 1} of your turn:` }, screen(o.image)] : []));
      messages.push({ role: 'user', content: [...midTurn, { type: 'text', text: 'The screen now:' }, screen(input.screens[i + 1])] });
    }
    return messages;
  }
}

/**
 * CUA_MODEL_NAME=openai-compatible/<model>: a self-hosted or third-party chat-completions server with vision and
 * function calling (OPENAI_COMPATIBLE_BASE_URL, optional OPENAI_COMPATIBLE_API_KEY).
 */
@Injectable()
@RegisterModelProvider()
export class OpenAICompatibleModelProvider extends ModelProvider {
  readonly name = 'openai-compatible';
  override readonly form = 'openai-compatible/<model> (needs OPENAI_COMPATIBLE_BASE_URL), e.g. openai-compatible/Qwen/Qwen2.5-VL-7B-Instruct';
  private client?: OpenAI;

  constructor(@InjectSettings(OPENAI_COMPATIBLE_SETTINGS) private readonly settings: OpenAICompatibleSettings,
    @InjectSettings(AGENT_SETTINGS) private readonly agent: AgentSettings,) {
    super();
  }

  create(model: string): CuaModel {
    const { apiKey, baseUrl } = this.settings;
    if (!baseUrl) {
      throw new DomainError(
        DomainErrorCode.MODEL_ERROR,
        `The model openai-compatible/${model} needs its server: set OPENAI_COMPATIBLE_BASE_URL (e.g. http://127.0.0.1:8000/v1 for vLLM, http://127.0.0.1:11434/v1 for Ollama).`,
      );
    }
    // Many local servers need no key; the SDK insists on one.
    this.client ??= new OpenAI({ apiKey: apiKey ?? 'none', baseURL: baseUrl, maxRetries: 0, timeout: this.agent.modelTimeoutMs });
    return new OpenAICompatibleModel(`openai-compatible/${model}`, this.client, model, [apiKey]);
  }
}

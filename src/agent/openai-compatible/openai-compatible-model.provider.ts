import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import OpenAI from 'openai';
import { discoverNamed } from '../../common/discover';
import { DomainError, DomainErrorCode } from '../../common/domain-error';
import { InjectSettings } from '../../config/config.module';
import { AGENT_SETTINGS, type AgentSettings } from '../agent.settings';
import { RegisterModelProvider } from '../model-provider.registry';
import { CuaModel, ModelProvider } from '../model.port';
import { ChatFamily, RegisterChatFamily } from './chat-family';
import { FamilyModel } from './family-model';
import { OPENAI_COMPATIBLE_SETTINGS, type OpenAICompatibleSettings } from './openai-compatible.settings';

export { OMITTED } from './families/generic/generic.family';

/**
 * CUA_MODEL_NAME=openai-compatible/<model>: a self-hosted or third-party chat-completions server (vLLM, Ollama,
 * LM Studio …; OPENAI_COMPATIBLE_BASE_URL, optional OPENAI_COMPATIBLE_API_KEY), prompted and read as the model
 * family OPENAI_COMPATIBLE_MODEL_FAMILY names (a ChatFamily registered with @RegisterChatFamily()).
 */
@Injectable()
@RegisterModelProvider()
export class OpenAICompatibleModelProvider extends ModelProvider implements OnModuleInit {
  readonly name = 'openai-compatible';
  override readonly form = 'openai-compatible/<model> (needs OPENAI_COMPATIBLE_BASE_URL), e.g. openai-compatible/ByteDance-Seed/UI-TARS-1.5-7B with OPENAI_COMPATIBLE_MODEL_FAMILY=uitars';
  private client?: OpenAI;
  private families?: Map<string, ChatFamily>;

  constructor(
    @InjectSettings(OPENAI_COMPATIBLE_SETTINGS) private readonly settings: OpenAICompatibleSettings,
    @InjectSettings(AGENT_SETTINGS) private readonly agent: AgentSettings,
    private readonly discovery: DiscoveryService,
  ) {
    super();
  }

  /** A family name that names nothing stops the boot, whichever model is configured. */
  onModuleInit(): void {
    this.family();
  }

  /** The family OPENAI_COMPATIBLE_MODEL_FAMILY names, among those registered. */
  private family(): ChatFamily {
    this.families ??= discoverNamed(this.discovery, RegisterChatFamily, ChatFamily, 'model family');
    const family = this.families.get(this.settings.family);
    if (!family) {
      throw new Error(`OPENAI_COMPATIBLE_MODEL_FAMILY=${this.settings.family} names no model family. Registered: ${[...this.families.keys()].sort().join(', ')}.`);
    }
    return family;
  }

  create(model: string): CuaModel {
    const { apiKey, baseUrl, imageMaxPixels } = this.settings;
    if (!baseUrl) {
      throw new DomainError(
        DomainErrorCode.MODEL_ERROR,
        `The model openai-compatible/${model} needs its server: set OPENAI_COMPATIBLE_BASE_URL (e.g. http://127.0.0.1:8000/v1 for vLLM, http://127.0.0.1:11434/v1 for Ollama).`,
      );
    }
    const family = this.family();
    let sizing = family.sizing;
    if (sizing && imageMaxPixels !== undefined) {
      if (imageMaxPixels < sizing.minPixels) {
        throw new DomainError(
          DomainErrorCode.MODEL_ERROR,
          `OPENAI_COMPATIBLE_IMAGE_MAX_PIXELS=${imageMaxPixels} is below the smallest image the ${family.name} family takes (${sizing.minPixels} pixels).`,
        );
      }
      sizing = { ...sizing, maxPixels: Math.min(sizing.maxPixels, imageMaxPixels) };
    }
    if (family.coordinates !== 'screenshot' && !sizing) throw new Error(`The model family ${family.name} measures points on its own images but declares no sizing.`);
    // Many local servers need no key; the SDK insists on one.
    this.client ??= new OpenAI({ apiKey: apiKey ?? 'none', baseURL: baseUrl, maxRetries: 0, timeout: this.agent.modelTimeoutMs });
    return new FamilyModel(`openai-compatible/${model}`, family, sizing, this.client, model, [apiKey]);
  }
}

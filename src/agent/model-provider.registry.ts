import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { discoverNamed } from '../common/discover';
import { DomainError, DomainErrorCode, isDomainError } from '../common/domain-error';
import { InjectSettings } from '../config/config.module';
import { AGENT_SETTINGS, type AgentSettings } from './agent.settings';
import { CuaModel, ModelProvider } from './model.port';

/**
 * A model name whose provider part (before the slash) names no registered model provider. The message lists
 * the valid forms and leaves it to the caller to name the bad value, once.
 */
export class UnknownModelProviderError extends DomainError {
  constructor(readonly forms: string) {
    super(DomainErrorCode.INVALID_ARGUMENT, `the part before the slash names no registered model provider. Write provider/model with one of: ${forms}.`);
  }
}

/** Marks a ModelProvider subclass (listed in some module's providers) as a model provider. */
export const RegisterModelProvider = DiscoveryService.createDecorator<void>();

/** Finds every registered ModelProvider; builds the model CUA_MODEL_NAME (or a call's `model`) names. */
@Injectable()
export class ModelProviderRegistry implements OnModuleInit {
  private readonly logger = new Logger('Models');
  private readonly providers = new Map<string, ModelProvider>();

  constructor(
    private readonly discovery: DiscoveryService,
    @InjectSettings(AGENT_SETTINGS) private readonly settings: AgentSettings,
  ) {}

  onModuleInit(): void {
    for (const [name, provider] of discoverNamed(this.discovery, RegisterModelProvider, ModelProvider, 'model provider')) {
      this.providers.set(name, provider);
    }
    // Fail at boot, not at the first task, when a configured model cannot be served: except the default model
    // without its key, so that the server still starts for the low-level tools (run_cua_task then says what to set).
    const { modelName, modelNameExplicit, allowedModels } = this.settings;
    for (const name of allowedModels) {
      try {
        this.create(name);
      } catch (e) {
        if (name === modelName && !modelNameExplicit && isDomainError(e, 'MODEL_ERROR')) {
          this.logger.warn(
            `!!! run_cua_task cannot work yet: ${e.message} The other tools (screenshot_cua, computer, run_command, sessions) work without a model.`,
          );
          continue;
        }
        const setting = name === modelName ? 'CUA_MODEL_NAME' : 'AGENT_ALLOWED_MODELS';
        // An unknown provider's error already lists the valid forms.
        const forms = e instanceof UnknownModelProviderError ? '' : ` Valid forms: ${this.forms()}.`;
        throw new Error(`${setting}=${name}: ${(e as Error).message}${forms}`, { cause: e });
      }
    }
  }

  names(): string[] {
    return [...this.providers.keys()].sort();
  }

  /** How each provider's models are written, e.g. "anthropic/<model> (needs ANTHROPIC_API_KEY)". */
  forms(): string {
    return this.names()
      .map((n) => this.providers.get(n)?.form ?? `${n}/<model>`)
      .join('; ');
  }

  create(modelName: string): CuaModel {
    const slash = modelName.indexOf('/');
    const prefix = slash > 0 ? modelName.slice(0, slash) : '';
    const provider = this.providers.get(prefix);
    if (!provider) throw new UnknownModelProviderError(this.forms());
    return provider.create(modelName.slice(slash + 1));
  }
}

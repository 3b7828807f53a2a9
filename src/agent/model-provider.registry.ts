import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { discoverNamed } from '../common/discover';
import { DomainError, DomainErrorCode } from '../common/domain-error';
import { AppConfig } from '../config/config.module';
import { CuaModel, ModelProvider } from './model.port';

/** Marks a ModelProvider subclass (listed in some module's providers) as a model provider. */
export const RegisterModelProvider = DiscoveryService.createDecorator<void>();

/** Finds every registered ModelProvider; builds the model CUA_MODEL_NAME names. */
@Injectable()
export class ModelProviderRegistry implements OnModuleInit {
  private readonly providers = new Map<string, ModelProvider>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    for (const [name, provider] of discoverNamed(this.discovery, RegisterModelProvider, ModelProvider, 'model provider')) {
      this.providers.set(name, provider);
    }
    // Fail at boot, not at the first task, when CUA_MODEL_NAME cannot be served.
    this.create(this.config.agent.modelName);
  }

  names(): string[] {
    return [...this.providers.keys()].sort();
  }

  create(modelName: string): CuaModel {
    const slash = modelName.indexOf('/');
    const prefix = slash > 0 ? modelName.slice(0, slash) : '';
    const provider = this.providers.get(prefix);
    if (!provider) {
      throw new DomainError(
        DomainErrorCode.INVALID_ARGUMENT,
        `CUA_MODEL_NAME=${modelName}: no model provider "${prefix}". Known providers: ${this.names().join(', ')} (write provider/model, e.g. scripted/demo).`,
      );
    }
    return provider.create(modelName.slice(slash + 1));
  }
}

import { Module } from '@nestjs/common';
import { AnthropicModelProvider } from './anthropic-model.provider';

/** Registers the `anthropic/<model>` model provider. */
@Module({ providers: [AnthropicModelProvider] })
export class AnthropicModelModule {}

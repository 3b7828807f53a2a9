import { Module } from '@nestjs/common';
import { OpenAICompatibleModelProvider } from './openai-compatible-model.provider';

/** Registers the `openai-compatible/<model>` model provider. */
@Module({ providers: [OpenAICompatibleModelProvider] })
export class OpenAICompatibleModelModule {}

import { Module } from '@nestjs/common';
import { OpenAIModelProvider } from './openai-model.provider';

/** Registers the `openai/<model>` model provider. */
@Module({ providers: [OpenAIModelProvider] })
export class OpenAIModelModule {}

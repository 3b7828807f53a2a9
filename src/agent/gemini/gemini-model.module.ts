import { Module } from '@nestjs/common';
import { GeminiModelProvider } from './gemini-model.provider';

/** Registers the `gemini/<model>` model provider. */
@Module({ providers: [GeminiModelProvider] })
export class GeminiModelModule {}

import { Module } from '@nestjs/common';
import { ScriptedModelProvider } from './scripted-model.provider';

/** Registers the `scripted/<name>` model provider. */
@Module({ providers: [ScriptedModelProvider] })
export class ScriptedModelModule {}

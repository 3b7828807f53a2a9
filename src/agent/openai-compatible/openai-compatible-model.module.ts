import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { GenericFamily } from './families/generic/generic.family';
import { OpenCuaFamilyModule } from './families/opencua/opencua-family.module';
import { QwenVlFamilyModule } from './families/qwen-vl/qwen-vl-family.module';
import { UiTarsFamilyModule } from './families/uitars/uitars-family.module';
import { OpenAICompatibleModelProvider } from './openai-compatible-model.provider';

/**
 * Registers the `openai-compatible/<model>` model provider and the built-in model families it can speak
 * (OPENAI_COMPATIBLE_MODEL_FAMILY): `generic` here, each open family in a module of its own.
 */
@Module({
  imports: [DiscoveryModule, UiTarsFamilyModule, QwenVlFamilyModule, OpenCuaFamilyModule],
  providers: [OpenAICompatibleModelProvider, GenericFamily],
})
export class OpenAICompatibleModelModule {}

export { ChatFamily, RegisterChatFamily } from './chat-family';
export type { CoordinateConvention, FamilyPrompt, FamilyReading, FamilyRequest, FamilyStep } from './chat-family';
export { smartResize } from './image-sizing';
export type { SentImage, SmartResize } from './image-sizing';

import { Module } from '@nestjs/common';
import { UiTarsFamily } from './uitars.family';

/** Registers the `uitars` model family (OPENAI_COMPATIBLE_MODEL_FAMILY=uitars). */
@Module({ providers: [UiTarsFamily] })
export class UiTarsFamilyModule {}

import { Module } from '@nestjs/common';
import { Qwen25VlFamily, Qwen3VlFamily } from './qwen-vl.family';

/** Registers the `qwen3-vl` and `qwen2.5-vl` model families: one tool-call grammar, two coordinate conventions. */
@Module({ providers: [Qwen3VlFamily, Qwen25VlFamily] })
export class QwenVlFamilyModule {}

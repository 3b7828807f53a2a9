import { Module } from '@nestjs/common';
import { OpenCuaFamily } from './opencua.family';

/** Registers the `opencua` model family (OPENAI_COMPATIBLE_MODEL_FAMILY=opencua). */
@Module({ providers: [OpenCuaFamily] })
export class OpenCuaFamilyModule {}

import { DynamicModule, Global, Module } from '@nestjs/common';
import { DrainState } from './drain-state';
import { ServingMode } from './serving-mode';

@Global()
@Module({ providers: [DrainState], exports: [DrainState] })
export class LifecycleModule {
  /** With how this process serves MCP (ServingMode); without it, features assume HTTP. */
  static forRoot(options: { stdio?: boolean } = {}): DynamicModule {
    return { module: LifecycleModule, providers: [{ provide: ServingMode, useValue: new ServingMode(options.stdio ?? false) }], exports: [ServingMode] };
  }
}

export { DrainState } from './drain-state';
export { ServingMode } from './serving-mode';

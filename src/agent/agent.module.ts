import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ComputerModule } from '../computer/computer.module';
import { AgentService } from './agent.service';
import { ModelProviderRegistry } from './model-provider.registry';

/** The computer-use agent loop and the registry of model providers. */
@Module({
  imports: [DiscoveryModule, ComputerModule],
  providers: [AgentService, ModelProviderRegistry],
  exports: [AgentService, ModelProviderRegistry],
})
export class AgentModule {}

export { AgentService } from './agent.service';
export type { AgentResult, AgentRunOptions } from './agent.service';
export { CuaModel, ModelProvider } from './model.port';
export type { ModelInput, ModelTurn, StepRecord } from './model.port';
export { ModelProviderRegistry, RegisterModelProvider } from './model-provider.registry';
export { ScriptedModelModule } from './scripted/scripted-model.module';
export { ScriptedModel } from './scripted/scripted-model.provider';

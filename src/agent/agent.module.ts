import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ComputerModule } from '../computer/computer.module';
import { TracingModule } from '../tracing/tracing.module';
import { AgentMetrics } from './agent.metrics';
import { AgentService } from './agent.service';
import { ModelProviderRegistry } from './model-provider.registry';
import { SecretRedactor } from './secret-redactor';
import { TrajectoryPruner } from './trajectory/trajectory-pruner';
import { TrajectoryStore } from './trajectory/trajectory.store';

/** The computer-use agent loop, the registry of model providers, and the trajectories of tasks. */
@Module({
  imports: [DiscoveryModule, ComputerModule, TracingModule],
  providers: [AgentService, AgentMetrics, ModelProviderRegistry, TrajectoryStore, TrajectoryPruner, SecretRedactor],
  exports: [AgentService, ModelProviderRegistry, TrajectoryStore, SecretRedactor],
})
export class AgentModule {}

export { AgentService } from './agent.service';
export type { AgentResult, AgentRunOptions, StepBudget, TurnGate } from './agent.service';
export { AgentTaskError } from './agent.errors';
export { CuaModel, ModelCallError, ModelProvider, NOT_EXECUTED } from './model.port';
export type { ActionResult, ModelInput, ModelTurn, ScreenshotSize, StepRecord, TokenUsage } from './model.port';
export { ModelProviderRegistry, RegisterModelProvider } from './model-provider.registry';
export { retryAfterMs, toModelCallError } from './model-errors';
export { redact, SecretRedactor } from './secret-redactor';
export type { VendorSdkErrors } from './model-errors';
export { TrajectoryStore } from './trajectory/trajectory.store';
export type { TrajectoryMeta, TrajectoryOwner } from './trajectory/trajectory.store';

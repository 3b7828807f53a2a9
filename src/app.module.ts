import { DynamicModule, Module, ModuleMetadata } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { AgentModule } from './agent/agent.module';
import { AuditModule } from './audit/audit.module';
import { ScriptedModelModule } from './agent/scripted/scripted-model.module';
import { AnthropicModelModule } from './agent/anthropic/anthropic-model.module';
import { GeminiModelModule } from './agent/gemini/gemini-model.module';
import { OpenAICompatibleModelModule } from './agent/openai-compatible/openai-compatible-model.module';
import { OpenAIModelModule } from './agent/openai/openai-model.module';
import { ClusterModule } from './cluster/cluster.module';
import { ComputerModule, FakeComputerModule } from './computer/computer.module';
import { CuaComputerModule } from './computer/cua/cua-computer.module';
import { XvfbComputerModule } from './computer/xvfb/xvfb-computer.module';
import { KubernetesComputerModule } from './computer/kubernetes/kubernetes-computer.module';
import { ConfigModule, Settings } from './config/config.module';
// The logger is built before the app (main.ts), but its settings are validated with everyone else's.
import './common/log.settings';
import { ControlModule } from './control/control.module';
import { HealthModule } from './health/health.module';
import { HttpModule } from './http/http.module';
import { LifecycleModule } from './lifecycle/lifecycle.module';
import { McpModule } from './mcp/mcp.module';
import { MetricsModule } from './metrics/metrics.module';
import { PoolModule } from './pool/pool.module';
import { QuotaModule } from './quota/quota.module';
import { SessionModule } from './session/session.module';
import { TaskModule } from './task/task.module';
import { TracingModule } from './tracing/tracing.module';

export interface AppModuleOptions {
  /** Settings; defaults to the validated process environment. */
  settings?: Settings;
  /**
   * Extra Nest modules, e.g. ones that register your own computer or model providers with
   * @RegisterComputerProvider() / @RegisterModelProvider(). They are imported next to the built-ins.
   */
  imports?: ModuleMetadata['imports'];
  /** The process serves one MCP client over stdio (main.ts `--stdio`): no warm computers before its first tool call. */
  stdio?: boolean;
}

/** The built-in providers register through the same mechanism as anyone else's. */
export const BUILT_IN_PROVIDER_MODULES = [
  FakeComputerModule,
  XvfbComputerModule,
  CuaComputerModule,
  KubernetesComputerModule,
  ScriptedModelModule,
  AnthropicModelModule,
  OpenAIModelModule,
  OpenAICompatibleModelModule,
  GeminiModelModule,
];

@Module({})
export class AppModule {
  static forRoot(options: AppModuleOptions = {}): DynamicModule {
    // Every module file is imported by now, so every feature's settings are declared.
    const settings = options.settings ?? Settings.load(process.env);
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(settings),
        LifecycleModule.forRoot({ stdio: options.stdio }),
        ScheduleModule.forRoot(),
        TracingModule,
        ClusterModule,
        ComputerModule,
        PoolModule,
        SessionModule,
        AgentModule,
        QuotaModule,
        TaskModule,
        ControlModule,
        McpModule,
        AuditModule,
        HealthModule,
        MetricsModule,
        HttpModule,
        ...BUILT_IN_PROVIDER_MODULES,
        ...(options.imports ?? []),
      ],
    };
  }
}

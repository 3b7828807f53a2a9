import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { AgentModule } from '../agent/agent.module';
import { AuthModule } from '../auth/auth.module';
import { ControlModule } from '../control/control.module';
import { HttpModule } from '../http/http.module';
import { LiveViewModule } from '../liveview/liveview.module';
import { PoolModule } from '../pool/pool.module';
import { QuotaModule } from '../quota/quota.module';
import { RecordingModule } from '../recording/recording.module';
import { ClusterModule } from '../cluster/cluster.module';
import { SessionModule } from '../session/session.module';
import { TaskModule } from '../task/task.module';
import { TracingModule } from '../tracing/tracing.module';
import { McpGateMiddleware } from './mcp-gate.middleware';
import { ConnectionSweeper } from './connection-sweeper';
import { McpCancellations } from './mcp-cancellations';
import { McpEndpoint } from './mcp-endpoint';
import { McpSessions } from './mcp-sessions';
import { McpController } from './mcp.controller';
import { McpMetrics } from './mcp.metrics';
import { McpServerExtras, McpServerFactory, NoMcpServerExtras } from './mcp-server.factory';
import { RecordingResources } from './recording.resources';
import { ReplicaForwarding } from './replica-forwarding';
import { TrajectoryResources } from './trajectory.resources';
import { ShutdownCoordinator } from './shutdown.coordinator';
import { DashboardTools } from './tools/dashboard.tools';
import { LiveViewTools } from './tools/liveview.tools';
import { ScreenTools } from './tools/screen.tools';
import { SessionTools } from './tools/session.tools';
import { TaskTools } from './tools/task.tools';
import { ToolRunner } from './tools/tool-runner';

/** The MCP face of the server: tools, Streamable HTTP at /mcp (both protocol eras), stdio, and graceful shutdown. */
@Module({
  imports: [ClusterModule, SessionModule, PoolModule, AgentModule, TaskModule, QuotaModule, ControlModule, AuthModule, HttpModule, LiveViewModule, RecordingModule, TracingModule],
  controllers: [McpController],
  providers: [
    ConnectionSweeper,
    McpSessions,
    McpCancellations,
    McpEndpoint,
    ReplicaForwarding,
    McpMetrics,
    McpServerFactory,
    { provide: McpServerExtras, useClass: NoMcpServerExtras },
    ToolRunner,
    ScreenTools,
    LiveViewTools,
    DashboardTools,
    TaskTools,
    SessionTools,
    TrajectoryResources,
    RecordingResources,
    ShutdownCoordinator,
  ],
  exports: [McpSessions, McpServerFactory, ToolRunner],
})
export class McpModule implements NestModule {
  configure(consumer: MiddlewareConsumer) {
    consumer.apply(McpGateMiddleware).forRoutes({ path: 'mcp', method: RequestMethod.ALL });
  }
}

export { serveStdio, STDIO_CONNECTION } from './stdio';
export { McpSessions } from './mcp-sessions';
export type { Refusal as McpSessionRefusal } from './mcp-sessions';
export { McpServerExtras, McpServerFactory } from './mcp-server.factory';
export type { McpEra, ToolContext } from './tool-context';
export { ToolRunner } from './tools/tool-runner';
export type { ResourceReadEvent, ToolCallEvent } from './tools/tool-runner';

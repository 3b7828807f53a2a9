import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { AgentModule } from '../agent/agent.module';
import { AuthModule } from '../auth/auth.module';
import { ControlModule } from '../control/control.module';
import { HttpModule } from '../http/http.module';
import { LiveViewModule } from '../liveview/liveview.module';
import { PoolModule } from '../pool/pool.module';
import { RecordingModule } from '../recording/recording.module';
import { SessionModule } from '../session/session.module';
import { TaskModule } from '../task/task.module';
import { McpForwarder } from './mcp-forwarder';
import { McpGateMiddleware } from './mcp-gate.middleware';
import { ConnectionSweeper } from './connection-sweeper';
import { McpConnections } from './mcp-connections';
import { McpController } from './mcp.controller';
import { McpMetrics } from './mcp.metrics';
import { McpServerFactory } from './mcp-server.factory';
import { RecordingResources } from './recording.resources';
import { TrajectoryResources } from './trajectory.resources';
import { ShutdownCoordinator } from './shutdown.coordinator';
import { DashboardTools } from './tools/dashboard.tools';
import { LiveViewTools } from './tools/liveview.tools';
import { ScreenTools } from './tools/screen.tools';
import { SessionTools } from './tools/session.tools';
import { TaskTools } from './tools/task.tools';
import { ToolRunner } from './tools/tool-runner';

/** The MCP face of the server: tools, Streamable HTTP at /mcp, stdio, and graceful shutdown. */
@Module({
  imports: [SessionModule, PoolModule, AgentModule, TaskModule, ControlModule, AuthModule, HttpModule, LiveViewModule, RecordingModule],
  controllers: [McpController],
  providers: [
    ConnectionSweeper,
    McpConnections,
    McpMetrics,
    McpServerFactory,
    McpForwarder,
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
  exports: [McpConnections, McpServerFactory, ToolRunner],
})
export class McpModule implements NestModule {
  configure(consumer: MiddlewareConsumer) {
    consumer.apply(McpGateMiddleware).forRoutes({ path: 'mcp', method: RequestMethod.ALL });
  }
}

export { serveStdio, STDIO_CONNECTION } from './stdio';
export { McpConnections } from './mcp-connections';
export type { Refusal as McpConnectionRefusal } from './mcp-connections';
export { McpServerFactory } from './mcp-server.factory';
export { ToolRunner } from './tools/tool-runner';
export type { ToolCallEvent } from './tools/tool-runner';

import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { AgentModule } from '../agent/agent.module';
import { CuaComputerModule, KubernetesComputerModule } from '../computer/computer.module';
import { HttpModule } from '../http/http.module';
import { McpModule } from '../mcp/mcp.module';
import { PoolModule } from '../pool/pool.module';
import { SessionModule } from '../session/session.module';
import { HttpInFlightMiddleware } from './http-in-flight.middleware';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

/** GET /metrics (Prometheus): sessions, tool calls, the pool, agent steps, HTTP in flight. */
@Module({
  imports: [SessionModule, PoolModule, McpModule, AgentModule, KubernetesComputerModule, CuaComputerModule, HttpModule],
  controllers: [MetricsController],
  providers: [MetricsService, HttpInFlightMiddleware],
  exports: [MetricsService],
})
export class MetricsModule implements NestModule {
  configure(consumer: MiddlewareConsumer) {
    consumer.apply(HttpInFlightMiddleware).forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }
}

export { MetricsService } from './metrics.service';

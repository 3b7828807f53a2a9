import { Global, MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { HttpInFlightMiddleware } from './http-in-flight.middleware';
import { MetricsController } from './metrics.controller';
import { MetricsRegistry } from './metrics-registry';

/**
 * GET /metrics (Prometheus) and the registry behind it, global so that every feature can add its
 * own metrics (see MetricsRegistry); this module itself counts only HTTP requests in flight.
 */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [MetricsRegistry],
  exports: [MetricsRegistry],
})
export class MetricsModule implements NestModule {
  configure(consumer: MiddlewareConsumer) {
    consumer.apply(HttpInFlightMiddleware).forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }
}

export { DURATION_BUCKETS, MetricsRegistry } from './metrics-registry';

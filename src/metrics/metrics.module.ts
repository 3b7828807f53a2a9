import { Global, Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';
import { MetricsRegistry } from './metrics-registry';

/**
 * GET /metrics (Prometheus) and the registry behind it, global so that every feature can add its
 * own metrics (see MetricsRegistry); this module registers none of its own.
 */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [MetricsRegistry],
  exports: [MetricsRegistry],
})
export class MetricsModule {}

export { DURATION_BUCKETS, MetricsRegistry } from './metrics-registry';

import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ClusterModule } from '../cluster/cluster.module';
import { PoolModule } from '../pool/pool.module';
import { HealthController } from './health.controller';
import { ReadinessIndicator } from './pool.health';
import { RegistryIndicator } from './registry.health';

/** GET /health/live and GET /health/ready. */
@Module({
  imports: [TerminusModule.forRoot({ logger: false }), PoolModule, ClusterModule],
  controllers: [HealthController],
  providers: [ReadinessIndicator, RegistryIndicator],
})
export class HealthModule {}

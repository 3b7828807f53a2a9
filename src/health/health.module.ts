import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { PoolModule } from '../pool/pool.module';
import { HealthController } from './health.controller';
import { ReadinessIndicator } from './pool.health';

/** GET /health/live and GET /health/ready. */
@Module({ imports: [TerminusModule.forRoot({ logger: false }), PoolModule], controllers: [HealthController], providers: [ReadinessIndicator] })
export class HealthModule {}

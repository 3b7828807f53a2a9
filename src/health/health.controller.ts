import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { ReadinessIndicator } from './pool.health';
import { RegistryIndicator } from './registry.health';

/** Kubernetes probes. Liveness depends on nothing; readiness on drain state, the pool and (with REDIS_URL) Redis. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly readiness: ReadinessIndicator,
    private readonly registry: RegistryIndicator,
  ) {}

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.readiness.check(), () => this.registry.check()]);
  }
}

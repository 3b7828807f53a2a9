import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { RedisConnection } from '../cluster/cluster.module';

/** Ready means, with REDIS_URL: Redis answers a PING within REDIS_COMMAND_TIMEOUT_MS. Without it: nothing to check. */
@Injectable()
export class RegistryIndicator {
  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly redis: RedisConnection,
  ) {}

  async check() {
    const registry = this.indicator.check('registry');
    if (!this.redis.enabled) return registry.up({ backend: 'memory' });
    const problem = await this.redis.problem();
    return problem ? registry.down({ backend: 'redis', reason: problem }) : registry.up({ backend: 'redis' });
  }
}

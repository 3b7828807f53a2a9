import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { DrainState } from '../lifecycle/lifecycle.module';
import { ComputerPool } from '../pool/pool.module';

/** Ready means: not draining, and the pool can still start computers. */
@Injectable()
export class ReadinessIndicator {
  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly drain: DrainState,
    private readonly pool: ComputerPool,
  ) {}

  check() {
    const session = this.indicator.check('computers');
    if (this.drain.draining) return session.down({ reason: 'draining: the server is shutting down' });
    const problem = this.pool.problem();
    const stats = this.pool.stats();
    return problem ? session.down({ reason: problem, ...stats }) : session.up({ ...stats });
  }
}

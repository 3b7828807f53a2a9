import { Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { DURATION_BUCKETS, MetricsRegistry } from '../metrics/metrics.module';
import { ComputerPool, type PoolStats } from './computer-pool.service';

/** The pool's Prometheus metrics: its gauges, leases by warm or cold start and their waits, computers destroyed. */
@Injectable()
export class ComputerPoolMetrics implements OnModuleInit {
  constructor(
    private readonly pool: ComputerPool,
    @Optional() private readonly metrics?: MetricsRegistry,
  ) {}

  onModuleInit() {
    const m = this.metrics;
    if (!m) return;
    const acquireWait = m.histogram({
      name: 'cua_pool_acquire_wait_seconds',
      help: 'How long a lease waited for its computer, by start (warm: from stock; cold: waited for one to start or free up).',
      labelNames: ['start'],
      buckets: DURATION_BUCKETS,
    });
    const leases = m.counter({ name: 'cua_pool_leases_total', help: 'Computers leased, by start (warm or cold).', labelNames: ['start'] });
    const destroyed = m.counter({ name: 'cua_pool_computers_destroyed_total', help: 'Computers destroyed.' });
    const gauge = (name: string, help: string, read: (s: PoolStats) => number) => m.gaugeOf(`cua_pool_${name}`, help, () => read(this.pool.stats()));
    gauge('size', 'Computers alive (leased, in stock, starting, being checked or destroyed).', (s) => s.size);
    gauge('leased', 'Computers leased to sessions.', (s) => s.leased);
    gauge('idle', 'Ready computers in stock.', (s) => s.idle);
    gauge('creating', 'Computers starting.', (s) => s.creating);
    gauge('waiting', 'Calls waiting for a computer.', (s) => s.waiting);
    gauge('max', 'POOL_MAX_SIZE.', (s) => s.max);
    m.on(this.pool.events, 'leased', (l) => {
      const start = l.warm ? 'warm' : 'cold';
      leases.inc({ start });
      acquireWait.observe({ start }, l.waitedMs / 1000);
    });
    m.on(this.pool.events, 'destroyed', () => destroyed.inc());
  }
}

import { Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { MetricsRegistry } from '../metrics/metrics.module';
import { HttpLimits } from './http-limits';

/** The HTTP server's Prometheus metrics: connections dropped over HTTP_MAX_CONNECTIONS. */
@Injectable()
export class HttpMetrics implements OnModuleInit {
  constructor(
    private readonly limits: HttpLimits,
    @Optional() private readonly metrics?: MetricsRegistry,
  ) {}

  onModuleInit() {
    const m = this.metrics;
    if (!m) return;
    const dropped = m.counter({ name: 'cua_http_connections_dropped_total', help: 'Connections the main port closed at once because HTTP_MAX_CONNECTIONS were open.' });
    m.on(this.limits.events, 'dropped', () => dropped.inc());
  }
}

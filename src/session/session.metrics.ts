import { Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { MetricsRegistry } from '../metrics/metrics.module';
import { SessionService } from './session.service';

/** The sessions' Prometheus metrics: opened by kind, ended by reason, open now. */
@Injectable()
export class SessionMetrics implements OnModuleInit {
  constructor(
    private readonly sessions: SessionService,
    @Optional() private readonly metrics?: MetricsRegistry,
  ) {}

  onModuleInit() {
    const m = this.metrics;
    if (!m) return;
    const created = m.counter({ name: 'cua_sessions_created_total', help: 'Sessions opened, by kind (default, named, minted).', labelNames: ['kind'] });
    const ended = m.counter({ name: 'cua_sessions_ended_total', help: 'Sessions ended, by reason (cleanup, idle, connection-closed, shutdown, start-failed).', labelNames: ['reason'] });
    m.gaugeOf('cua_sessions_active', 'Sessions open now.', () => this.sessions.count());
    m.on(this.sessions.events, 'opened', (s) => created.inc({ kind: s.kind }));
    m.on(this.sessions.events, 'ended', (_s, reason) => ended.inc({ reason }));
  }
}

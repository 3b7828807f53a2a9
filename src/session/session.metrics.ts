import { Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { MetricsRegistry } from '../metrics/metrics.module';
import { SessionService } from './session.service';

/** The sessions' Prometheus metrics: opened by kind, ended by reason, open now; take-overs by people in the live view. */
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
    const ended = m.counter({ name: 'cua_sessions_ended_total', help: 'Sessions ended, by reason (cleanup, operator, idle, connection-closed, shutdown, unregistered, handed-over, start-failed).', labelNames: ['reason'] });
    m.gaugeOf('cua_sessions_active', 'Sessions open now.', () => this.sessions.count());
    m.on(this.sessions.events, 'opened', (s) => created.inc({ kind: s.kind }));
    m.on(this.sessions.events, 'ended', (_s, reason) => ended.inc({ reason }));
    const taken = m.counter({ name: 'cua_human_control_taken_total', help: 'Times a person took control of a session\'s desktop in the live view.' });
    const released = m.counter({ name: 'cua_human_control_released_total', help: 'Times control went back to the agent, by reason (holder, tool, idle, session-ended).', labelNames: ['reason'] });
    m.gaugeOf('cua_sessions_under_human_control', 'Sessions whose desktop a person controls now.', () => this.sessions.underHumanControl());
    m.on(this.sessions.events, 'control-taken', () => taken.inc());
    m.on(this.sessions.events, 'control-released', (_s, _holder, reason) => released.inc({ reason }));
  }
}

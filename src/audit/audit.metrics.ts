import { Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { MetricsRegistry } from '../metrics/metrics.module';
import { AuditTrail } from './audit-trail';

/** The audit trail's Prometheus metrics: lines written by event, and lines lost because the destination failed. */
@Injectable()
export class AuditMetrics implements OnModuleInit {
  constructor(
    private readonly trail: AuditTrail,
    @Optional() private readonly metrics?: MetricsRegistry,
  ) {}

  onModuleInit() {
    const m = this.metrics;
    if (!m || !this.trail.enabled) return;
    const written = m.counter({ name: 'cua_audit_lines_total', help: 'Audit lines written, by event (tool_call, session_created, computer_assigned, session_ended, control_taken, control_returned).', labelNames: ['event'] });
    const failed = m.counter({ name: 'cua_audit_write_failures_total', help: 'Audit lines that could not be written (lost), by event: the destination failed (disk full, file gone).', labelNames: ['event'] });
    m.on(this.trail.events, 'written', (event) => written.inc({ event }));
    m.on(this.trail.events, 'failed', (event) => failed.inc({ event }));
  }
}

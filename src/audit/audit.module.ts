import { Module } from '@nestjs/common';
import { AgentModule } from '../agent/agent.module';
import { ServingMode } from '../lifecycle/lifecycle.module';
import { McpModule } from '../mcp/mcp.module';
import { SessionModule } from '../session/session.module';
import { AuditSink, RotatingFileAuditSink, StreamAuditSink } from './audit-sink';
import { AuditTrail } from './audit-trail';
import { AuditMetrics } from './audit.metrics';
import { AUDIT_SETTINGS, type AuditSettings } from './audit.settings';

/** The destination AUDIT_LOG names; a file is opened here, so one that cannot be opened stops the start. */
function auditSink(settings: AuditSettings, mode: ServingMode): AuditSink {
  const d = settings.destination;
  switch (d.kind) {
    case 'off':
      return new StreamAuditSink({ write: () => true }, 'off');
    case 'stdout':
      // In stdio mode stdout carries MCP: the lines go with the logs, to stderr.
      return mode.stdio ? new StreamAuditSink(process.stderr, 'stderr (stdio mode: stdout carries MCP)') : new StreamAuditSink(process.stdout, 'stdout');
    case 'file': {
      const sink = new RotatingFileAuditSink(d.path, settings.maxBytes, settings.keepFiles);
      sink.open();
      return sink;
    }
  }
}

/**
 * The audit trail (AUDIT_LOG, docs/audit.md): one JSON line per tool call and per session event, to stdout or a
 * rotated file. It listens to the MCP layer's tool calls and the sessions' events; nothing else calls it.
 */
@Module({
  imports: [McpModule, SessionModule, AgentModule],
  providers: [{ provide: AuditSink, useFactory: auditSink, inject: [AUDIT_SETTINGS.token, ServingMode] }, AuditTrail, AuditMetrics],
  exports: [AuditTrail],
})
export class AuditModule {}

export { AuditTrail } from './audit-trail';
export type { AuditTrailEvents } from './audit-trail';
export { auditLine, AUDIT_SCHEMA_VERSION, type AuditLine } from './audit-line';

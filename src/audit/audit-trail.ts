import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { SecretRedactor } from '../agent/agent.module';
import { errorMessage } from '../common/domain-error';
import { InjectSettings } from '../config/config.module';
import { ToolRunner, type ResourceReadEvent, type ToolCallEvent } from '../mcp/mcp.module';
import { SessionService, type Session } from '../session/session.module';
import { digestArgs } from './audit-args';
import { AUDIT_SCHEMA_VERSION, type AuditEvent, type AuditLine } from './audit-line';
import { AuditSink } from './audit-sink';
import { AUDIT_SETTINGS, type AuditSettings } from './audit.settings';

export interface AuditTrailEvents {
  /** A line was written. */
  written: [event: AuditEvent];
  /** A line could not be written (it is lost; the call it records went on). */
  failed: [event: AuditEvent, error: Error];
}

/** The session a recording:// or trajectory:// URI names. */
function sessionOfUri(uri: string): string | undefined {
  const m = /^(?:recording|trajectory):\/\/([^/?#]+)/.exec(uri);
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]).slice(0, 128);
  } catch {
    return undefined;
  }
}

/** How often a failing destination is said in the log (each lost line is counted in the metrics). */
const FAILURE_LOG_EVERY_MS = 60_000;

/**
 * The audit trail (AUDIT_LOG): one JSON line (docs/audit.md, schema version 1) per finished tool call, however it
 * ended (refused for its permission, failed, cancelled, refused while shutting down), and per session event: admitted,
 * a computer leased for it, ended and why, control of its desktop taken and given back. It listens to the ToolRunner's
 * and the SessionService's events, so no tool or lifecycle path writes its own line and none is left out.
 *
 * What it never writes: screenshots or any other image, keys, tokens, typed text (only its length), the configured
 * secrets or credential-shaped text (the agent's redaction). A line that cannot be written is counted and said in the
 * log, and the call goes on: the trail does not stop the service.
 */
@Injectable()
export class AuditTrail implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Audit');
  readonly events = new EventEmitter<AuditTrailEvents>();
  private lastFailureLogged = 0;

  constructor(
    @InjectSettings(AUDIT_SETTINGS) private readonly settings: AuditSettings,
    private readonly sink: AuditSink,
    private readonly tools: ToolRunner,
    private readonly sessions: SessionService,
    private readonly redactor: SecretRedactor,
  ) {}

  get enabled(): boolean {
    return this.settings.destination.kind !== 'off';
  }

  onModuleInit() {
    if (!this.enabled) return;
    this.tools.events.on('call', (call) => this.write(this.toolCall(call)));
    this.tools.events.on('read', (read) => this.write(this.resourceRead(read)));
    const s = this.sessions.events;
    s.on('opened', (session) => this.write({ ...this.about(session), audit: 'session_created', kind: session.kind }));
    s.on('computer-assigned', (session, computer, extra) => this.write({ ...this.about(session), audit: 'computer_assigned', computer, extra }));
    s.on('ended', (session, reason) =>
      this.write({ ...this.about(session), audit: 'session_ended', reason, ...(reason === 'operator' && session.endedBy !== undefined && { by: session.endedBy }) }),
    );
    s.on('control-taken', (session, holder) => this.write({ ...this.about(session), audit: 'control_taken', holder }));
    s.on('control-released', (session, holder, reason) => this.write({ ...this.about(session), audit: 'control_returned', holder, reason }));
    this.logger.log(`Audit trail: ${this.sink.describe}`);
  }

  /** After the shutdown has ended every session (their lines written). */
  onApplicationShutdown() {
    this.sink.close();
  }

  private about(session: Session) {
    return { v: AUDIT_SCHEMA_VERSION, time: new Date().toISOString(), principal: session.principal, session: session.id };
  }

  private toolCall(call: ToolCallEvent): AuditLine {
    const named = call.args.session_id;
    const session = call.session?.id ?? (typeof named === 'string' ? named.slice(0, 128) : undefined);
    return {
      ...this.caller(call, 'tool_call'),
      ...(call.client && { client: call.client }),
      ...(session !== undefined && { session }),
      tool: call.tool,
      args: digestArgs(call.tool, call.args, { redact: (text) => this.redactor.redact(text), textChars: this.settings.textChars }),
      outcome: call.outcome,
      duration_ms: Math.max(0, Math.round(call.durationMs)),
    };
  }

  /** What a tool call's and a resource read's lines both say of the request: when, who and how it came. */
  private caller<A extends 'tool_call' | 'resource_read'>(e: ToolCallEvent | ResourceReadEvent, audit: A) {
    return {
      v: AUDIT_SCHEMA_VERSION,
      time: new Date(e.startedAt).toISOString(),
      principal: e.principal,
      audit,
      auth: e.identity.via,
      ...(e.identity.clientId !== undefined && { oauth_client: e.identity.clientId }),
      transport: e.transport,
      era: e.era === 'modern' ? ('2026' as const) : ('2025' as const),
      ...(e.mcpSession !== undefined && { mcp_session: e.mcpSession }),
    };
  }

  private resourceRead(read: ResourceReadEvent): AuditLine {
    const session = sessionOfUri(read.uri);
    return {
      ...this.caller(read, 'resource_read'),
      ...(session !== undefined && { session }),
      uri: read.uri.slice(0, 512),
      outcome: read.outcome,
      duration_ms: Math.max(0, Math.round(read.durationMs)),
    };
  }

  private write(line: AuditLine): void {
    try {
      this.sink.write(JSON.stringify(line));
      this.events.emit('written', line.audit);
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      this.events.emit('failed', line.audit, error);
      const now = Date.now();
      if (now - this.lastFailureLogged >= FAILURE_LOG_EVERY_MS) {
        this.lastFailureLogged = now;
        this.logger.error(`An audit line could not be written to ${this.sink.describe}: ${errorMessage(e)} (lines lost meanwhile: cua_audit_write_failures_total)`);
      }
    }
  }
}

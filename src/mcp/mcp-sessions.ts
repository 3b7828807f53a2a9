import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { McpSessionRegistry, type JsonValue, type McpSessionRecord } from '../cluster/cluster.module';
import { errorMessage } from '../common/domain-error';
import { InjectSettings } from '../config/config.module';
import { SESSION_SETTINGS, type SessionSettings } from '../session/session.settings';
import { SessionService } from '../session/session.module';
import { MCP_SETTINGS, type McpSettings } from './mcp.settings';
import { ToolCallEvent, ToolRunner } from './tools/tool-runner';

/** How many expired records one sweep asks the registry for at a time. */
const SWEEP_BATCH = 100;

/** What a client says of itself in `initialize`, kept on its MCP session's record. */
export interface McpHello {
  protocolVersion: string;
  clientInfo: { [key: string]: JsonValue };
  clientCapabilities: { [key: string]: JsonValue };
}

/** Why an initialize was refused, and when a slot may free up. */
export interface Refusal {
  readonly admitted: false;
  /** The setting whose cap was reached. */
  readonly setting: 'MCP_MAX_CONNECTIONS_PER_PRINCIPAL' | 'MCP_MAX_CONNECTIONS';
  readonly retryAfterSeconds: number;
  readonly message: string;
}

export interface McpSessionsEvents {
  /** An initialize was turned away (a cap was reached). */
  refused: [Refusal];
}

/**
 * The 2025-era MCP sessions over HTTP: what `initialize` opens and `Mcp-Session-Id` names. Each is a record in the
 * McpSessionRegistry, not a server or a transport in this process: every request of it is served by a new server
 * instance, so any process that can read the record can serve it.
 *
 * Admission: at most MCP_MAX_CONNECTIONS MCP sessions in all and MCP_MAX_CONNECTIONS_PER_PRINCIPAL per principal.
 * Expiry: an MCP session with no call running is ended once idle for MCP_CONNECTION_IDLE_TIMEOUT_MS, or for
 * SESSION_IDLE_TIMEOUT_MS once it has used a default session (its client may come back to it, or for a new one
 * after the session's own, shorter DEFAULT_SESSION_IDLE_TIMEOUT_MS ended it). Ending one (DELETE, expiry) ends its
 * default session and frees that computer. stdio and the 2026-07-28 era have no MCP sessions.
 */
@Injectable()
export class McpSessions implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(McpSessions.name);
  readonly events = new EventEmitter<McpSessionsEvents>();
  private readonly onCall = (e: ToolCallEvent) => {
    if (e.mcpSession !== undefined && e.session?.kind === 'default') void this.noteDefaultSession(e.mcpSession, e.session.id);
  };

  constructor(
    private readonly registry: McpSessionRegistry,
    private readonly sessions: SessionService,
    private readonly tools: ToolRunner,
    @InjectSettings(MCP_SETTINGS) private readonly settings: McpSettings,
    @InjectSettings(SESSION_SETTINGS) private readonly sessionSettings: SessionSettings,
  ) {}

  onModuleInit() {
    this.tools.events.on('call', this.onCall);
  }

  onModuleDestroy() {
    this.tools.events.off('call', this.onCall);
  }

  /** Opens an MCP session for `principal` (its `initialize`) under a new, unguessable id, or says why not. */
  async open(principal: string, hello: McpHello, now = Date.now()): Promise<{ admitted: true; record: McpSessionRecord } | Refusal> {
    const { maxConnections, maxConnectionsPerPrincipal } = this.settings;
    const opened = await this.registry.open({
      record: { id: randomUUID(), principal, ...hello, createdAt: now, idleTimeoutMs: this.settings.connectionIdleTimeoutMs },
      limits: { maxSessions: maxConnections, maxSessionsPerPrincipal: maxConnectionsPerPrincipal },
    });
    if (opened.admitted) return opened;
    const unused = `An unused MCP session (no call, no default session) ends after ${Math.round(this.settings.connectionIdleTimeoutMs / 1000)} s without requests.`;
    const refusal: Refusal =
      opened.refused === 'principal'
        ? {
            admitted: false,
            setting: 'MCP_MAX_CONNECTIONS_PER_PRINCIPAL',
            retryAfterSeconds: await this.retryAfterSeconds(principal, now),
            message:
              `Too many MCP sessions: you already have ${opened.max}, the most one principal may have (MCP_MAX_CONNECTIONS_PER_PRINCIPAL=${opened.max}). ` +
              `Reuse an open MCP session (send its Mcp-Session-Id), or end ones you no longer use with DELETE /mcp. ${unused}`,
          }
        : {
            admitted: false,
            setting: 'MCP_MAX_CONNECTIONS',
            retryAfterSeconds: await this.retryAfterSeconds(undefined, now),
            message:
              `The server already has its maximum of ${opened.max} MCP sessions (MCP_MAX_CONNECTIONS). ` +
              `Retry later, reuse an open MCP session, or end ones you no longer use with DELETE /mcp. ${unused}`,
          };
    this.events.emit('refused', refusal);
    return refusal;
  }

  /** The principal's MCP session of that id, marked used now; undefined when it does not exist (or is another's). */
  async use(id: string, principal: string, now = Date.now()): Promise<McpSessionRecord | undefined> {
    const record = await this.registry.get(id);
    // An MCP session belongs to the principal that opened it: to anyone else it does not exist.
    if (!record || record.principal !== principal) return undefined;
    return (await this.registry.touch(id, now)) ?? undefined;
  }

  /** A request of the MCP session has been answered: that counts as use too (a long call does not leave it looking idle). */
  async touch(id: string, now = Date.now()): Promise<void> {
    await this.registry.touch(id, now);
  }

  /** logging/setLevel: the level the MCP session's later requests log at. */
  async setLogLevel(id: string, level: string): Promise<void> {
    await this.registry.update(id, { logLevel: level });
  }

  /** Ends the principal's MCP session (DELETE) and its default session; false when there is no such MCP session. */
  async end(id: string, principal: string): Promise<boolean> {
    const record = await this.registry.get(id);
    if (!record || record.principal !== principal) return false;
    if (!(await this.registry.end(id))) return false;
    await this.ended(record);
    return true;
  }

  /** How many MCP sessions there are. */
  count(): Promise<number> {
    return this.registry.count();
  }

  /**
   * Ends MCP sessions idle past their limit with no call running (a client that vanished without DELETE, or one
   * that never used what it opened), and their default sessions.
   */
  async sweepIdle(now = Date.now()): Promise<string[]> {
    // A call in flight keeps its MCP session alive, however long it runs.
    await Promise.all([...this.tools.busyConnections()].map((id) => this.registry.touch(id, now)));
    const ended: string[] = [];
    for (;;) {
      const claimed = await this.registry.claimExpired(now, SWEEP_BATCH);
      for (const r of claimed) await this.ended(r);
      ended.push(...claimed.map((r) => r.id));
      if (claimed.length < SWEEP_BATCH) return ended;
    }
  }

  /** Ends what an MCP session that is gone held: its default session (and with it, that computer). */
  private async ended(record: McpSessionRecord): Promise<void> {
    this.logger.log(`MCP session ${record.id} ended`);
    const recorded = record.defaultSession === undefined ? undefined : { principal: record.principal, id: record.defaultSession };
    await this.sessions.endConnection(record.id, recorded).catch((e) => this.logger.error(`Ending the default session of MCP session ${record.id} failed: ${errorMessage(e)}`));
  }

  /**
   * The MCP session now has a default session: its record names it, and it may stay idle for as long as a session
   * may (SESSION_IDLE_TIMEOUT_MS), since its client may come back for that computer.
   */
  private async noteDefaultSession(id: string, sessionId: string): Promise<void> {
    const record = await this.registry.get(id).catch(() => undefined);
    if (!record || record.defaultSession === sessionId) return;
    await this.registry
      .update(id, { defaultSession: sessionId, idleTimeoutMs: Math.max(record.idleTimeoutMs, this.sessionSettings.idleTimeoutMs) })
      .catch((e) => this.logger.warn(`MCP session ${id}: its default session could not be noted (${errorMessage(e)})`));
  }

  /**
   * When a slot may free up: the soonest that one of the principal's MCP sessions (or any, for the total cap) passes
   * its idle limit, plus one sweep interval. At least one second.
   */
  private async retryAfterSeconds(principal: string | undefined, now: number): Promise<number> {
    const expiry = await this.registry.soonestExpiry(principal);
    const soonest = expiry === undefined ? this.settings.connectionIdleTimeoutMs : Math.max(0, expiry - now);
    return Math.max(1, Math.ceil((soonest + this.sessionSettings.sweepIntervalMs) / 1000));
  }
}

import { Injectable, Logger } from '@nestjs/common';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { errorMessage } from '../common/domain-error';
import { InjectSettings } from '../config/config.module';
import { MCP_SETTINGS, type McpSettings } from './mcp.settings';
import { SESSION_SETTINGS, type SessionSettings } from '../session/session.settings';
import { SessionService } from '../session/session.module';
import type { ToolContext } from './tool-context';
import { ToolRunner } from './tools/tool-runner';

const STDIO = 'stdio';

interface Connection {
  /** Last time the client sent anything on this connection, or a request or stream of it ended. */
  lastSeen: number;
  ctx: ToolContext;
  transport: Transport;
  /** Open GET streams (server-to-client SSE). */
  streams: number;
  /** Counted against the caps (every HTTP connection; not stdio). */
  counted: boolean;
}

/** A slot for one MCP session being initialized; give it to add(), or release it when initialize fails. Idempotent. */
export interface Admission {
  readonly admitted: true;
  release(): void;
}

/** Why an initialize was refused, and when a slot may free up. */
export interface Refusal {
  readonly admitted: false;
  /** The setting whose cap was reached. */
  readonly setting: 'MCP_MAX_CONNECTIONS_PER_PRINCIPAL' | 'MCP_MAX_CONNECTIONS';
  readonly retryAfterSeconds: number;
  readonly message: string;
}

export interface McpConnectionsEvents {
  /** An initialize was turned away (a connection cap was reached). */
  refused: [Refusal];
}

/**
 * Every open MCP connection (Streamable HTTP session or stdio) with its own server and transport.
 * When a connection closes, its default session (and that session's computer) ends with it.
 *
 * Admission: at most MCP_MAX_CONNECTIONS HTTP connections in all and
 * MCP_MAX_CONNECTIONS_PER_PRINCIPAL per principal, counting those still being initialized.
 * Expiry: a connection with no call running is closed once idle for SESSION_IDLE_TIMEOUT_MS while
 * it holds an open GET stream or uses its default session (holds it, or held it until the session's
 * own, shorter DEFAULT_SESSION_IDLE_TIMEOUT_MS ended it and freed its computer: the client may come
 * back for a new one), and for MCP_CONNECTION_IDLE_TIMEOUT_MS when it does neither (an unused
 * connection). stdio is neither counted nor swept.
 */
@Injectable()
export class McpConnections {
  private readonly logger = new Logger(McpConnections.name);
  private readonly open = new Map<string, Connection>();
  /** HTTP connections open or being initialized, by principal. */
  private readonly counts = new Map<string, number>();
  private total = 0;
  readonly events = new EventEmitter<McpConnectionsEvents>();

  constructor(
    private readonly sessions: SessionService,
    private readonly tools: ToolRunner,
    @InjectSettings(MCP_SETTINGS) private readonly settings: McpSettings,
    @InjectSettings(SESSION_SETTINGS) private readonly sessionSettings: SessionSettings,
  ) {}

  /** Takes a slot for a new MCP session of `principal`, or says why not. */
  admit(principal: string, now = Date.now()): Admission | Refusal {
    const { maxConnections, maxConnectionsPerPrincipal } = this.settings;
    const mine = this.counts.get(principal) ?? 0;
    const unused = `An unused MCP session (no call, no GET stream, no default session) ends after ${Math.round(this.idleLimitUnused() / 1000)} s without requests.`;
    let refusal: Refusal | undefined;
    if (mine >= maxConnectionsPerPrincipal) {
      refusal = {
        admitted: false,
        setting: 'MCP_MAX_CONNECTIONS_PER_PRINCIPAL',
        retryAfterSeconds: this.retryAfterSeconds(principal, now),
        message:
          `Too many MCP sessions: you already have ${mine}, the most one principal may have (MCP_MAX_CONNECTIONS_PER_PRINCIPAL=${maxConnectionsPerPrincipal}). ` +
          `Reuse an open MCP session (send its Mcp-Session-Id), or end ones you no longer use with DELETE /mcp. ${unused}`,
      };
    } else if (this.total >= maxConnections) {
      refusal = {
        admitted: false,
        setting: 'MCP_MAX_CONNECTIONS',
        retryAfterSeconds: this.retryAfterSeconds(undefined, now),
        message:
          `The server already has its maximum of ${maxConnections} MCP sessions (MCP_MAX_CONNECTIONS). ` +
          `Retry later, reuse an open MCP session, or end ones you no longer use with DELETE /mcp. ${unused}`,
      };
    }
    if (refusal) {
      this.events.emit('refused', refusal);
      return refusal;
    }
    this.count(principal, 1);
    let released = false;
    return {
      admitted: true,
      release: () => {
        if (released) return;
        released = true;
        this.count(principal, -1);
      },
    };
  }

  /** Registers a connection; over HTTP it takes over the admission's slot (stdio has none). */
  add(ctx: ToolContext, transport: Transport, admission?: Admission) {
    this.open.set(ctx.connectionId, { ctx, transport, lastSeen: Date.now(), streams: 0, counted: admission !== undefined });
    if (admission) {
      admission.release();
      this.count(ctx.principal, 1);
    }
  }

  get(connectionId: string): Connection | undefined {
    const conn = this.open.get(connectionId);
    if (conn) conn.lastSeen = Date.now();
    return conn;
  }

  /** The connection, without counting this as activity. */
  peek(connectionId: string): Connection | undefined {
    return this.open.get(connectionId);
  }

  /**
   * A request of this connection is being answered on `res`: when the answer ends, that counts as
   * activity (a long call does not make its connection look idle the moment it returns). A GET is
   * the server's stream: while it is open the connection is in use.
   */
  serving(conn: Connection, res: ServerResponse, stream: boolean) {
    if (stream) conn.streams++;
    res.once('close', () => {
      if (stream) conn.streams--;
      conn.lastSeen = Date.now();
    });
  }

  size() {
    return this.open.size;
  }

  /** Called when a transport closed (DELETE, client gone, or shutdown). Idempotent. */
  async closed(connectionId: string) {
    const conn = this.open.get(connectionId);
    if (!conn) return;
    this.open.delete(connectionId);
    if (conn.counted) this.count(conn.ctx.principal, -1);
    this.logger.log(`MCP connection ${connectionId} closed`);
    await this.sessions.endConnection(connectionId).catch((e) => this.logger.error(`Ending the default session of ${connectionId} failed: ${errorMessage(e)}`));
  }

  /**
   * Closes HTTP connections idle past their limit with no call running (a client that vanished
   * without DELETE, or one that never used what it opened): their server, transport and default
   * session go. stdio is never swept (its process lives as long as its client).
   */
  async sweepIdle(now = Date.now()): Promise<string[]> {
    const idle = [...this.open.entries()]
      .filter(([id, c]) => {
        const limit = this.idleLimit(id, c);
        return limit !== undefined && now - c.lastSeen > limit;
      })
      .map(([id]) => id);
    for (const id of idle) {
      const c = this.open.get(id);
      await c?.ctx.server.close().catch(() => undefined);
      await this.closed(id);
    }
    return idle;
  }

  /** Closes every connection (ends SSE streams so the HTTP server can stop). */
  async closeAll() {
    await Promise.all(
      [...this.open.entries()].map(async ([id, c]) => {
        await c.ctx.server.close().catch(() => undefined);
        await this.closed(id);
      }),
    );
  }

  /** How long this connection may stay idle; undefined while it must not be swept. */
  private idleLimit(id: string, c: Connection): number | undefined {
    if (id === STDIO || this.tools.busy(id)) return undefined;
    if (c.streams > 0 || this.sessions.usesDefault(id)) return this.sessionSettings.idleTimeoutMs;
    return this.idleLimitUnused();
  }

  private idleLimitUnused() {
    return this.settings.connectionIdleTimeoutMs;
  }

  /**
   * When a slot may free up: the soonest that one of the principal's connections (or any, for the
   * total cap) passes its idle limit, plus one sweep interval. At least one second.
   */
  private retryAfterSeconds(principal: string | undefined, now: number): number {
    let soonest = Infinity;
    for (const [id, c] of this.open) {
      if (principal !== undefined && c.ctx.principal !== principal) continue;
      const limit = this.idleLimit(id, c);
      if (limit !== undefined) soonest = Math.min(soonest, Math.max(0, c.lastSeen + limit - now));
    }
    if (soonest === Infinity) soonest = this.idleLimitUnused();
    return Math.max(1, Math.ceil((soonest + this.sessionSettings.sweepIntervalMs) / 1000));
  }

  private count(principal: string, delta: number) {
    const n = (this.counts.get(principal) ?? 0) + delta;
    if (n > 0) this.counts.set(principal, n);
    else this.counts.delete(principal);
    this.total += delta;
  }
}

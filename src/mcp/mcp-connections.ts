import { Injectable, Logger } from '@nestjs/common';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { errorMessage } from '../common/domain-error';
import { SessionService } from '../session/session.module';
import type { ToolContext } from './tool-context';

interface Connection {
  /** Last time the client sent anything on this connection. */
  lastSeen: number;
  ctx: ToolContext;
  transport: Transport;
}

/**
 * Every open MCP connection (Streamable HTTP session or stdio) with its own server and transport.
 * When a connection closes, its default session (and that session's computer) ends with it.
 */
@Injectable()
export class McpConnections {
  private readonly logger = new Logger(McpConnections.name);
  private readonly open = new Map<string, Connection>();

  constructor(private readonly sessions: SessionService) {}

  add(ctx: ToolContext, transport: Transport) {
    this.open.set(ctx.connectionId, { ctx, transport, lastSeen: Date.now() });
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

  size() {
    return this.open.size;
  }

  /** Called when a transport closed (DELETE, client gone, or shutdown). Idempotent. */
  async closed(connectionId: string) {
    const conn = this.open.get(connectionId);
    if (!conn) return;
    this.open.delete(connectionId);
    this.logger.log(`MCP connection ${connectionId} closed`);
    await this.sessions.endConnection(connectionId).catch((e) => this.logger.error(`Ending the default session of ${connectionId} failed: ${errorMessage(e)}`));
  }

  /**
   * Closes HTTP connections whose client has sent nothing for `idleMs` and has no call running
   * (a client that vanished without DELETE): their server, transport and default session go.
   * stdio is never swept (its process lives as long as its client).
   */
  async sweepIdle(idleMs: number, busy: (connectionId: string) => boolean, now = Date.now()): Promise<string[]> {
    const idle = [...this.open.entries()].filter(([id, c]) => id !== 'stdio' && now - c.lastSeen > idleMs && !busy(id)).map(([id]) => id);
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
}

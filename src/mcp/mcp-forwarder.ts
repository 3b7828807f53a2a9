import { Injectable, Logger } from '@nestjs/common';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { principalOf } from '../auth/auth.module';
import { DomainError, DomainErrorCode, errorMessage } from '../common/domain-error';
import { withLogFields } from '../common/log-context';
import { McpConnections } from './mcp-connections';
import { rpcError } from './mcp-errors';
import { ToolRunner } from './tools/tool-runner';

/** Hands a request of an open MCP session (POST, GET or DELETE; body already parsed) to its transport. */
@Injectable()
export class McpForwarder {
  private readonly logger = new Logger('McpController');

  constructor(
    private readonly connections: McpConnections,
    private readonly tools: ToolRunner,
  ) {}

  async forward(sid: string, req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const found = this.connections.get(sid);
    // An MCP session belongs to the principal that opened it: to anyone else it does not exist.
    const conn = found && found.ctx.principal === principalOf(req) ? found : undefined;
    if (!conn) return rpcError(res, 404, -32001, `Session not found: no MCP session "${sid.slice(0, 64)}" (it ended or never existed). Initialize a new one.`);
    if (Array.isArray(body) && body.length === 0) return rpcError(res, 400, -32600, 'Invalid Request: an empty batch holds no message.');
    this.connections.serving(conn, res, req.method === 'GET');
    if (req.method === 'POST') this.abortIfClientLeaves(sid, body, res);
    try {
      const transport = conn.transport as StreamableHTTPServerTransport;
      await withLogFields({ principal: conn.ctx.principal, mcp_session: sid }, () => transport.handleRequest(req, res, body));
    } catch (e) {
      this.logger.error(`MCP request failed: ${errorMessage(e)}`);
      rpcError(res, 500, -32603, 'Internal error.');
    }
  }

  /**
   * A client that drops the connection of a POST before its answer arrives can no longer receive
   * it: stop the tool calls of that request, so no orphaned task keeps driving the computer.
   * (The MCP session itself stays: the client may come back with its Mcp-Session-Id.)
   */
  private abortIfClientLeaves(sid: string, body: unknown, res: ServerResponse) {
    const ids: (string | number)[] = [];
    for (const m of Array.isArray(body) ? body : [body]) {
      if (typeof m === 'object' && m !== null && 'method' in m && 'id' in m) ids.push((m as { id: string | number }).id);
    }
    if (!ids.length) return;
    res.on('close', () => {
      if (res.writableFinished) return;
      const n = this.tools.abortRequests(sid, ids, new DomainError(DomainErrorCode.CANCELLED, 'The client disconnected before the answer was sent.'));
      if (n) this.logger.log(`Client of MCP session ${sid} disconnected; stopped ${n} call(s)`);
    });
  }
}

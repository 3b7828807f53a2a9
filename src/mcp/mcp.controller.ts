import { Controller, Delete, Get, Logger, Post, Req, Res } from '@nestjs/common';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { principalOf } from '../auth/auth.module';
import { DomainError, DomainErrorCode, errorMessage } from '../common/domain-error';
import { withLogFields } from '../common/log-context';
import { DrainState } from '../lifecycle/lifecycle.module';
import { McpConnections } from './mcp-connections';
import { McpServerFactory } from './mcp-server.factory';
import { ToolRunner } from './tools/tool-runner';

/** A JSON-RPC error reply for failures before a request reaches an MCP server. */
export function rpcError(res: Response, status: number, code: number, message: string) {
  if (res.headersSent) return;
  res.status(status).json({ jsonrpc: '2.0', error: { code, message }, id: null });
}

/**
 * Streamable HTTP at /mcp: POST (requests), GET (the server-to-client stream), DELETE (end the
 * MCP session). One McpServer and one transport per MCP session, bound to the principal whose API
 * key opened it.
 */
@Controller('mcp')
export class McpController {
  private readonly logger = new Logger(McpController.name);

  constructor(
    private readonly connections: McpConnections,
    private readonly factory: McpServerFactory,
    private readonly drain: DrainState,
    private readonly tools: ToolRunner,
  ) {}

  @Post()
  async post(@Req() req: Request, @Res() res: Response): Promise<void> {
    const sid = req.header('mcp-session-id');
    if (sid) return this.forward(sid, req, res);
    const body: unknown = req.body;
    const isInit = Array.isArray(body) ? body.some((m) => isInitializeRequest(m)) : isInitializeRequest(body);
    if (!isInit) {
      return rpcError(res, 400, -32000, 'Bad Request: no Mcp-Session-Id header. Send an initialize request first, then send its Mcp-Session-Id with every request.');
    }
    if (this.drain.draining) return rpcError(res, 503, -32000, 'The server is shutting down; connect to another instance or retry shortly.');
    const id = randomUUID();
    const ctx = this.factory.create(principalOf(req), id);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => id,
      onsessioninitialized: (): void => this.connections.add(ctx, transport),
    });
    transport.onclose = () => void this.connections.closed(id);
    try {
      await ctx.server.connect(transport);
      await withLogFields({ principal: ctx.principal, mcp_session: id }, () => transport.handleRequest(req, res, body));
    } catch (e) {
      this.logger.error(`initialize failed: ${errorMessage(e)}`);
      rpcError(res, 500, -32603, 'Internal error while starting the MCP session.');
    }
  }

  @Get()
  async get(@Req() req: Request, @Res() res: Response): Promise<void> {
    const sid = req.header('mcp-session-id');
    if (!sid) return rpcError(res, 400, -32000, 'Bad Request: the Mcp-Session-Id header is required.');
    return this.forward(sid, req, res);
  }

  @Delete()
  async delete(@Req() req: Request, @Res() res: Response): Promise<void> {
    const sid = req.header('mcp-session-id');
    if (!sid) return rpcError(res, 400, -32000, 'Bad Request: the Mcp-Session-Id header is required.');
    return this.forward(sid, req, res);
  }

  private async forward(sid: string, req: Request, res: Response) {
    const found = this.connections.get(sid);
    // An MCP session belongs to the principal that opened it: to anyone else it does not exist.
    const conn = found && found.ctx.principal === principalOf(req) ? found : undefined;
    if (!conn) return rpcError(res, 404, -32001, `Session not found: no MCP session "${sid.slice(0, 64)}" (it ended or never existed). Initialize a new one.`);
    if (Array.isArray(req.body) && req.body.length === 0) return rpcError(res, 400, -32600, 'Invalid Request: an empty batch holds no message.');
    if (req.method === 'POST') this.abortIfClientLeaves(sid, req.body, res);
    try {
      const transport = conn.transport as StreamableHTTPServerTransport;
      await withLogFields({ principal: conn.ctx.principal, mcp_session: sid }, () => transport.handleRequest(req, res, req.body));
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
  private abortIfClientLeaves(sid: string, body: unknown, res: Response) {
    const ids = (Array.isArray(body) ? body : [body])
      .filter((m): m is { id: string | number; method: string } => typeof m === 'object' && m !== null && 'method' in m && 'id' in m)
      .map((m) => m.id);
    if (!ids.length) return;
    res.on('close', () => {
      if (res.writableFinished) return;
      const n = this.tools.abortRequests(sid, ids, new DomainError(DomainErrorCode.CANCELLED, 'The client disconnected before the answer was sent.'));
      if (n) this.logger.log(`Client of MCP session ${sid} disconnected; stopped ${n} call(s)`);
    });
  }
}

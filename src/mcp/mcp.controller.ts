import { Controller, Delete, Get, Logger, Post, Req, Res } from '@nestjs/common';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { errorMessage } from '../common/domain-error';
import { DrainState } from '../lifecycle/lifecycle.module';
import { McpConnections } from './mcp-connections';
import { McpServerFactory } from './mcp-server.factory';

/** A JSON-RPC error reply for failures before a request reaches an MCP server. */
export function rpcError(res: Response, status: number, code: number, message: string) {
  if (res.headersSent) return;
  res.status(status).json({ jsonrpc: '2.0', error: { code, message }, id: null });
}

const ANONYMOUS = 'anonymous';

/**
 * Streamable HTTP at /mcp: POST (requests), GET (the server-to-client stream), DELETE (end the
 * MCP session). One McpServer and one transport per MCP session.
 */
@Controller('mcp')
export class McpController {
  private readonly logger = new Logger(McpController.name);

  constructor(
    private readonly connections: McpConnections,
    private readonly factory: McpServerFactory,
    private readonly drain: DrainState,
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
    const ctx = this.factory.create(ANONYMOUS, id);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => id,
      onsessioninitialized: (): void => this.connections.add(ctx, transport),
    });
    transport.onclose = () => void this.connections.closed(id);
    try {
      await ctx.server.connect(transport);
      await transport.handleRequest(req, res, body);
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
    const conn = this.connections.get(sid);
    if (!conn) return rpcError(res, 404, -32001, `Session not found: no MCP session "${sid.slice(0, 64)}" (it ended or never existed). Initialize a new one.`);
    if (Array.isArray(req.body) && req.body.length === 0) return rpcError(res, 400, -32600, 'Invalid Request: an empty batch holds no message.');
    try {
      await (conn.transport as StreamableHTTPServerTransport).handleRequest(req, res, req.body);
    } catch (e) {
      this.logger.error(`MCP request failed: ${errorMessage(e)}`);
      rpcError(res, 500, -32603, 'Internal error.');
    }
  }
}

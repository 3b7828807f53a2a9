import { Controller, Delete, Get, Logger, Post, Req, Res } from '@nestjs/common';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { principalOf } from '../auth/auth.module';
import { errorMessage } from '../common/domain-error';
import { withLogFields } from '../common/log-context';
import { DrainState } from '../lifecycle/lifecycle.module';
import { McpConnections } from './mcp-connections';
import { McpServerFactory } from './mcp-server.factory';
import { McpForwarder } from './mcp-forwarder';
import { rpcError } from './mcp-errors';

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
    private readonly forwarder: McpForwarder,
  ) {}

  @Post()
  async post(@Req() req: Request, @Res() res: Response): Promise<void> {
    const sid = req.header('mcp-session-id');
    if (sid) return this.forwarder.forward(sid, req, res, req.body);
    const body: unknown = req.body;
    const isInit = Array.isArray(body) ? body.some((m) => isInitializeRequest(m)) : isInitializeRequest(body);
    if (!isInit) {
      return rpcError(res, 400, -32000, 'Bad Request: no Mcp-Session-Id header. Send an initialize request first, then send its Mcp-Session-Id with every request.');
    }
    if (this.drain.draining) return rpcError(res, 503, -32000, 'The server is shutting down; connect to another instance or retry shortly.');
    const principal = principalOf(req);
    const admission = this.connections.admit(principal);
    if (!admission.admitted) {
      this.logger.warn(`initialize of ${principal} refused: ${admission.setting} reached`);
      return rpcError(res, 429, -32000, admission.message, { 'Retry-After': String(admission.retryAfterSeconds) });
    }
    const id = randomUUID();
    const ctx = this.factory.create(principal, id);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => id,
      onsessioninitialized: (): void => this.connections.add(ctx, transport, admission),
    });
    transport.onclose = () => void this.connections.closed(id);
    try {
      await ctx.server.connect(transport);
      await withLogFields({ principal: ctx.principal, mcp_session: id }, () => transport.handleRequest(req, res, body));
    } catch (e) {
      this.logger.error(`initialize failed: ${errorMessage(e)}`);
      rpcError(res, 500, -32603, 'Internal error while starting the MCP session.');
    } finally {
      // When initialize did not open the session, its slot is free again (add() took it over otherwise).
      admission.release();
    }
  }

  @Get()
  async get(@Req() req: Request, @Res() res: Response): Promise<void> {
    const sid = req.header('mcp-session-id');
    if (!sid) return rpcError(res, 400, -32000, 'Bad Request: the Mcp-Session-Id header is required.');
    return this.forwarder.forward(sid, req, res, req.body);
  }

  @Delete()
  async delete(@Req() req: Request, @Res() res: Response): Promise<void> {
    const sid = req.header('mcp-session-id');
    if (!sid) return rpcError(res, 400, -32000, 'Bad Request: the Mcp-Session-Id header is required.');
    return this.forwarder.forward(sid, req, res, req.body);
  }
}

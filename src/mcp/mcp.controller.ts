import { Controller, Delete, Get, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { identityOf, principalOf } from '../auth/auth.module';
import { McpEndpoint } from './mcp-endpoint';
import { ReplicaForwarding } from './replica-forwarding';

/**
 * Streamable HTTP at /mcp: POST (requests, both protocol eras), DELETE (end a 2025-era MCP session), GET (405: no
 * server-to-client stream). McpEndpoint serves them; the gate (McpGateMiddleware) has checked them first. A POST
 * for a session whose computer another replica holds goes to that replica (ReplicaForwarding).
 */
@Controller('mcp')
export class McpController {
  constructor(
    private readonly endpoint: McpEndpoint,
    private readonly forwarding: ReplicaForwarding,
  ) {}

  @Post()
  async post(@Req() req: Request, @Res() res: Response): Promise<void> {
    if (await this.forwarding.forwardIfElsewhere(req, res, identityOf(req), req.body)) return;
    return this.endpoint.serve(req, res, principalOf(req), req.body);
  }

  @Get()
  get(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.endpoint.serve(req, res, principalOf(req), undefined);
  }

  @Delete()
  delete(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.endpoint.serve(req, res, principalOf(req), undefined);
  }
}

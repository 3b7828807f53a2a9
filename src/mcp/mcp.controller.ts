import { Controller, Delete, Get, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { principalOf } from '../auth/auth.module';
import { McpEndpoint } from './mcp-endpoint';

/**
 * Streamable HTTP at /mcp: POST (requests, both protocol eras), DELETE (end a 2025-era MCP session), GET (405: no
 * server-to-client stream). McpEndpoint serves them; the gate (McpGateMiddleware) has checked them first.
 */
@Controller('mcp')
export class McpController {
  constructor(private readonly endpoint: McpEndpoint) {}

  @Post()
  post(@Req() req: Request, @Res() res: Response): Promise<void> {
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

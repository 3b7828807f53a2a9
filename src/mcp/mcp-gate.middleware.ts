import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { Authenticator, setPrincipal } from '../auth/auth.module';
import { HostOriginPolicy } from '../http/http.module';
import { readMcpBody } from './mcp-body';
import { rpcError } from './mcp-errors';

/**
 * The one door of /mcp. Every request (POST, GET, DELETE) passes these checks, in this order,
 * before McpController sees it; a refusal is a JSON-RPC error body with the HTTP status:
 *
 * 1. Host and Origin (DNS-rebinding protection, HostOriginPolicy): 403.
 * 2. Who sent it (Authenticator: API key or OAuth access token): 401/403 with `WWW-Authenticate`, 503
 *    when the issuer's keys cannot be read; the identity is attached to the request.
 * 3. POST only: the JSON body, read into `req.body` (mcp-body.ts): 400 or 413.
 *
 * A check added to /mcp belongs here, in its place in this list. The checks run as one Nest
 * middleware rather than one each because every Express layer costs a share of a short tool
 * call's time (BENCHMARKS.md, MCP overhead).
 */
@Injectable()
export class McpGateMiddleware implements NestMiddleware {
  constructor(
    private readonly hostOrigin: HostOriginPolicy,
    private readonly authenticator: Authenticator,
  ) {}

  async use(req: Request, res: Response, next: NextFunction): Promise<void> {
    const refused = this.hostOrigin.refusal(req);
    if (refused) return rpcError(res, 403, -32000, refused);
    const who = await this.authenticator.authenticate(req);
    if (!who.ok) return rpcError(res, who.status, -32001, who.message, who.headers);
    setPrincipal(req, who.identity);
    if (req.method !== 'POST') return next();
    readMcpBody(req, res, next);
  }
}

import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { IncomingMessage } from 'node:http';
import { ApiKeyStore } from './api-key.store';
import { ANONYMOUS, setPrincipal } from './principal';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * `Authorization: Bearer <key>` on /mcp when API keys are configured. A missing or unknown key
 * gets 401 with a JSON-RPC error body and `WWW-Authenticate: Bearer`; the key itself is never
 * echoed or logged.
 */
@Injectable()
export class ApiKeyMiddleware implements NestMiddleware {
  constructor(private readonly keys: ApiKeyStore) {}

  /**
   * The principal of this request's key, ANONYMOUS when no keys are configured, undefined when
   * the key is missing or unknown. Plain Node request, so the MCP fast path can use it too.
   */
  authenticate(req: IncomingMessage): string | undefined {
    if (!this.keys.enabled) return ANONYMOUS;
    const m = BEARER.exec(req.headers.authorization ?? '');
    return m ? this.keys.principalFor(m[1]) : undefined;
  }

  use(req: Request, res: Response, next: NextFunction) {
    if (!this.keys.enabled) return next();
    const principal = this.authenticate(req);
    if (!principal) {
      const m = BEARER.exec(req.headers.authorization ?? '');
      const message = m ? 'Unauthorized: the API key is not valid.' : 'Unauthorized: send an API key as "Authorization: Bearer <key>".';
      res
        .status(401)
        .setHeader('WWW-Authenticate', m ? 'Bearer error="invalid_token"' : 'Bearer')
        .json({ jsonrpc: '2.0', error: { code: -32001, message }, id: null });
      return;
    }
    setPrincipal(req, principal);
    next();
  }
}

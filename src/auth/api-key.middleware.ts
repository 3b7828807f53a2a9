import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { ApiKeyStore } from './api-key.store';
import { setPrincipal } from './principal';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * `Authorization: Bearer <key>` on /mcp when API keys are configured. A missing or unknown key
 * gets 401 with a JSON-RPC error body and `WWW-Authenticate: Bearer`; the key itself is never
 * echoed or logged.
 */
@Injectable()
export class ApiKeyMiddleware implements NestMiddleware {
  constructor(private readonly keys: ApiKeyStore) {}

  use(req: Request, res: Response, next: NextFunction) {
    if (!this.keys.enabled) return next();
    const m = BEARER.exec(req.headers.authorization ?? '');
    const principal = m ? this.keys.principalFor(m[1]) : undefined;
    if (!principal) {
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

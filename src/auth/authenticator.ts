import { Injectable } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { ANONYMOUS } from './principal';
import { ApiKeyStore } from './api-key.store';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** Who sent a request, or why it is refused (status, `WWW-Authenticate` challenge, message for the client). */
export type Authentication =
  | { ok: true; principal: string }
  | { ok: false; status: 401; challenge: string; message: string };

/**
 * Says who sent an HTTP request: the principal of its `Authorization: Bearer <key>` when API keys
 * are configured, anonymous otherwise. The key itself is never echoed or logged. Transports write
 * a refusal in their own form (the MCP gate: a JSON-RPC error body).
 */
@Injectable()
export class Authenticator {
  constructor(private readonly keys: ApiKeyStore) {}

  authenticate(req: IncomingMessage): Authentication {
    if (!this.keys.enabled) return { ok: true, principal: ANONYMOUS };
    const m = BEARER.exec(req.headers.authorization ?? '');
    const principal = m ? this.keys.principalFor(m[1]) : undefined;
    if (principal) return { ok: true, principal };
    return m
      ? { ok: false, status: 401, challenge: 'Bearer error="invalid_token"', message: 'Unauthorized: the API key is not valid.' }
      : { ok: false, status: 401, challenge: 'Bearer', message: 'Unauthorized: send an API key as "Authorization: Bearer <key>".' };
  }
}

import { Injectable, Logger } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { InjectSettings } from '../config/config.module';
import { AccessTokenVerifier } from './access-token.verifier';
import { ApiKeyStore } from './api-key.store';
import { AUTH_SETTINGS, OAUTH_SETTINGS, type AuthSettings, type OAuthSettings } from './auth.settings';
import { ANONYMOUS, OPERATOR_PERMISSIONS, TENANT_PERMISSIONS, type Identity } from './principal';
import { bearerChallenge } from './protected-resource';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
/** Seconds a client is asked to wait when the authorization server's keys could not be read. */
const KEYS_RETRY_AFTER_S = 5;

/**
 * Who sent a request, or why it is refused: the HTTP status, the headers to send
 * (`WWW-Authenticate`, `Retry-After`) and a message for the client.
 */
export type Authentication =
  | { ok: true; principal: string; identity: Identity }
  | { ok: false; status: 401 | 403 | 503; headers: Record<string, string>; message: string };

const ANONYMOUS_IDENTITY: Identity = { principal: ANONYMOUS, via: 'anonymous', permissions: TENANT_PERMISSIONS };

/**
 * Says who sent an HTTP request, from its `Authorization: Bearer <value>`:
 *
 * - a configured API key → its principal, with a tenant's permissions (and the operator's, sessions:admin, for the
 *   principals of API_KEY_OPERATORS);
 * - otherwise, with OAUTH_ISSUER, an access token of that issuer for this server → the principal
 *   of its OAUTH_PRINCIPAL_CLAIM, with its scopes and roles as permissions (AccessTokenVerifier);
 * - anonymous mode only when neither API keys nor OAuth are configured.
 *
 * Refusals follow the MCP authorization spec: 401 with `WWW-Authenticate: Bearer
 * resource_metadata="…"` (and `error="invalid_token"` when a token was sent), 403
 * `insufficient_scope`, 503 when the issuer's keys cannot be read. The key or token is never
 * echoed, logged or passed on. Transports write a refusal in their own form (the MCP gate: a
 * JSON-RPC error body); stdio does not come here (trusted).
 */
@Injectable()
export class Authenticator {
  private readonly logger = new Logger('OAuth');

  constructor(
    private readonly keys: ApiKeyStore,
    private readonly tokens: AccessTokenVerifier,
    @InjectSettings(OAUTH_SETTINGS) private readonly oauth: OAuthSettings,
    @InjectSettings(AUTH_SETTINGS) private readonly auth: AuthSettings,
  ) {}

  /** True when anyone who reaches the server is let in (no API keys, no OAuth). */
  get open(): boolean {
    return !this.keys.enabled && !this.oauth.enabled;
  }

  async authenticate(req: IncomingMessage): Promise<Authentication> {
    if (this.open) return ok(ANONYMOUS_IDENTITY);
    const m = BEARER.exec(req.headers.authorization ?? '');
    if (m && this.keys.enabled) {
      const principal = this.keys.principalFor(m[1]);
      if (principal) return ok({ principal, via: 'api-key', permissions: this.auth.apiKeyOperators.has(principal) ? OPERATOR_PERMISSIONS : TENANT_PERMISSIONS });
    }
    const oauth = this.oauth;
    if (!oauth.enabled) {
      return m
        ? { ok: false, status: 401, headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' }, message: 'Unauthorized: the API key is not valid.' }
        : { ok: false, status: 401, headers: { 'WWW-Authenticate': 'Bearer' }, message: 'Unauthorized: send an API key as "Authorization: Bearer <key>".' };
    }
    if (!m) {
      const orKey = this.keys.enabled ? ' (or an API key)' : '';
      return {
        ok: false,
        status: 401,
        headers: { 'WWW-Authenticate': bearerChallenge(oauth) },
        message: `Unauthorized: send an access token of ${oauth.issuer}${orKey} as "Authorization: Bearer <token>"; how to get one: ${oauth.resourceMetadataUrl}`,
      };
    }
    const check = await this.tokens.verify(m[1]);
    if (check.ok) return ok(check.identity);
    if (check.error !== 'unavailable') this.logger.debug(`Refused an access token: ${check.message}`); // why, never the token
    switch (check.error) {
      case 'invalid_token':
        return { ok: false, status: 401, headers: { 'WWW-Authenticate': bearerChallenge(oauth, { code: 'invalid_token', description: check.description }) }, message: check.message };
      case 'insufficient_scope':
        return { ok: false, status: 403, headers: { 'WWW-Authenticate': bearerChallenge(oauth, { code: 'insufficient_scope', description: check.description }) }, message: check.message };
      case 'unavailable':
        return { ok: false, status: 503, headers: { 'Retry-After': String(KEYS_RETRY_AFTER_S) }, message: check.message };
    }
  }
}

function ok(identity: Identity): Authentication {
  return { ok: true, principal: identity.principal, identity };
}

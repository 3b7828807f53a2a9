import type { AuthInfo, LoggingLevel, McpServer } from '@modelcontextprotocol/server';
import type { Identity } from '../auth/auth.module';

/** Which protocol era a server instance serves: 2026-07-28 (`modern`, per-request metadata) or 2025-11-25 and before (`legacy`, `initialize`). */
export type McpEra = 'legacy' | 'modern';

/**
 * Who is calling, through which MCP server instance. One per McpServer: per HTTP request (both eras), per stdio
 * connection.
 */
export interface ToolContext {
  principal: string;
  /**
   * Who the caller proved to be for this request: how (API key, OAuth, anonymous, stdio) and with which permissions
   * (checked per call against tool-permissions.ts). Over HTTP, the request's own (a 2025-era MCP session's requests
   * may carry different tokens of the same principal).
   */
  identity: Identity;
  /** The MCP client as it named itself in `initialize`, when the instance serving the request cannot know it itself (2025 era over HTTP). */
  client?: ClientInfo;
  /**
   * What keys the caller's default session and its calls in flight: the Mcp-Session-Id (2025 era over HTTP),
   * "stdio", or the principal's own key in the 2026 era over HTTP (principalConnection), where every id-less call
   * of a principal shares one default session.
   */
  connectionId: string;
  era: McpEra;
  /** The Mcp-Session-Id the request came with (2025 era over HTTP). */
  mcpSession?: string;
  server: McpServer;
  /**
   * 2025 era over HTTP: the level logging/setLevel stored on the MCP session's record (the instance serving this
   * request is new and would not know it); messages below it are not sent. Unset elsewhere: the SDK's own filter
   * applies (the request's `_meta` level in the 2026 era, logging/setLevel on a stdio connection).
   */
  logLevel?: LoggingLevel;
}

/** The connection key of a principal's 2026-era calls over HTTP (no MCP session there: one default session per principal). */
export function principalConnection(principal: string): string {
  return `modern:${principal}`;
}

/** What a client says of itself (`clientInfo`), cut to what logs and the audit trail keep. */
export interface ClientInfo {
  name?: string;
  version?: string;
}

/** A client's own `clientInfo` (from initialize or a request's envelope) as ClientInfo: strings only, at most 100 characters each. */
export function clientInfoOf(value: unknown): ClientInfo | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { name, version } = value as Record<string, unknown>;
  const info: ClientInfo = {
    ...(typeof name === 'string' && { name: name.slice(0, 100) }),
    ...(typeof version === 'string' && { version: version.slice(0, 100) }),
  };
  return info.name !== undefined || info.version !== undefined ? info : undefined;
}

/**
 * The AuthInfo the MCP SDK carries for one HTTP request (to the server factory as `ctx.authInfo`, to tool handlers as
 * `ctx.http.authInfo`): the principal as `clientId`, its permissions as `scopes`, the whole identity in `extra`. Never
 * the token.
 */
export function authInfoOf(identity: Identity): AuthInfo {
  return { token: '', clientId: identity.principal, scopes: [...identity.permissions], extra: { identity } };
}

/**
 * The identity authInfoOf put in a request's AuthInfo. Without one (which the endpoint never lets happen), the
 * principal it names with no permission at all: a call then fails as not permitted rather than being let through.
 */
export function identityOfAuthInfo(auth: AuthInfo | undefined, fallbackPrincipal: string): Identity {
  const identity = auth?.extra?.identity as Identity | undefined;
  if (identity && typeof identity.principal === 'string' && identity.permissions instanceof Set) return identity;
  return { principal: auth?.clientId ?? fallbackPrincipal, via: 'anonymous', permissions: new Set() };
}

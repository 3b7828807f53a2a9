import type { IncomingMessage } from 'node:http';

/** The principal of anyone when no API keys are configured (and of stdio, unless STDIO_PRINCIPAL says otherwise). */
export const ANONYMOUS = 'anonymous';

/**
 * The permissions (issue #18), granted as token scopes or roles (OAUTH_ROLES_CLAIM); API keys, anonymous mode and
 * stdio grant TENANT_PERMISSIONS, an operator API key (API_KEY_OPERATORS) OPERATOR_PERMISSIONS. Which tool needs
 * which is said in one place: mcp/tool-permissions.ts.
 */
export const PERMISSIONS = {
  /** The computer tools and sessions. */
  computersUse: 'computers:use',
  /** The agent: `run_cua_task`, `run_multi_cua_tasks`. */
  agentRun: 'agent:run',
  /** Recordings of one's own sessions. */
  recordingsRead: 'recordings:read',
  /** An operator: lists and ends every principal's sessions. */
  sessionsAdmin: 'sessions:admin',
} as const;

/** What an API key, anonymous mode and stdio grant: everything a tenant may do with its own things (not the operator's permission). */
export const TENANT_PERMISSIONS: ReadonlySet<string> = new Set([PERMISSIONS.computersUse, PERMISSIONS.agentRun, PERMISSIONS.recordingsRead]);

/** What an operator API key grants (API_KEY_OPERATORS): a tenant's permissions and the operator's. */
export const OPERATOR_PERMISSIONS: ReadonlySet<string> = new Set([...TENANT_PERMISSIONS, PERMISSIONS.sessionsAdmin]);

/** How a principal was proven: an API key, an OAuth access token, nothing (anonymous mode: no keys, no OAuth), or the stdio process itself. */
export type AuthMethod = 'api-key' | 'oauth' | 'anonymous' | 'stdio';

/** Who sent a request, as the Authenticator proved it. Holds no credential: never the key or the token. */
export interface Identity {
  /** The tenant everything the request touches belongs to. */
  readonly principal: string;
  /** How it was proven. */
  readonly via: AuthMethod;
  /** Permission names: an access token's scopes and roles; TENANT_PERMISSIONS for API keys (OPERATOR_PERMISSIONS for an operator's), anonymous mode and stdio. */
  readonly permissions: ReadonlySet<string>;
  /** OAuth: the client the token was issued to (`client_id` or `azp`), for logs. */
  readonly clientId?: string;
}

const identities = new WeakMap<IncomingMessage, Identity>();

/** Attaches who sent this request (a bare principal name counts as an anonymous-mode identity). */
export function setPrincipal(req: IncomingMessage, who: Identity | string) {
  identities.set(req, typeof who === 'string' ? { principal: who, via: 'anonymous', permissions: TENANT_PERMISSIONS } : who);
}

/** The principal the auth middleware authenticated for this request (anonymous without keys). */
export function principalOf(req: IncomingMessage): string {
  return identities.get(req)?.principal ?? ANONYMOUS;
}

/** The client of a stdio server: whoever started the process, trusted as a tenant (STDIO_PRINCIPAL), never as the operator. */
export function stdioIdentity(principal: string): Identity {
  return { principal, via: 'stdio', permissions: TENANT_PERMISSIONS };
}

/** The whole identity of this request (anonymous, with the tenant permissions, when none was attached). */
export function identityOf(req: IncomingMessage): Identity {
  return identities.get(req) ?? { principal: ANONYMOUS, via: 'anonymous', permissions: TENANT_PERMISSIONS };
}

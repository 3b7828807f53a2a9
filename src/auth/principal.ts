import type { IncomingMessage } from 'node:http';

/** The principal of anyone when no API keys are configured (and of stdio, unless STDIO_PRINCIPAL says otherwise). */
export const ANONYMOUS = 'anonymous';

/**
 * Permission names reserved by issue #18, granted as token scopes or roles (OAUTH_ROLES_CLAIM).
 * They are parsed and attached to every request's identity; tools do not enforce them yet.
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

/** Who sent a request, as the Authenticator proved it. Holds no credential: never the key or the token. */
export interface Identity {
  /** The tenant everything the request touches belongs to. */
  readonly principal: string;
  /** How it was proven. */
  readonly via: 'api-key' | 'oauth' | 'anonymous';
  /** Permission names: an access token's scopes and roles; TENANT_PERMISSIONS for API keys and anonymous mode. */
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

/** The whole identity of this request (anonymous, with the tenant permissions, when none was attached). */
export function identityOf(req: IncomingMessage): Identity {
  return identities.get(req) ?? { principal: ANONYMOUS, via: 'anonymous', permissions: TENANT_PERMISSIONS };
}

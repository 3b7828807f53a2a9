import { DomainError, DomainErrorCode } from '../common/domain-error';
import { PERMISSIONS, type Identity } from './principal';

/**
 * The caller's credentials do not grant the permission a call needs. The message names the permission, what
 * the caller has, and how to get it for the way the caller signed in; it never says anything about other
 * principals or their things (a refusal comes before anything is looked up).
 */
export class PermissionDeniedError extends DomainError {
  constructor(
    /** The permission that is missing, e.g. `agent:run`. */
    readonly permission: string,
    /** What was refused, e.g. `run_cua_task`, or `list_sessions with all_principals`. */
    what: string,
    who: Pick<Identity, 'via' | 'permissions'>,
  ) {
    // Only this server's permission names: a token's other scopes and roles (offline_access, a provider's default roles) are noise here.
    const known: ReadonlySet<string> = new Set(Object.values(PERMISSIONS));
    const held = [...who.permissions].filter((p) => known.has(p)).sort();
    const has = held.length ? held.join(', ') : 'none';
    super(DomainErrorCode.PERMISSION_DENIED, `${what} needs the permission ${permission}, which your credentials do not grant (yours: ${has}). ${howToGet(permission, who.via)}`);
  }
}

function howToGet(permission: string, via: Identity['via']): string {
  const operator = permission === PERMISSIONS.sessionsAdmin;
  switch (via) {
    case 'oauth':
      return (
        `Ask the authorization server for an access token with the scope ${permission} (or a role of that name, where this server reads roles), ` +
        'and its administrator to grant it to you; then connect with the new token.'
      );
    case 'api-key':
      return operator
        ? `An API key grants it only when the server's operator lists its principal in API_KEY_OPERATORS; or sign in with an access token that carries the scope ${permission}.`
        : `API keys grant ${PERMISSIONS.computersUse}, ${PERMISSIONS.agentRun} and ${PERMISSIONS.recordingsRead}; ask the server's operator.`;
    case 'anonymous':
      return operator
        ? `Without API keys or OAuth nobody is an operator: the server's operator configures operator API keys (API_KEY_OPERATORS) or OAuth (OAUTH_ISSUER).`
        : "Ask the server's operator.";
    case 'stdio':
      return operator
        ? `A stdio client has a tenant's permissions: an operator connects over HTTP with an operator API key (API_KEY_OPERATORS) or an access token that carries the scope ${permission}.`
        : "Ask the server's operator.";
  }
}

import type { OAuthConfig } from './auth.settings';

/** The OAuth 2.0 Protected Resource Metadata of `/mcp` (RFC 9728 §2), as MCP clients discover it. */
export function protectedResourceMetadata(config: OAuthConfig) {
  return {
    resource: config.resource,
    authorization_servers: [config.issuer],
    ...(config.scopesSupported.length ? { scopes_supported: config.scopesSupported } : {}),
    bearer_methods_supported: ['header'],
  };
}

/**
 * A `WWW-Authenticate: Bearer` challenge (RFC 6750 §3, RFC 9728 §5.1): the error when a token was
 * sent and refused, the scopes a token needs (OAUTH_REQUIRED_SCOPES) when there are any, and
 * where the metadata is. Every value is made of fixed text and settings checked at start (scopes
 * and URLs without quotes), so nothing a client sent ever reaches the header.
 */
export function bearerChallenge(config: OAuthConfig, error?: { code: 'invalid_token' | 'insufficient_scope'; description: string }): string {
  const params: string[] = [];
  if (error) params.push(`error="${error.code}"`, `error_description="${error.description.replace(/["\\]/g, '')}"`);
  if (config.requiredScopes.length) params.push(`scope="${config.requiredScopes.join(' ')}"`);
  params.push(`resource_metadata="${config.resourceMetadataUrl}"`);
  return `Bearer ${params.join(', ')}`;
}

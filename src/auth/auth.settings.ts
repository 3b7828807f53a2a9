import { Setting, defineSettings, type SettingsOf, type SettingsProblem, Int, List, Optional, Text, HttpUrl, list } from '../config/settings';
import { LIVE_VIEW_SETTINGS } from '../liveview/liveview.settings';

/** A principal (tenant) name. */
export const PRINCIPAL = /^[A-Za-z0-9._@-]{1,128}$/;
/** `key:principal[,key:principal…]`; a key is any run of characters without comma or whitespace. */
const API_KEYS_LIST = /^\s*[^\s,]+:[A-Za-z0-9._@-]{1,128}\s*(,\s*[^\s,]+:[A-Za-z0-9._@-]{1,128}\s*)*$/;

class AuthEnv {
  @Setting('Comma-separated `key:principal` pairs; with keys, `/mcp` needs `Authorization: Bearer <key>`. Unset (and no `API_KEYS_FILE`): anonymous mode.', { secret: true })
  @Optional() @Text(API_KEYS_LIST, 'a comma-separated list of key:principal pairs (principal: letters, digits and . _ @ -)')
  API_KEYS?: string;

  @Setting('A file of `key:principal` pairs (lines or commas, `#` comments), re-read when it changes; instead of `API_KEYS`.')
  @Optional() @Text()
  API_KEYS_FILE?: string;

  @Setting(
    'Comma-separated principals whose API keys also carry the operator permission `sessions:admin`: they may list and end every principal\'s sessions (`list_sessions` / `cleanup_session` with `principal` or `all_principals`). Needs `API_KEYS` or `API_KEYS_FILE`. Unset: no API key is an operator.',
  )
  @Optional() @List(PRINCIPAL, 'principals (letters, digits and . _ @ -)')
  API_KEY_OPERATORS?: string;

  @Setting('The principal of the stdio client.')
  @Text(PRINCIPAL, 'letters, digits and . _ @ - (at most 128)')
  STDIO_PRINCIPAL = 'anonymous';
}

export const AUTH_SETTINGS = defineSettings({
  namespace: 'auth',
  title: 'Clients and principals',
  env: AuthEnv,
  check: (env) => [
    ...(env.API_KEYS !== undefined && env.API_KEYS_FILE !== undefined ? [{ key: 'API_KEYS_FILE', after: ['API_KEYS'], reason: 'set either API_KEYS or API_KEYS_FILE, not both' }] : []),
    ...(env.API_KEY_OPERATORS !== undefined && env.API_KEYS === undefined && env.API_KEYS_FILE === undefined
      ? [{ key: 'API_KEY_OPERATORS', reason: 'has no effect without API keys: set API_KEYS or API_KEYS_FILE too, or unset it' }]
      : []),
  ],
  // The keys of the pairs (what comes before the last `:`), not the pairs: a key is what an echo could reveal.
  // Keys from API_KEYS_FILE are not among them: the server keeps those only as digests.
  secrets: (env) =>
    (env.API_KEYS ?? '')
      .split(/[\n,]/)
      .map((pair) => pair.trim())
      .filter((pair) => pair && !pair.startsWith('#') && pair.lastIndexOf(':') > 0)
      .map((pair) => pair.slice(0, pair.lastIndexOf(':')).trim()),
  build: (env) => ({
    /** `key:principal` pairs (secret), when set. */
    apiKeys: env.API_KEYS,
    apiKeysFile: env.API_KEYS_FILE,
    /** Principals whose API keys carry sessions:admin. */
    apiKeyOperators: new Set(list(env.API_KEY_OPERATORS)),
    stdioPrincipal: env.STDIO_PRINCIPAL,
  }),
});
export type AuthSettings = SettingsOf<typeof AUTH_SETTINGS>;

/** A scope token (RFC 6749 §3.3): printable ASCII but space, `"` and `\`. */
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/;
/** A claim name, or a dotted path into nested objects (`realm_access.roles`); URL-named claims (`https://acme.example/tenant`) too. */
const CLAIM = /^[\x21\x23-\x5B\x5D-\x7E]{1,256}$/;
/** Signature algorithms an access token may use: asymmetric ones only (never `none`, never an HMAC, whose key the issuer would share). */
export const SIGNING_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'Ed25519', 'EdDSA'] as const;

/** `localhost`, 127.0.0.0/8 and ::1: the only hosts plain `http://` is accepted for. */
export function isLoopbackHostname(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return h === 'localhost' || h === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** What is wrong with an issuer or resource URL (https unless loopback, no credentials, query or fragment), or undefined. */
function urlProblem(value: string, what: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be a URL'; // said by the key's own rule already
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHostname(url.hostname))) return `must be an https:// URL (${what}; plain http:// only on loopback)`;
  if (url.username || url.password) return 'must not carry a user name or password';
  if (url.hash || value.includes('#')) return 'must not have a fragment (#…)';
  if (url.search || value.includes('?')) return 'must not have a query (?…)';
  return undefined;
}

/** The canonical spelling of a resource URI: lower-case scheme and host, no default port, no trailing `/` on a bare origin. */
function canonicalResource(value: string): string {
  const href = new URL(value).href;
  return new URL(value).pathname === '/' ? href.replace(/\/$/, '') : href;
}

class OAuthEnv {
  @Setting(
    'The authorization server whose access tokens `/mcp` accepts (MCP authorization, OAuth 2.1): its issuer URL, e.g. `https://login.example.com/realms/acme`. Its metadata is read at start from `<issuer>/.well-known/openid-configuration` (or RFC 8414 `/.well-known/oauth-authorization-server`), and its keys from the `jwks_uri` named there. https, except on loopback. Unset: no OAuth.',
  )
  @Optional() @HttpUrl('https://login.example.com/realms/acme')
  OAUTH_ISSUER?: string;

  @Setting(
    "This server's canonical resource URI as clients reach `/mcp`, e.g. `https://computers.example.com/mcp`: the audience (`aud`) every access token must carry (RFC 8707) and the `resource` of `/.well-known/oauth-protected-resource`. Unset: `PUBLIC_URL` + `/mcp`.",
  )
  @Optional() @HttpUrl('https://computers.example.com/mcp')
  OAUTH_RESOURCE?: string;

  @Setting(
    'The access-token claim that names the principal (tenant): `sub`, `email`, `oid`, a tenant claim, or a dotted path into an object claim (`ext.tenant`). Pick one the provider keeps unique and unchangeable; a token without it is refused.',
  )
  @Text(CLAIM, 'a claim name or a dotted path such as ext.tenant')
  OAUTH_PRINCIPAL_CLAIM = 'sub';

  @Setting('An access-token claim holding roles (a list, or words separated by spaces), e.g. `roles` or `realm_access.roles`; its values count as permissions beside the token\'s scopes. Unset: scopes only.')
  @Optional() @Text(CLAIM, 'a claim name or a dotted path such as realm_access.roles')
  OAUTH_ROLES_CLAIM?: string;

  @Setting('Comma-separated scopes this server names in its protected-resource metadata (`scopes_supported`), which clients ask the authorization server for.')
  @List(SCOPE, 'scopes (printable characters, no spaces or quotes)')
  OAUTH_SCOPES_SUPPORTED = 'computers:use,agent:run,recordings:read';

  @Setting('Comma-separated scopes every access token must carry (as scopes, or as roles of `OAUTH_ROLES_CLAIM`); a token without one of them gets 403 `insufficient_scope`. Unset: none.')
  @Optional() @List(SCOPE, 'scopes (printable characters, no spaces or quotes)')
  OAUTH_REQUIRED_SCOPES?: string;

  @Setting('Seconds of clock difference with the authorization server tolerated when checking `exp` and `nbf`.')
  @Int(0, 300)
  OAUTH_CLOCK_SKEW_S = 30;

  @Setting(`Comma-separated signature algorithms an access token may be signed with (asymmetric only: ${SIGNING_ALGORITHMS.join(', ')}).`)
  @List(new RegExp(`^(${SIGNING_ALGORITHMS.join('|')})$`), `algorithms among ${SIGNING_ALGORITHMS.join(', ')} (never none or HS256)`)
  OAUTH_ALGORITHMS = 'RS256,PS256,ES256,EdDSA,Ed25519';

  @Setting("How long the authorization server's keys (JWKS) are used before they are fetched again.")
  @Int(10_000, 86_400_000)
  OAUTH_JWKS_CACHE_MAX_AGE_MS = 600_000;

  @Setting('A token signed with a key the server does not know makes it fetch the keys again (the provider rotated them), at most once per this long.')
  @Int(0, 600_000)
  OAUTH_JWKS_COOLDOWN_MS = 30_000;

  @Setting("Time limit of each request to the authorization server (its metadata, its keys).")
  @Int(500, 60_000)
  OAUTH_HTTP_TIMEOUT_MS = 5_000;
}

export const OAUTH_SETTINGS = defineSettings({
  namespace: 'oauth',
  title: 'MCP authorization (OAuth 2.1)',
  docs: 'security.md#mcp-authorization-oauth-21',
  env: OAuthEnv,
  check: (env, ctx) => {
    const problems: SettingsProblem[] = [];
    if (env.OAUTH_ISSUER === undefined) {
      for (const key of ['OAUTH_RESOURCE', 'OAUTH_PRINCIPAL_CLAIM', 'OAUTH_ROLES_CLAIM', 'OAUTH_REQUIRED_SCOPES'] as const) {
        if (ctx.given(key)) problems.push({ key, reason: 'has no effect without OAUTH_ISSUER: set OAUTH_ISSUER too, or unset it' });
      }
      return problems;
    }
    const issuer = urlProblem(env.OAUTH_ISSUER, 'the issuer');
    if (issuer) problems.push({ key: 'OAUTH_ISSUER', reason: issuer });
    const publicUrl = ctx.env(LIVE_VIEW_SETTINGS).PUBLIC_URL;
    if (env.OAUTH_RESOURCE === undefined && publicUrl === undefined) {
      problems.push({ key: 'OAUTH_RESOURCE', after: ['OAUTH_ISSUER', 'PUBLIC_URL'], reason: "is required with OAUTH_ISSUER: this server's /mcp URL as clients reach it (or set PUBLIC_URL)" });
    } else if (env.OAUTH_RESOURCE !== undefined) {
      const resource = urlProblem(env.OAUTH_RESOURCE, "this server's address");
      if (resource) problems.push({ key: 'OAUTH_RESOURCE', reason: resource });
      else if (canonicalResource(env.OAUTH_RESOURCE) !== env.OAUTH_RESOURCE) {
        problems.push({ key: 'OAUTH_RESOURCE', reason: `must be written canonically, as tokens' audience carries it: ${canonicalResource(env.OAUTH_RESOURCE)}` });
      }
    } else if (publicUrl !== undefined) {
      const derived = urlProblem(`${publicUrl.replace(/\/+$/, '')}/mcp`, "this server's address");
      if (derived) problems.push({ key: 'OAUTH_RESOURCE', after: ['PUBLIC_URL'], reason: `is unset, so it would be PUBLIC_URL + /mcp, which ${derived}: set OAUTH_RESOURCE` });
    }
    return problems;
  },
  build: (env, ctx) => {
    if (env.OAUTH_ISSUER === undefined) return { enabled: false as const };
    const resource = env.OAUTH_RESOURCE ?? canonicalResource(`${ctx.of(LIVE_VIEW_SETTINGS).publicUrl}/mcp`);
    const url = new URL(resource);
    return {
      enabled: true as const,
      /** The issuer as configured: the metadata's `issuer` and every token's `iss` must equal it exactly. */
      issuer: env.OAUTH_ISSUER,
      /** The audience tokens must carry, and the metadata's `resource`. */
      resource,
      /** Where the protected-resource metadata is (RFC 9728 §3.1: the well-known path before the resource's path); never from a request's Host. */
      resourceMetadataUrl: `${url.origin}/.well-known/oauth-protected-resource${url.pathname === '/' ? '' : url.pathname}`,
      principalClaim: env.OAUTH_PRINCIPAL_CLAIM,
      rolesClaim: env.OAUTH_ROLES_CLAIM,
      scopesSupported: list(env.OAUTH_SCOPES_SUPPORTED),
      requiredScopes: list(env.OAUTH_REQUIRED_SCOPES),
      clockSkewS: env.OAUTH_CLOCK_SKEW_S,
      algorithms: list(env.OAUTH_ALGORITHMS),
      jwksCacheMaxAgeMs: env.OAUTH_JWKS_CACHE_MAX_AGE_MS,
      jwksCooldownMs: env.OAUTH_JWKS_COOLDOWN_MS,
      httpTimeoutMs: env.OAUTH_HTTP_TIMEOUT_MS,
    };
  },
});
export type OAuthSettings = SettingsOf<typeof OAUTH_SETTINGS>;
/** The settings of an enabled OAuth (OAUTH_ISSUER set). */
export type OAuthConfig = Extract<OAuthSettings, { enabled: true }>;

import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { Server } from 'node:http';
import type { CryptoKey, JWTPayload, RemoteJWKSet } from 'jose';
import { errorMessage } from '../common/domain-error';
import { InjectSettings } from '../config/config.module';
import { OAUTH_SETTINGS, type OAuthConfig, type OAuthSettings } from './auth.settings';
import { discoverIssuer, type IssuerMetadata } from './issuer-metadata';
import type { Identity } from './principal';

type Jose = typeof import('jose');

/**
 * An access token's verdict. `description` is fixed text for the `WWW-Authenticate` challenge;
 * `message` says in detail what was wrong and what to do (the JSON-RPC error body). Neither holds
 * the token.
 */
export type TokenCheck =
  | { ok: true; identity: Identity }
  | { ok: false; error: 'invalid_token' | 'insufficient_scope' | 'unavailable'; description: string; message: string };

/** `typ` values of access tokens (RFC 9068 `at+jwt`, and the plain `JWT` many providers write); any other `typ` is another kind of token. */
const ACCESS_TOKEN_TYPES: ReadonlySet<string> = new Set(['at+jwt', 'application/at+jwt', 'jwt']);
/** A principal taken from a token: 1–256 characters, none of them whitespace or control characters. */
const TOKEN_PRINCIPAL = /^[^\s\p{C}]{1,256}$/u;

/** A claim by name, or by a dotted path into object claims when no claim has the whole name (`https://acme.example/tenant` stays one name). */
export function claimAt(payload: JWTPayload, name: string): unknown {
  if (Object.hasOwn(payload, name)) return payload[name];
  let at: unknown = payload;
  for (const part of name.split('.')) {
    if (typeof at !== 'object' || at === null || Array.isArray(at) || !Object.hasOwn(at, part)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

/** Words of a claim that is a list of strings or one string of words separated by spaces (`scope`, `scp`, roles). */
function words(value: unknown): string[] {
  if (typeof value === 'string') return value.split(/\s+/).filter(Boolean);
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string' && v !== '');
  return [];
}

/** A claim value as a message may show it: JSON, at most 200 characters. */
const shown = (v: unknown) => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
};
const when = (seconds: unknown) => (typeof seconds === 'number' ? new Date(seconds * 1000).toISOString() : shown(seconds));

/**
 * Checks OAuth 2.1 access tokens (JWTs) of the authorization server OAUTH_ISSUER, on every
 * request: the signature with the issuer's keys (its JWKS, from the `jwks_uri` of its own metadata,
 * cached and fetched again when a token names a key it does not know, so a rotation at the provider
 * is followed), an allowed asymmetric algorithm, `iss`, `aud` equal to OAUTH_RESOURCE (RFC 8707),
 * `exp` (required) and `nbf` within OAUTH_CLOCK_SKEW_S. The principal is the OAUTH_PRINCIPAL_CLAIM
 * claim; the permissions are the token's scopes (`scope`, `scp`) and OAUTH_ROLES_CLAIM's roles.
 *
 * It starts (metadata and keys read once, a failure stops the start) when the app serves HTTP;
 * stdio never reads tokens. Tokens are never stored, logged or sent anywhere.
 */
@Injectable()
export class AccessTokenVerifier implements OnApplicationBootstrap {
  private readonly logger = new Logger('OAuth');
  private started?: { jose: Jose; jwks: RemoteJWKSet; meta: IssuerMetadata; config: OAuthConfig };

  constructor(
    @InjectSettings(OAUTH_SETTINGS) private readonly settings: OAuthSettings,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  get enabled(): boolean {
    return this.settings.enabled;
  }

  async onApplicationBootstrap() {
    if (!this.settings.enabled) return;
    if (!(this.adapterHost.httpAdapter?.getHttpServer() instanceof Server)) return; // stdio: trusted, no tokens
    await this.start();
  }

  /** Reads the issuer's metadata and keys. Throws, saying what to fix, when either cannot be read. */
  async start(): Promise<void> {
    const config = this.settings;
    if (!config.enabled) throw new Error('OAuth is not configured (OAUTH_ISSUER)');
    const jose = loadJose();
    const meta = await discoverIssuer(config.issuer, config.httpTimeoutMs);
    const jwks = jose.createRemoteJWKSet(meta.jwksUri, { timeoutDuration: config.httpTimeoutMs, cooldownDuration: config.jwksCooldownMs, cacheMaxAge: config.jwksCacheMaxAgeMs });
    try {
      await jwks.reload();
    } catch (e) {
      throw new Error(`OAUTH_ISSUER ${config.issuer}: its keys at ${meta.jwksUri.href} (jwks_uri of ${meta.source}) could not be read: ${errorMessage(e)}.`);
    }
    this.started = { jose, jwks, meta, config };
    this.logger.log(
      `Accepting access tokens of ${config.issuer} for ${config.resource} (${jwks.jwks()?.keys.length ?? 0} signing key(s) from ${meta.jwksUri.href}); ` +
        `protected-resource metadata at ${config.resourceMetadataUrl}`,
    );
  }

  /** The verdict on one bearer token. Never throws. */
  async verify(token: string): Promise<TokenCheck> {
    const s = this.started;
    if (!s) return { ok: false, error: 'unavailable', description: 'OAuth is not started', message: 'The server is not ready to check access tokens yet; try again shortly.' };
    const { jose, config } = s;
    let header: ReturnType<Jose['decodeProtectedHeader']>;
    try {
      header = jose.decodeProtectedHeader(token);
      if (token.split('.').length !== 3) throw new Error('not a JWS');
    } catch {
      return invalid('The bearer token is malformed', 'Unauthorized: the bearer value is neither a valid API key nor a JWT access token.');
    }
    if (typeof header.alg !== 'string' || !config.algorithms.includes(header.alg)) {
      return invalid(
        'The access token is signed with an algorithm this server does not accept',
        `Unauthorized: the access token is signed with ${shown(header.alg)}, which this server does not accept (OAUTH_ALGORITHMS: ${config.algorithms.join(', ')}).`,
      );
    }
    if (typeof header.typ === 'string' && !ACCESS_TOKEN_TYPES.has(header.typ.toLowerCase())) {
      return invalid('The token is not an access token', `Unauthorized: the token's type ${shown(header.typ)} is not an access token's (at+jwt).`);
    }
    let payload: JWTPayload;
    try {
      payload = await this.verified(token);
    } catch (e) {
      return this.refusal(e, header.kid);
    }
    return this.identity(payload, config);
  }

  /**
   * The token's claims once its signature and claims check out. A token without `kid` that
   * several keys of the set could have signed (during a rotation) is tried with each.
   */
  private async verified(token: string): Promise<JWTPayload> {
    const { jose, jwks, config } = this.started!;
    const options = { issuer: config.issuer, audience: config.resource, algorithms: config.algorithms, clockTolerance: config.clockSkewS, requiredClaims: ['exp'] };
    try {
      return (await jose.jwtVerify(token, jwks, options)).payload;
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') throw e;
      let last = e;
      for await (const key of e as AsyncIterable<CryptoKey>) {
        try {
          return (await jose.jwtVerify(token, key, options)).payload;
        } catch (tried) {
          if ((tried as { code?: unknown }).code !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') throw tried;
          last = tried;
        }
      }
      throw last;
    }
  }

  private identity(payload: JWTPayload, config: OAuthConfig): TokenCheck {
    const claim = config.principalClaim;
    const value = claimAt(payload, claim);
    if (value === undefined || value === null) {
      return invalid(
        'The access token names no principal',
        `Unauthorized: the access token has no "${claim}" claim (OAUTH_PRINCIPAL_CLAIM), so it names no principal. Ask the authorization server to include it in access tokens for ${config.resource}.`,
      );
    }
    const principal = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
    if (typeof principal !== 'string' || !TOKEN_PRINCIPAL.test(principal)) {
      return invalid('The access token names no usable principal', `Unauthorized: the access token's "${claim}" claim (OAUTH_PRINCIPAL_CLAIM) is not a principal name (a text of 1 to 256 characters without spaces).`);
    }
    const permissions = new Set([...words(payload.scope), ...words(payload.scp), ...(config.rolesClaim ? words(claimAt(payload, config.rolesClaim)) : [])]);
    const missing = config.requiredScopes.filter((scope) => !permissions.has(scope));
    if (missing.length) {
      return {
        ok: false,
        error: 'insufficient_scope',
        description: 'The access token lacks a required scope',
        message: `Forbidden: the access token lacks the scope${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, which this server requires (OAUTH_REQUIRED_SCOPES: ${config.requiredScopes.join(' ')}). Ask the authorization server for a token with them.`,
      };
    }
    const clientId = [payload.client_id, payload.azp].find((c): c is string => typeof c === 'string');
    return { ok: true, identity: { principal, via: 'oauth', permissions, ...(clientId ? { clientId } : {}) } };
  }

  /** A jose error as a verdict: the token's fault (invalid_token), or the key set could not be fetched (unavailable). */
  private refusal(e: unknown, kid: unknown): TokenCheck {
    const { config, meta } = this.started!;
    const code = (e as { code?: unknown } | null)?.code;
    const iss = config.issuer;
    switch (code) {
      case 'ERR_JWT_EXPIRED':
        return invalid('The access token expired', `Unauthorized: the access token expired at ${when((e as { payload?: JWTPayload }).payload?.exp)}. Get a new one from ${iss}.`);
      case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
        const { claim, payload } = e as { claim: string; payload: JWTPayload };
        if (claim === 'iss') return invalid('The access token is from another issuer', `Unauthorized: the access token was issued by ${shown(payload.iss)}; this server accepts tokens of ${iss} (OAUTH_ISSUER) only.`);
        if (claim === 'aud') {
          return invalid('The access token is for another resource', `Unauthorized: the access token is for ${shown(payload.aud)}, not for this server. Ask ${iss} for a token with resource=${config.resource}.`);
        }
        if (claim === 'nbf') return invalid('The access token is not valid yet', `Unauthorized: the access token is not valid before ${when(payload.nbf)}.`);
        if (claim === 'exp') return invalid('The access token has no expiry', 'Unauthorized: the access token has no expiry (exp); this server accepts only tokens that expire.');
        return invalid('The access token has a claim that is not valid', `Unauthorized: the access token's "${claim}" claim is not valid.`);
      }
      case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
        return invalid('The access token signature does not verify', `Unauthorized: the access token's signature does not verify with the keys of ${iss}.`);
      case 'ERR_JWKS_NO_MATCHING_KEY':
        return invalid('The access token is signed with an unknown key', `Unauthorized: the access token is signed with a key ${iss} does not publish (kid ${shown(kid)}).`);
      case 'ERR_JWS_INVALID':
      case 'ERR_JWT_INVALID':
      case 'ERR_JOSE_ALG_NOT_ALLOWED':
      case 'ERR_JOSE_NOT_SUPPORTED':
      case 'ERR_JWT_CLAIM_INVALID':
        return invalid('The access token is malformed', `Unauthorized: the access token is not a well-formed signed JWT this server can check (${errorMessage(e)}).`);
      default:
        this.logger.warn(`The keys of ${iss} (${meta.jwksUri.href}) could not be read to check an access token: ${errorMessage(e)}`);
        return {
          ok: false,
          error: 'unavailable',
          description: 'The authorization server keys could not be read',
          message: `The server could not read the keys of ${iss} to check the access token; try again shortly.`,
        };
    }
  }
}

function invalid(description: string, message: string): TokenCheck {
  return { ok: false, error: 'invalid_token', description, message };
}

/** jose is an ES module: Node loads it with require from 20.19 on. Loaded only when OAuth is on. */
function loadJose(): Jose {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded lazily: an ES module, needed only with OAUTH_ISSUER
    return require('jose') as Jose;
  } catch (e) {
    throw new Error(`OAUTH_ISSUER needs the jose library, an ES module that Node loads with require from 20.19 on (${errorMessage(e)}): run Node 20.19 or later.`);
  }
}

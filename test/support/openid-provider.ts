import { generateKeyPairSync, randomBytes, type JsonWebKey } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InteractionDetails } from 'oidc-provider';

/** A confidential client that gets tokens with the client-credentials grant (a service, a CI job). */
export interface ServiceClient {
  clientId: string;
  clientSecret: string;
  /** Claims added to its access tokens (`email`, a tenant claim…). */
  claims?: Record<string, unknown>;
  /** Lifetime of its access tokens in seconds (default 300). */
  ttlS?: number;
}

export interface OpenIdProviderOptions {
  /** The resources (RFC 8707) tokens may be asked for, each with the scopes it allows. */
  resources: Record<string, string[]>;
  clients?: ServiceClient[];
  /** People who can log in during an authorization-code flow, by account id, with their claims. */
  accounts?: Record<string, Record<string, unknown>>;
}

/** A private RSA signing key as a JWK with its kid. */
export type SigningKey = JsonWebKey & { kid: string; alg: 'RS256'; use: 'sig' };

export interface OpenIdProvider {
  readonly issuer: string;
  /** The key it signs tokens with now (tests forge tokens with it, as a thief of the key would). */
  readonly signingKey: SigningKey;
  /** The account that logs in (and consents) when a browser next goes through its authorization endpoint. */
  user: string;
  /** A client-credentials token request; the token, or the provider's error. */
  clientCredentials(clientId: string, params: { resource: string; scope?: string }): Promise<{ status: number; token?: string; body: Record<string, unknown> }>;
  /** Signs with a new key from now on, still publishing the old one unless `retireOld`; returns the new kid. */
  rotateKeys(options?: { retireOld?: boolean }): Promise<string>;
  /**
   * Acts as the person's browser: opens an authorization URL, logs in as `user`, consents to
   * everything asked, and returns the URL the provider redirects back to (with `code`), without
   * opening it.
   */
  authorize(url: URL, redirectUri: string): Promise<URL>;
  stop(): Promise<void>;
}

/** A loopback port nothing listens on now (another process could take it before it is used: tests bind it at once). */
export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

function newKey(): SigningKey {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: `k-${randomBytes(6).toString('hex')}`, alg: 'RS256', use: 'sig' };
}

/** oidc-provider's notices (it was written for Node 22; it runs on 20) are not the test's output. */
async function quietly<T>(fn: () => Promise<T> | T): Promise<T> {
  const { warn, info } = console;
  const pass = (original: (...a: unknown[]) => void) => (...args: unknown[]) => (String(args[0]).startsWith('oidc-provider ') ? undefined : original(...args));
  console.warn = pass(warn);
  console.info = pass(info);
  try {
    return await fn();
  } finally {
    console.warn = warn;
    console.info = info;
  }
}

/**
 * A real OpenID Provider (`oidc-provider`, a certified implementation) on a loopback port, run by
 * the tests in this process. It issues JWT access tokens bound to a resource (RFC 8707):
 * client-credentials tokens for the configured service clients, and authorization-code tokens
 * (PKCE) for clients that register themselves (RFC 7591), after an automatic login of `user` and
 * consent. Its keys can be rotated while it runs.
 */
export async function startOpenIdProvider(options: OpenIdProviderOptions): Promise<OpenIdProvider> {
  const { default: Provider, errors } = await quietly(() => import('oidc-provider'));
  const server: Server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clients = new Map((options.clients ?? []).map((c) => [c.clientId, c]));
  const accounts = options.accounts ?? {};
  const allScopes = [...new Set(Object.values(options.resources).flat())];
  let keys = [newKey()];

  const build = () =>
    new Provider(issuer, {
      jwks: { keys },
      clients: [...clients.values()].map((c) => ({ client_id: c.clientId, client_secret: c.clientSecret, grant_types: ['client_credentials'], redirect_uris: [], response_types: [] })),
      scopes: ['openid', 'offline_access', ...allScopes],
      cookies: { keys: [randomBytes(16).toString('hex')] },
      findAccount: (_ctx: unknown, id: string) => (accounts[id] ? { accountId: id, claims: () => ({ sub: id, ...accounts[id] }) } : undefined),
      interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        registration: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: (_ctx: unknown, _client: unknown, oneOf?: string[]) => oneOf,
          getResourceServerInfo: (_ctx: unknown, resource: string, client: { clientId: string }) => {
            const scopes = options.resources[resource];
            if (!scopes) throw new errors.InvalidTarget(`unknown resource ${resource}`);
            return { scope: scopes.join(' '), audience: resource, accessTokenFormat: 'jwt', accessTokenTTL: clients.get(client.clientId)?.ttlS ?? 300, jwt: { sign: { alg: 'RS256' } } };
          },
        },
      },
      // A person's token carries their claims (email…); a service's, its configured ones.
      extraTokenClaims: (_ctx: unknown, token: { accountId?: string; clientId: string }) => (token.accountId ? accounts[token.accountId] : clients.get(token.clientId)?.claims),
      ttl: { AccessToken: 300, ClientCredentials: (_ctx: unknown, _token: unknown, client: { clientId: string }) => clients.get(client.clientId)?.ttlS ?? 300, AuthorizationCode: 60, Grant: 3600, Interaction: 600, Session: 3600, IdToken: 300, RefreshToken: 3600 },
    });
  let op = await quietly(build);
  let handle = op.callback();

  const state = { user: Object.keys(accounts)[0] ?? '' };

  /** The automatic login and consent page: logs `user` in and grants what the client asked for. */
  async function interaction(req: IncomingMessage, res: ServerResponse) {
    const details: InteractionDetails = await op.interactionDetails(req, res);
    if (details.prompt.name === 'login') {
      return op.interactionFinished(req, res, { login: { accountId: state.user } }, { mergeWithLastSubmission: false });
    }
    const grant = (details.grantId ? await op.Grant.find(details.grantId) : undefined) ?? new op.Grant({ accountId: details.session!.accountId, clientId: details.params.client_id });
    const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = details.prompt.details;
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
    for (const [resource, scopes] of Object.entries(missingResourceScopes ?? {})) grant.addResourceScope(resource, scopes.join(' '));
    return op.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.startsWith('/interaction/')) {
      interaction(req, res).catch((e: unknown) => {
        res.statusCode = 500;
        res.end(`interaction failed: ${String(e)}`);
      });
      return;
    }
    handle(req, res);
  });

  return {
    issuer,
    get signingKey() {
      return keys[0];
    },
    get user() {
      return state.user;
    },
    set user(id: string) {
      state.user = id;
    },
    async clientCredentials(clientId, params) {
      const client = clients.get(clientId);
      const secret = client?.clientSecret ?? 'no-such-secret';
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource: params.resource, ...(params.scope ? { scope: params.scope } : {}) }),
      });
      const body = (await res.json()) as Record<string, unknown>;
      return { status: res.status, token: typeof body.access_token === 'string' ? body.access_token : undefined, body };
    },
    async rotateKeys({ retireOld = false } = {}) {
      keys = retireOld ? [newKey()] : [newKey(), ...keys];
      op = await quietly(build);
      handle = op.callback();
      return keys[0].kid;
    },
    async authorize(url, redirectUri) {
      const jar = new Map<string, string>();
      let next = url;
      for (let hop = 0; hop < 12; hop++) {
        const res = await fetch(next, { redirect: 'manual', headers: jar.size ? { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {} });
        for (const cookie of res.headers.getSetCookie()) {
          const [pair, ...attributes] = cookie.split(';');
          const name = pair.slice(0, pair.indexOf('='));
          const gone = attributes.some((a) => /^\s*(max-age=0|expires=thu, 01 jan 1970)/i.test(a));
          if (gone) jar.delete(name);
          else jar.set(name, pair.slice(pair.indexOf('=') + 1));
        }
        const location = res.headers.get('location');
        const text = await res.text();
        if (!location) throw new Error(`the authorization flow stopped at ${next.href} with ${res.status}: ${text.slice(0, 500)}`);
        next = new URL(location, next);
        if (next.href.startsWith(redirectUri)) return next;
      }
      throw new Error('the authorization flow did not come back to the client within 12 redirects');
    },
    async stop() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

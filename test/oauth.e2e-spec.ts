/**
 * MCP authorization (OAuth 2.1) against a real OpenID Provider (oidc-provider) on loopback and the
 * real app on real HTTP, with the MCP SDK's own client and its OAuth support: the
 * protected-resource metadata, the challenges, tokens that must fail, key rotation, tenants kept
 * apart, API keys beside OAuth, and a client that does the whole authorization-code flow.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { UnauthorizedError, type OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { createHmac, createPublicKey, generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { decodeJwt, importJWK, SignJWT, type JWTPayload } from 'jose';
import { call, fakeScreenText, startApp, type TestApp, textOf } from './support/app';
import { freeLoopbackPort, startOpenIdProvider, type OpenIdProvider } from './support/openid-provider';
import { MAIN, spawnServer } from './support/server-process';
import { waitFor } from './support/wait-for';

const SCOPES = ['computers:use', 'agent:run', 'recordings:read', 'sessions:admin'];
const OTHER_RESOURCE = 'https://other.example.com/mcp';
const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
const API_KEY = 'key-erin-0123456789abcdef';
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

let port: number;
let resource: string;
let op: OpenIdProvider;
let t: TestApp | undefined;

beforeAll(async () => {
  port = await freeLoopbackPort();
  resource = `http://127.0.0.1:${port}/mcp`;
  op = await startOpenIdProvider({
    resources: { [resource]: SCOPES, [OTHER_RESOURCE]: SCOPES },
    clients: [
      { clientId: 'alice-svc', clientSecret: 'alice-secret-0123456789abcdef', claims: { email: 'alice@example.com' } },
      { clientId: 'bob-svc', clientSecret: 'bob-secret-0123456789abcdef', claims: { email: 'bob@example.com' } },
      { clientId: 'no-email-svc', clientSecret: 'no-email-secret-0123456789' },
      { clientId: 'short-svc', clientSecret: 'short-secret-0123456789abcdef', ttlS: 3 },
    ],
    accounts: { carol: { email: 'carol@example.com' }, dave: { email: 'dave@example.com' } },
  });
});
afterAll(() => op?.stop());
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** The app on the resource's port, taking tokens of `op` (clock skew 0, so expiry shows at once). */
async function start(env: Record<string, string> = {}) {
  t = await startApp({ PORT: String(port), OAUTH_ISSUER: op.issuer, OAUTH_RESOURCE: resource, OAUTH_CLOCK_SKEW_S: '0', ...env });
  return t;
}

async function token(clientId: string, params: { resource?: string; scope?: string } = {}): Promise<string> {
  const r = await op.clientCredentials(clientId, { resource: params.resource ?? resource, scope: params.scope ?? 'computers:use agent:run' });
  if (!r.token) throw new Error(`no token for ${clientId}: ${JSON.stringify(r.body)}`);
  return r.token;
}

async function post(body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(resource, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, challenge: res.headers.get('www-authenticate'), retryAfter: res.headers.get('retry-after'), text, json: () => JSON.parse(text) as { error: { code: number; message: string } } };
}
const bearer = (value: string) => ({ Authorization: `Bearer ${value}` });

/** An MCP client that sends a fixed bearer value (a token obtained elsewhere). */
async function connectWith(value: string, name = 'e2e') {
  const client = new Client({ name, version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(resource), { requestInit: { headers: bearer(value) } });
  await client.connect(transport);
  t!.clients.push(client);
  return { client, transport };
}

/** An MCP client that gets its own tokens from `op` with the client-credentials grant, through the SDK's OAuth support. */
async function connectAsService(clientId: string, clientSecret: string, scope = 'computers:use agent:run') {
  const provider = new ClientCredentialsProvider({ clientId, clientSecret, scope, expectedIssuer: op.issuer });
  const client = new Client({ name: clientId, version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider });
  await client.connect(transport);
  t!.clients.push(client);
  return { client, transport, provider };
}

/** The status of an authenticated-only request that opens nothing: 400 (no Mcp-Session-Id) once the token is taken, 401/403 when not. */
/** A GET of /mcp: 405 once the token is taken (the gate checks it first; GET itself has nothing to open), 401 when refused. */
async function probe(value: string): Promise<number> {
  const res = await fetch(resource, { headers: { accept: 'text/event-stream', ...bearer(value) } });
  await res.body?.cancel();
  return res.status;
}

const REDIRECT = 'http://127.0.0.1/oauth/callback';

/**
 * The client side of the authorization-code flow as the SDK wants it (OAuthClientProvider), kept
 * in memory: it registers itself with the provider (RFC 7591), and where a desktop app would open
 * the browser, it notes the URL; the test plays the browser with `op.authorize`.
 */
class HeadlessOAuthClient implements OAuthClientProvider {
  info?: OAuthClientInformationMixed;
  saved?: OAuthTokens;
  verifier?: string;
  opened?: URL;
  readonly redirectUrl = REDIRECT;
  readonly clientMetadata: OAuthClientMetadata = {
    client_name: 'e2e headless client',
    redirect_uris: [REDIRECT],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  };
  clientInformation() {
    return this.info;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.info = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.opened = url;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    if (!this.verifier) throw new Error('no code verifier saved');
    return this.verifier;
  }
}

/** Signs in through the whole flow as `user` and returns a connected client: 401 → metadata → registration → authorization with PKCE → token → MCP. */
async function signIn(user: string) {
  const oauth = new HeadlessOAuthClient();
  const first = new StreamableHTTPClientTransport(new URL(resource), { authProvider: oauth });
  await expect(new Client({ name: `${user}-app`, version: '1' }).connect(first)).rejects.toThrow(UnauthorizedError);
  await first.close();
  op.user = user;
  const back = await op.authorize(oauth.opened!, REDIRECT);
  await first.finishAuth(back.searchParams.get('code')!);
  const client = new Client({ name: `${user}-app`, version: '1' });
  const transport = new StreamableHTTPClientTransport(new URL(resource), { authProvider: oauth });
  await client.connect(transport);
  t!.clients.push(client);
  return { client, transport, oauth };
}

/** A token signed by `key` (a JWK with its private part) over a real token's claims with `over` on top: what a forger could send. */
async function forge(key: JsonWebKey & { kid?: string }, over: JWTPayload, header: Record<string, unknown> = {}) {
  const claims = { ...decodeJwt(await token('alice-svc')), ...over };
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: key.kid, ...header }).sign(await importJWK(key as never, 'RS256'));
}

function expectChallenge(r: { status: number; challenge: string | null; json: () => { error: { code: number; message: string } } }, message: RegExp) {
  expect(r.status).toBe(401);
  expect(r.challenge).toMatch(/^Bearer error="invalid_token", error_description="[^"]+", /);
  expect(r.challenge).toContain(`resource_metadata="http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp"`);
  expect(r.json().error).toEqual({ code: -32001, message: expect.stringMatching(message) });
}

describe('MCP authorization (OAuth 2.1) with a real OpenID Provider', () => {
  it('serves the protected-resource metadata at both well-known paths, and a request without a token gets 401 pointing at it (never at the Host it was sent to)', async () => {
    await start();
    for (const path of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']) {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(await res.json()).toEqual({ resource, authorization_servers: [op.issuer], scopes_supported: ['computers:use', 'agent:run', 'recordings:read'], bearer_methods_supported: ['header'] });
    }
    expect((await fetch(`http://127.0.0.1:${port}/.well-known/oauth-protected-resource/elsewhere`)).status).toBe(404);
    const none = await post(INIT);
    expect(none.status).toBe(401);
    expect(none.challenge).toBe(`Bearer resource_metadata="http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp"`);
    expect(none.json()).toEqual({ jsonrpc: '2.0', error: { code: -32001, message: expect.stringContaining(`send an access token of ${op.issuer} as "Authorization: Bearer <token>"`) }, id: null });
    // A Host the server accepts but is not its resource's (fetch cannot set Host: a plain HTTP request).
    await t!.close();
    await start({ ALLOWED_HOSTS: '127.0.0.1,evil.example.com' });
    const withHost = (host: string) =>
      new Promise<{ status?: number; challenge?: string }>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, path: '/mcp', method: 'POST', headers: { host, 'content-type': 'application/json', accept: 'application/json, text/event-stream' } }, (res) => {
          res.resume();
          resolve({ status: res.statusCode, challenge: res.headers['www-authenticate'] });
        });
        req.on('error', reject);
        req.end(JSON.stringify(INIT));
      });
    expect(await withHost('evil.example.com')).toEqual({ status: 401, challenge: `Bearer resource_metadata="http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp"` });
    expect((await withHost('not-listed.example.com')).status).toBe(403); // the Host header does arrive
    // GET and DELETE of /mcp are guarded the same way.
    expect((await fetch(resource, { headers: { accept: 'text/event-stream', 'mcp-session-id': 'x' } })).status).toBe(401);
    expect((await fetch(resource, { method: 'DELETE', headers: { 'mcp-session-id': 'x' } })).status).toBe(401);
  });

  it('an SDK client with client credentials finds the provider from the 401, gets a token for this resource, and works; the principal is its sub', async () => {
    await start();
    const { client, provider } = await connectAsService('alice-svc', 'alice-secret-0123456789abcdef');
    await call(client, 'computer', { action: 'type', text: 'hello', session_id: 'svc' });
    expect(await fakeScreenText(await call(client, 'screenshot_cua', { session_id: 'svc' }))).toBe('hello');
    const claims = decodeJwt(provider.tokens()!.access_token);
    expect(claims).toMatchObject({ iss: op.issuer, aud: resource, sub: 'alice-svc', scope: 'computers:use agent:run' });
    // The same principal with a token obtained elsewhere sees the same sessions.
    const { client: again } = await connectWith(await token('alice-svc'));
    expect((await call(again, 'list_sessions')).structuredContent).toMatchObject({ sessions: [expect.objectContaining({ session_id: 'svc' })] });
  });

  it('refuses with 401 invalid_token and the challenge: another audience, another issuer, an unknown key, alg none, an HMAC with the public key, a changed payload', async () => {
    await start();
    expectChallenge(await post(INIT, bearer(await token('alice-svc', { resource: OTHER_RESOURCE }))), new RegExp(`is for "https://other.example.com/mcp", not for this server. Ask .* resource=${resource}`));

    const elsewhere = await startOpenIdProvider({ resources: { [resource]: SCOPES }, clients: [{ clientId: 'alice-svc', clientSecret: 'alice-secret-0123456789abcdef' }] });
    try {
      const foreign = await elsewhere.clientCredentials('alice-svc', { resource, scope: 'computers:use' });
      expectChallenge(await post(INIT, bearer(foreign.token!)), /signed with a key .* does not publish/);
      // Signed with the right key but naming another issuer: the issuer is checked on its own.
      expectChallenge(await post(INIT, bearer(await forge(op.signingKey, { iss: elsewhere.issuer }))), new RegExp(`issued by "${elsewhere.issuer}"; this server accepts tokens of ${op.issuer} \\(OAUTH_ISSUER\\) only`));
    } finally {
      await elsewhere.stop();
    }

    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const stranger = privateKey.export({ format: 'jwk' });
    expectChallenge(await post(INIT, bearer(await forge({ ...stranger, kid: 'k-stranger' }, {}))), /signed with a key .* does not publish \(kid "k-stranger"\)/);
    expectChallenge(await post(INIT, bearer(await forge({ ...stranger, kid: op.signingKey.kid }, {}))), /signature does not verify with the keys of/);

    const claims = decodeJwt(await token('alice-svc'));
    expectChallenge(await post(INIT, bearer(`${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims)}.`)), /signed with "none", which this server does not accept/);
    const pem = createPublicKey({ key: op.signingKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const input = `${b64({ alg: 'HS256', typ: 'at+jwt', kid: op.signingKey.kid })}.${b64(claims)}`;
    expectChallenge(await post(INIT, bearer(`${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`)), /signed with "HS256", which this server does not accept/);
    const [h, , sig] = (await token('alice-svc')).split('.');
    expectChallenge(await post(INIT, bearer(`${h}.${b64({ ...claims, sub: 'bob-svc' })}.${sig}`)), /signature does not verify/);
    expectChallenge(await post(INIT, bearer('not-an-api-key-nor-a-jwt')), /neither a valid API key nor a JWT access token/);
    // The SDK client with such a token cannot connect.
    await expect(connectWith(await token('alice-svc', { resource: OTHER_RESOURCE }))).rejects.toThrow();
  });

  it('OAUTH_PRINCIPAL_CLAIM: the principal is that claim, and a token without it is refused', async () => {
    await start({ OAUTH_PRINCIPAL_CLAIM: 'email' });
    expectChallenge(await post(INIT, bearer(await token('no-email-svc'))), /has no "email" claim \(OAUTH_PRINCIPAL_CLAIM\), so it names no principal/);
    const { client: a } = await connectWith(await token('alice-svc'));
    await call(a, 'create_session');
    // Another client of the same person (same email) is the same principal.
    const { client: a2 } = await connectAsService('alice-svc', 'alice-secret-0123456789abcdef');
    expect(((await call(a2, 'list_sessions')).structuredContent as { sessions: unknown[] }).sessions).toHaveLength(1);
  });

  it('a token stops working once it expires: every request is checked (OAUTH_CLOCK_SKEW_S 0 here)', async () => {
    await start();
    const brief = (await op.clientCredentials('short-svc', { resource, scope: 'computers:use' })).token!;
    expect(decodeJwt(brief).exp! - decodeJwt(brief).iat!).toBe(3);
    expect(await probe(brief)).toBe(405); // taken
    await waitFor('the 3-second token to be refused', async () => (await probe(brief)) === 401, 8000);
    expectChallenge(await post(INIT, bearer(brief)), /the access token expired at \d{4}-\d\d-\d\dT.*Get a new one from/);
  });

  it('follows a key rotation at the provider without a restart: new keys are fetched when a token names one, retired keys stop working', async () => {
    await start({ OAUTH_JWKS_COOLDOWN_MS: '1000' });
    const before = await token('alice-svc');
    const { client } = await connectWith(before);
    expect((await call(client, 'list_sessions')).isError).toBeFalsy();
    const kid = await op.rotateKeys();
    const after = await token('alice-svc');
    expect(JSON.parse(Buffer.from(after.split('.')[0], 'base64url').toString())).toMatchObject({ kid });
    // At most one fetch of the keys per OAUTH_JWKS_COOLDOWN_MS: the new key is taken within a second or so.
    await waitFor('a token signed with the new key to be taken', async () => (await probe(after)) === 405, 5000);
    expect(await probe(before)).toBe(405); // the old key is still published
    await op.rotateKeys({ retireOld: true });
    const third = await token('alice-svc');
    await waitFor('a token signed with the third key to be taken', async () => (await probe(third)) === 405, 5000);
    expectChallenge(await post(INIT, bearer(before)), /signed with a key .* does not publish/);
  });

  it('two principals of the provider are kept apart exactly as two API keys are', async () => {
    await start();
    const { client: a, transport } = await connectAsService('alice-svc', 'alice-secret-0123456789abcdef');
    const { client: b, provider: bob } = await connectAsService('bob-svc', 'bob-secret-0123456789abcdef');
    await call(a, 'computer', { action: 'type', text: 'alice', session_id: 'project-x' });
    await call(b, 'computer', { action: 'type', text: 'bob', session_id: 'project-x' });
    expect(await fakeScreenText(await call(a, 'screenshot_cua', { session_id: 'project-x' }))).toBe('alice');
    expect(await fakeScreenText(await call(b, 'screenshot_cua', { session_id: 'project-x' }))).toBe('bob');
    const { session_id: minted } = (await call(a, 'create_session')).structuredContent as { session_id: string };
    await call(a, 'computer', { action: 'type', text: 'secret', session_id: minted });
    expect(textOf(await call(b, 'screenshot_cua', { session_id: minted }))).toMatch(/^\[SESSION_NOT_FOUND\]/);
    expect(textOf(await call(b, 'computer', { action: 'type', text: 'hijack', session_id: minted }))).toMatch(/^\[SESSION_NOT_FOUND\]/);
    expect((await call(b, 'cleanup_session', { session_id: minted })).structuredContent).toMatchObject({ ended: false });
    expect(((await call(b, 'list_sessions')).structuredContent as { sessions: { session_id: string }[] }).sessions.map((s) => s.session_id)).toEqual(['project-x']);
    // Bob's token on Alice's MCP session: it does not exist for him.
    const hijack = { ...bearer(bob.tokens()!.access_token), 'mcp-session-id': transport.sessionId!, 'mcp-protocol-version': '2025-11-25' };
    expect((await post({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'screenshot_cua', arguments: {} } }, hijack)).status).toBe(404);
    expect((await fetch(resource, { method: 'DELETE', headers: hijack })).status).toBe(404);
    expect(await fakeScreenText(await call(a, 'screenshot_cua', { session_id: minted }))).toBe('secret');
  });

  it('API keys keep working beside OAuth; with API keys alone there is no metadata and the challenge is the plain one', async () => {
    await start({ API_KEYS: `${API_KEY}:erin` });
    const { client: byKey } = await connectWith(API_KEY, 'erin');
    await call(byKey, 'create_session');
    const { client: byToken } = await connectAsService('alice-svc', 'alice-secret-0123456789abcdef');
    expect((await call(byToken, 'list_sessions')).structuredContent).toEqual({ sessions: [] });
    const none = await post(INIT);
    expect(none.status).toBe(401);
    expect(none.challenge).toMatch(/^Bearer resource_metadata=/);
    expect(none.json().error.message).toMatch(/\(or an API key\)/);
    expectChallenge(await post(INIT, bearer('key-wrong-0123456789abcdef')), /neither a valid API key nor a JWT access token/);
    await t!.close();

    t = await startApp({ PORT: String(port), API_KEYS: `${API_KEY}:erin` });
    const metadata = await fetch(`http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp`);
    expect(metadata.status).toBe(404);
    expect(await metadata.text()).toMatch(/OAUTH_ISSUER is not set/);
    expect((await post(INIT)).challenge).toBe('Bearer');
  });

  it('OAUTH_REQUIRED_SCOPES: a token without one gets 403 insufficient_scope naming it, and challenges ask for it', async () => {
    await start({ OAUTH_REQUIRED_SCOPES: 'computers:use' });
    const weak = await post(INIT, bearer(await token('alice-svc', { scope: 'recordings:read' })));
    expect(weak.status).toBe(403);
    expect(weak.challenge).toBe(
      `Bearer error="insufficient_scope", error_description="The access token lacks a required scope", scope="computers:use", resource_metadata="http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp"`,
    );
    expect(weak.json().error.message).toMatch(/lacks the scope computers:use, which this server requires \(OAUTH_REQUIRED_SCOPES: computers:use\)/);
    expect((await post(INIT)).challenge).toBe(`Bearer scope="computers:use", resource_metadata="http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp"`);
    const { client } = await connectAsService('alice-svc', 'alice-secret-0123456789abcdef', 'computers:use');
    expect((await call(client, 'list_sessions')).isError).toBeFalsy();
  });

  it('a real MCP client does the whole flow: 401 → protected-resource metadata → provider metadata → registration → PKCE authorization → token for this resource → calls', async () => {
    await start();
    const { client: carol, oauth } = await signIn('carol');
    const asked = oauth.opened!;
    expect(asked.origin).toBe(op.issuer);
    expect(Object.fromEntries(asked.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: oauth.info!.client_id,
      code_challenge_method: 'S256',
      resource,
      scope: 'computers:use agent:run recordings:read',
      redirect_uri: REDIRECT,
    });
    expect(decodeJwt(oauth.saved!.access_token)).toMatchObject({ iss: op.issuer, aud: resource, sub: 'carol', scope: 'computers:use agent:run recordings:read' });
    await call(carol, 'computer', { action: 'type', text: 'carol was here', session_id: 'notes' });
    expect(await fakeScreenText(await call(carol, 'screenshot_cua', { session_id: 'notes' }))).toBe('carol was here');
    // Another person signing in is another principal.
    const { client: dave } = await signIn('dave');
    expect((await call(dave, 'list_sessions')).structuredContent).toEqual({ sessions: [] });
    expect(textOf(await call(dave, 'run_cua_task', { task: 'look', session_id: 'notes' }))).toMatch(/Answer: Done: look/);
    expect(await fakeScreenText(await call(carol, 'screenshot_cua', { session_id: 'notes' }))).toBe('carol was here');
  });

  it('the built server (node dist/main.js) checks tokens the same way; its stdio mode stays trusted and never asks the provider', async () => {
    const server = await spawnServer({ PORT: String(port), COMPUTER_PROVIDER: 'fake', SCREEN_WIDTH: '640', SCREEN_HEIGHT: '400', OAUTH_ISSUER: op.issuer, OAUTH_RESOURCE: resource });
    const clients: Client[] = [];
    try {
      expect(server.output()).toContain(`Accepting access tokens of ${op.issuer} for ${resource}`);
      expect(server.output()).not.toMatch(/NO API KEYS OR OAUTH CONFIGURED/);
      expect((await post(INIT)).status).toBe(401);
      const provider = new ClientCredentialsProvider({ clientId: 'bob-svc', clientSecret: 'bob-secret-0123456789abcdef', scope: 'computers:use', expectedIssuer: op.issuer });
      const client = new Client({ name: 'dist', version: '1' });
      clients.push(client);
      await client.connect(new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider }));
      expect((await call(client, 'create_session')).isError).toBeFalsy();
      expect(server.output()).not.toContain(provider.tokens()!.access_token);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await server.stop(5000);
    }

    const { CONTAINER_NAME: _c, ...env } = process.env as Record<string, string>;
    // An issuer nothing listens on: stdio would fail to start if it asked.
    const stdio = new StdioClientTransport({
      command: process.execPath,
      args: [MAIN, '--stdio'],
      env: { ...env, COMPUTER_PROVIDER: 'fake', CUA_MODEL_NAME: 'scripted/demo', OAUTH_ISSUER: 'http://127.0.0.1:1', OAUTH_RESOURCE: resource },
      stderr: 'pipe',
    });
    const local = new Client({ name: 'stdio', version: '1' });
    await local.connect(stdio);
    try {
      expect((await call(local, 'list_sessions')).isError).toBeFalsy();
    } finally {
      await local.close();
    }
  });
});

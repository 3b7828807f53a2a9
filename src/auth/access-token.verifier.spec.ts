import type { HttpAdapterHost } from '@nestjs/core';
import { createPublicKey, createHmac } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type CryptoKey, type JWK, SignJWT, type JWTPayload } from 'jose';
import { Settings } from '../config/config.module';
import { AccessTokenVerifier, type TokenCheck } from './access-token.verifier';
import { OAUTH_SETTINGS } from './auth.settings';

const RESOURCE = 'https://computers.example.com/mcp';
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

interface Key {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

/**
 * A stand-in authorization server on loopback for these unit tests: its metadata and its key set
 * (what the verifier fetches), with keys the test signs tokens with. The e2e tests use a real
 * OpenID Provider (test/support/oidc-provider.ts).
 */
class FakeIssuer {
  private server?: Server;
  url = '';
  published: Key[] = [];
  jwksRequests = 0;
  jwksStatus = 200;

  async start() {
    this.server = createServer((req, res) => {
      if (req.url === '/.well-known/openid-configuration') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ issuer: this.url, jwks_uri: `${this.url}/jwks` }));
      } else if (req.url === '/jwks') {
        this.jwksRequests++;
        res.statusCode = this.jwksStatus;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: this.published.map((k) => k.jwk) }));
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async key(kid: string, alg = 'RS256', publish = true): Promise<Key> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const key = { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
    if (publish) this.published.push(key);
    return key;
  }

  /** Claims of a good token for RESOURCE, valid for a minute, with `over` on top (undefined removes a claim). */
  claims(over: Record<string, unknown> = {}): JWTPayload {
    const now = Math.floor(Date.now() / 1000);
    const all: Record<string, unknown> = { iss: this.url, aud: RESOURCE, sub: 'alice', iat: now, exp: now + 60, scope: 'computers:use', client_id: 'app-1', ...over };
    return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined));
  }

  async sign(key: Key, over: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> {
    return new SignJWT(this.claims(over)).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...header }).sign(key.privateKey);
  }

  async stop() {
    this.server?.closeAllConnections();
    this.server?.close();
  }
}

function verifier(issuer: FakeIssuer, env: Record<string, string> = {}) {
  const settings = Settings.load({ OAUTH_ISSUER: issuer.url, OAUTH_RESOURCE: RESOURCE, ...env }).get(OAUTH_SETTINGS);
  return new AccessTokenVerifier(settings, {} as HttpAdapterHost);
}

function refused(check: TokenCheck) {
  if (check.ok) throw new Error(`accepted as ${check.identity.principal}`);
  return check;
}

describe(AccessTokenVerifier.name, () => {
  let issuer: FakeIssuer;
  let key: Key;
  beforeEach(async () => {
    issuer = new FakeIssuer();
    await issuer.start();
    key = await issuer.key('k1');
  });
  afterEach(() => issuer.stop());

  it('accepts a token of the issuer for this resource: the principal from sub, permissions from scope, scp and the roles claim, the client', async () => {
    const sut = verifier(issuer, { OAUTH_ROLES_CLAIM: 'realm_access.roles' });
    await sut.start();
    const check = await sut.verify(await issuer.sign(key, { scope: 'computers:use agent:run', scp: ['recordings:read'], realm_access: { roles: ['sessions:admin'] } }));
    expect(check).toEqual({
      ok: true,
      identity: { principal: 'alice', via: 'oauth', permissions: new Set(['computers:use', 'agent:run', 'recordings:read', 'sessions:admin']), clientId: 'app-1' },
    });
    // A token with several audiences, this server among them, is for this server too.
    expect(await sut.verify(await issuer.sign(key, { aud: ['https://other.example.com', RESOURCE] }))).toMatchObject({ ok: true });
  });

  it('takes the principal from OAUTH_PRINCIPAL_CLAIM (a name, a dotted path, a URL-named claim) and refuses a token without a usable one', async () => {
    const byEmail = verifier(issuer, { OAUTH_PRINCIPAL_CLAIM: 'email' });
    await byEmail.start();
    expect(await byEmail.verify(await issuer.sign(key, { email: 'alice@example.com' }))).toMatchObject({ ok: true, identity: { principal: 'alice@example.com' } });
    const missing = refused(await byEmail.verify(await issuer.sign(key)));
    expect(missing).toMatchObject({ error: 'invalid_token', description: 'The access token names no principal' });
    expect(missing.message).toMatch(/no "email" claim \(OAUTH_PRINCIPAL_CLAIM\)/);
    expect(refused(await byEmail.verify(await issuer.sign(key, { email: 'two words' }))).message).toMatch(/not a principal name/);
    expect(refused(await byEmail.verify(await issuer.sign(key, { email: { nested: true } }))).error).toBe('invalid_token');

    const byPath = verifier(issuer, { OAUTH_PRINCIPAL_CLAIM: 'ext.tenant' });
    await byPath.start();
    expect(await byPath.verify(await issuer.sign(key, { ext: { tenant: 'acme' } }))).toMatchObject({ ok: true, identity: { principal: 'acme' } });
    const byUrl = verifier(issuer, { OAUTH_PRINCIPAL_CLAIM: 'https://acme.example/tenant' });
    await byUrl.start();
    expect(await byUrl.verify(await issuer.sign(key, { 'https://acme.example/tenant': 'acme-eu' }))).toMatchObject({ ok: true, identity: { principal: 'acme-eu' } });
  });

  it('refuses a token for another audience, of another issuer, expired beyond the skew, not valid yet, or without exp, saying what to do', async () => {
    const sut = verifier(issuer, { OAUTH_CLOCK_SKEW_S: '30' });
    await sut.start();
    const now = Math.floor(Date.now() / 1000);
    const aud = refused(await sut.verify(await issuer.sign(key, { aud: 'https://other.example.com/mcp' })));
    expect(aud).toMatchObject({ error: 'invalid_token', description: 'The access token is for another resource' });
    expect(aud.message).toContain(`resource=${RESOURCE}`);
    const iss = refused(await sut.verify(await issuer.sign(key, { iss: 'https://evil.example.com' })));
    expect(iss.message).toMatch(/issued by "https:\/\/evil\.example\.com"; this server accepts tokens of http:\/\/127\.0\.0\.1:\d+ \(OAUTH_ISSUER\) only/);
    expect(refused(await sut.verify(await issuer.sign(key, { iat: now - 600, exp: now - 31 })))).toMatchObject({ description: 'The access token expired' });
    expect(await sut.verify(await issuer.sign(key, { iat: now - 600, exp: now - 20 }))).toMatchObject({ ok: true }); // within the skew
    expect(refused(await sut.verify(await issuer.sign(key, { nbf: now + 120 })))).toMatchObject({ description: 'The access token is not valid yet' });
    expect(await sut.verify(await issuer.sign(key, { nbf: now + 20 }))).toMatchObject({ ok: true });
    expect(refused(await sut.verify(await issuer.sign(key, { exp: undefined })))).toMatchObject({ description: 'The access token has no expiry' });
  });

  it('refuses alg none, an HMAC signed with the public key, algorithms outside OAUTH_ALGORITHMS, other kinds of tokens and anything not a JWS', async () => {
    const sut = verifier(issuer);
    await sut.start();
    const claims = issuer.claims();
    const none = `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims)}.`;
    expect(refused(await sut.verify(none))).toMatchObject({ error: 'invalid_token', description: 'The access token is signed with an algorithm this server does not accept' });
    expect(refused(await sut.verify(none)).message).toMatch(/"none", which this server does not accept \(OAUTH_ALGORITHMS: RS256/);
    // The classic confusion: the issuer's public key used as an HMAC secret.
    const pem = createPublicKey({ key: key.jwk as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const input = `${b64({ alg: 'HS256', kid: 'k1', typ: 'at+jwt' })}.${b64(claims)}`;
    const hs = `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`;
    expect(refused(await sut.verify(hs)).message).toMatch(/"HS256", which this server does not accept/);
    const es = await issuer.key('k-es', 'ES384');
    expect(refused(await sut.verify(await issuer.sign(es))).message).toMatch(/"ES384"/);
    const withEs384 = verifier(issuer, { OAUTH_ALGORITHMS: 'RS256,ES384' });
    await withEs384.start();
    expect(await withEs384.verify(await issuer.sign(es))).toMatchObject({ ok: true });
    expect(refused(await sut.verify(await issuer.sign(key, {}, { typ: 'dpop+jwt' })))).toMatchObject({ description: 'The token is not an access token' });
    expect(await sut.verify(await issuer.sign(key, {}, { typ: 'JWT' }))).toMatchObject({ ok: true });
    for (const junk of ['not-a-jwt', 'a.b.c', `${b64({ alg: 'RS256' })}.${b64(claims)}`]) {
      expect(refused(await sut.verify(junk))).toMatchObject({ error: 'invalid_token' });
    }
    // A good token with its payload changed no longer verifies.
    const [h, , sig] = (await issuer.sign(key)).split('.');
    expect(refused(await sut.verify(`${h}.${b64({ ...claims, sub: 'mallory' })}.${sig}`))).toMatchObject({ description: 'The access token signature does not verify' });
  });

  it('refuses a key the issuer does not publish, and follows a rotation: an unknown kid fetches the keys again, at most once per cooldown', async () => {
    const sut = verifier(issuer, { OAUTH_JWKS_COOLDOWN_MS: '600000' });
    await sut.start();
    expect(issuer.jwksRequests).toBe(1);
    const stranger = await issuer.key('k1', 'RS256', false); // same kid, another key
    expect(refused(await sut.verify(await issuer.sign(stranger)))).toMatchObject({ description: 'The access token signature does not verify' });
    const unknown = await issuer.key('k-unknown', 'RS256', false);
    expect(refused(await sut.verify(await issuer.sign(unknown))).message).toMatch(/signed with a key http:\/\/127\.0\.0\.1:\d+ does not publish \(kid "k-unknown"\)/);
    // The keys were fetched at start, less than a cooldown ago: unknown kids do not make it fetch them again.
    const rotated = await issuer.key('k2');
    expect(refused(await sut.verify(await issuer.sign(rotated)))).toMatchObject({ description: 'The access token is signed with an unknown key' });
    expect(issuer.jwksRequests).toBe(1);

    const eager = verifier(issuer, { OAUTH_JWKS_COOLDOWN_MS: '0' });
    await eager.start();
    const before = issuer.jwksRequests;
    const next = await issuer.key('k3');
    expect(await eager.verify(await issuer.sign(next))).toMatchObject({ ok: true });
    expect(issuer.jwksRequests).toBe(before + 1);
    expect(await eager.verify(await issuer.sign(next))).toMatchObject({ ok: true });
    expect(issuer.jwksRequests).toBe(before + 1);
  });

  it('checks a token without kid against each key that fits', async () => {
    const other = await issuer.key('k0');
    const sut = verifier(issuer);
    await sut.start();
    expect(await sut.verify(await issuer.sign(key, {}, { kid: undefined }))).toMatchObject({ ok: true });
    expect(await sut.verify(await issuer.sign(other, {}, { kid: undefined }))).toMatchObject({ ok: true });
    const stranger = await issuer.key('kx', 'RS256', false);
    expect(refused(await sut.verify(await issuer.sign(stranger, {}, { kid: undefined })))).toMatchObject({ description: 'The access token signature does not verify' });
  });

  it('OAUTH_REQUIRED_SCOPES: a token without one of them (as scope or role) is insufficient_scope, naming what is missing', async () => {
    const sut = verifier(issuer, { OAUTH_REQUIRED_SCOPES: 'computers:use,agent:run', OAUTH_ROLES_CLAIM: 'roles' });
    await sut.start();
    const check = refused(await sut.verify(await issuer.sign(key, { scope: 'computers:use' })));
    expect(check).toMatchObject({ error: 'insufficient_scope' });
    expect(check.message).toMatch(/lacks the scope agent:run, which this server requires \(OAUTH_REQUIRED_SCOPES: computers:use agent:run\)/);
    expect(await sut.verify(await issuer.sign(key, { scope: 'computers:use', roles: ['agent:run'] }))).toMatchObject({ ok: true });
  });

  it('keys it cannot read make the check unavailable (not the token invalid)', async () => {
    const sut = verifier(issuer, { OAUTH_JWKS_COOLDOWN_MS: '0' });
    await sut.start();
    issuer.jwksStatus = 500;
    const rotated = await issuer.key('k2');
    const check = refused(await sut.verify(await issuer.sign(rotated)));
    expect(check).toMatchObject({ error: 'unavailable' });
    expect(check.message).toMatch(/could not read the keys of http:\/\/127\.0\.0\.1:\d+/);
    // Known keys keep working from the cache.
    expect(await sut.verify(await issuer.sign(key))).toMatchObject({ ok: true });
  });

  it('start fails, saying why, when the keys cannot be read; before start every token is unavailable', async () => {
    const sut = verifier(issuer);
    expect(refused(await sut.verify(await issuer.sign(key)))).toMatchObject({ error: 'unavailable' });
    issuer.jwksStatus = 503;
    await expect(sut.start()).rejects.toThrow(/OAUTH_ISSUER http:\/\/127\.0\.0\.1:\d+: its keys at http:\/\/127\.0\.0\.1:\d+\/jwks \(jwks_uri of .*openid-configuration\) could not be read/);
  });
});

import type { IncomingMessage } from 'node:http';
import { Settings } from '../config/config.module';
import type { AccessTokenVerifier, TokenCheck } from './access-token.verifier';
import { ApiKeyStore } from './api-key.store';
import { AUTH_SETTINGS, OAUTH_SETTINGS } from './auth.settings';
import { Authenticator } from './authenticator';
import { OPERATOR_PERMISSIONS, TENANT_PERMISSIONS } from './principal';

const OAUTH = { OAUTH_ISSUER: 'https://login.example.com', OAUTH_RESOURCE: 'https://computers.example.com/mcp' };
const METADATA = 'resource_metadata="https://computers.example.com/.well-known/oauth-protected-resource/mcp"';

/** A stand-in for the token check: answers with `verdict` and records the tokens it was shown; strict about being asked at all. */
class FakeTokenVerifier {
  readonly seen: string[] = [];
  constructor(private readonly verdict?: TokenCheck) {}
  verify(token: string): Promise<TokenCheck> {
    if (!this.verdict) throw new Error(`unexpected token check of ${token}`);
    this.seen.push(token);
    return Promise.resolve(this.verdict);
  }
}

function authenticator(env: Record<string, string>, verdict?: TokenCheck) {
  const settings = Settings.load(env);
  const keys = new ApiKeyStore(settings.get(AUTH_SETTINGS));
  keys.onModuleInit();
  const tokens = new FakeTokenVerifier(verdict);
  return { sut: new Authenticator(keys, tokens as unknown as AccessTokenVerifier, settings.get(OAUTH_SETTINGS), settings.get(AUTH_SETTINGS)), tokens };
}

const request = (authorization?: string) => ({ headers: authorization === undefined ? {} : { authorization } }) as IncomingMessage;

describe(Authenticator.name, () => {
  it('is open (anonymous) only when neither API keys nor OAuth are configured', async () => {
    expect(authenticator({}).sut.open).toBe(true);
    expect(await authenticator({}).sut.authenticate(request('Bearer whatever'))).toEqual({
      ok: true,
      principal: 'anonymous',
      identity: { principal: 'anonymous', via: 'anonymous', permissions: TENANT_PERMISSIONS },
    });
    expect(authenticator({ API_KEYS: 'k-123456:alice' }).sut.open).toBe(false);
    expect(authenticator(OAUTH).sut.open).toBe(false);
  });

  it('with API keys alone, answers as before: the key\'s principal, or 401 with a plain Bearer challenge', async () => {
    const { sut } = authenticator({ API_KEYS: 'k-123456:alice' });
    expect(await sut.authenticate(request('Bearer k-123456'))).toMatchObject({ ok: true, principal: 'alice', identity: { via: 'api-key' } });
    expect(await sut.authenticate(request())).toEqual({ ok: false, status: 401, headers: { 'WWW-Authenticate': 'Bearer' }, message: 'Unauthorized: send an API key as "Authorization: Bearer <key>".' });
    expect(await sut.authenticate(request('Bearer nope'))).toMatchObject({ status: 401, headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });
  });

  it('with OAuth, a request without a token gets 401 pointing at the protected-resource metadata (and the required scopes)', async () => {
    const { sut } = authenticator(OAUTH);
    const none = await sut.authenticate(request());
    expect(none).toMatchObject({ ok: false, status: 401, headers: { 'WWW-Authenticate': `Bearer ${METADATA}` } });
    expect(none.ok || none.message).toMatch(/^Unauthorized: send an access token of https:\/\/login\.example\.com as "Authorization: Bearer <token>"/);
    expect(await authenticator(OAUTH).sut.authenticate(request('Basic dXNlcjpwdw=='))).toMatchObject({ status: 401, headers: { 'WWW-Authenticate': `Bearer ${METADATA}` } });
    const scoped = authenticator({ ...OAUTH, OAUTH_REQUIRED_SCOPES: 'computers:use,agent:run' }).sut;
    expect(await scoped.authenticate(request())).toMatchObject({ headers: { 'WWW-Authenticate': `Bearer scope="computers:use agent:run", ${METADATA}` } });
  });

  it('with OAuth, a token\'s verdict becomes the identity, or 401 invalid_token, 403 insufficient_scope, 503 with Retry-After', async () => {
    const identity = { principal: 'sub-42', via: 'oauth' as const, permissions: new Set(['computers:use']), clientId: 'app' };
    const good = authenticator(OAUTH, { ok: true, identity });
    expect(await good.sut.authenticate(request('Bearer eyJ.token.sig'))).toEqual({ ok: true, principal: 'sub-42', identity });
    expect(good.tokens.seen).toEqual(['eyJ.token.sig']);

    const expired = await authenticator({ ...OAUTH, OAUTH_REQUIRED_SCOPES: 'computers:use' }, { ok: false, error: 'invalid_token', description: 'The access token expired', message: 'Unauthorized: expired.' }).sut.authenticate(
      request('Bearer t'),
    );
    expect(expired).toEqual({
      ok: false,
      status: 401,
      headers: { 'WWW-Authenticate': `Bearer error="invalid_token", error_description="The access token expired", scope="computers:use", ${METADATA}` },
      message: 'Unauthorized: expired.',
    });
    const scope = await authenticator({ ...OAUTH, OAUTH_REQUIRED_SCOPES: 'computers:use,agent:run' }, { ok: false, error: 'insufficient_scope', description: 'The access token lacks a required scope', message: 'Forbidden.' }).sut.authenticate(
      request('Bearer t'),
    );
    expect(scope).toMatchObject({ status: 403, headers: { 'WWW-Authenticate': `Bearer error="insufficient_scope", error_description="The access token lacks a required scope", scope="computers:use agent:run", ${METADATA}` } });
    const down = await authenticator(OAUTH, { ok: false, error: 'unavailable', description: 'x', message: 'try again' }).sut.authenticate(request('Bearer t'));
    expect(down).toEqual({ ok: false, status: 503, headers: { 'Retry-After': '5' }, message: 'try again' });
  });

  it('with both, an API key is taken without a token check; anything else is checked as a token', async () => {
    const identity = { principal: 'bob', via: 'oauth' as const, permissions: new Set<string>() };
    const { sut, tokens } = authenticator({ ...OAUTH, API_KEYS: 'k-123456:alice' }, { ok: true, identity });
    expect(await sut.authenticate(request('Bearer k-123456'))).toMatchObject({ principal: 'alice', identity: { via: 'api-key', permissions: TENANT_PERMISSIONS } });
    expect(tokens.seen).toEqual([]);
    expect(await sut.authenticate(request('Bearer eyJ.other.sig'))).toMatchObject({ principal: 'bob' });
    expect(tokens.seen).toEqual(['eyJ.other.sig']);
    const none = await sut.authenticate(request());
    expect(none.ok || none.message).toMatch(/\(or an API key\)/);
  });

  it('API_KEY_OPERATORS: the keys of those principals carry sessions:admin besides the tenant permissions; other keys do not', async () => {
    const { sut } = authenticator({ API_KEYS: 'k-ops-123456:ops,k-alice-123456:alice', API_KEY_OPERATORS: 'ops' });
    expect(await sut.authenticate(request('Bearer k-ops-123456'))).toMatchObject({ principal: 'ops', identity: { via: 'api-key', permissions: OPERATOR_PERMISSIONS } });
    expect(OPERATOR_PERMISSIONS.has('sessions:admin')).toBe(true);
    expect(await sut.authenticate(request('Bearer k-alice-123456'))).toMatchObject({ principal: 'alice', identity: { via: 'api-key', permissions: TENANT_PERMISSIONS } });
    expect(TENANT_PERMISSIONS.has('sessions:admin')).toBe(false);
  });

  it('API_KEY_OPERATORS without API keys is refused at start, naming why', () => {
    expect(() => Settings.load({ API_KEY_OPERATORS: 'ops' })).toThrow(/API_KEY_OPERATORS.*has no effect without API keys/);
  });
});

import { ConfigValidationError, Settings } from '../config/config.module';
import { OAUTH_SETTINGS } from './auth.settings';

const load = (env: Record<string, string>) => Settings.load(env).get(OAUTH_SETTINGS);

/** The one-line reasons a bad environment is refused with, by key. */
function problems(env: Record<string, string>): Record<string, string> {
  try {
    Settings.load(env);
  } catch (e) {
    if (!(e instanceof ConfigValidationError)) throw e;
    return Object.fromEntries(e.problems.map((p) => [p.key, p.reasons.join('; ')]));
  }
  throw new Error('the settings were accepted');
}

describe('OAUTH_SETTINGS', () => {
  it('is off without OAUTH_ISSUER', () => {
    expect(load({})).toEqual({ enabled: false });
  });

  it('builds the resource, where its metadata is, and the checks tokens get', () => {
    expect(load({ OAUTH_ISSUER: 'https://login.example.com/realms/acme', OAUTH_RESOURCE: 'https://computers.example.com/mcp' })).toEqual({
      enabled: true,
      issuer: 'https://login.example.com/realms/acme',
      resource: 'https://computers.example.com/mcp',
      resourceMetadataUrl: 'https://computers.example.com/.well-known/oauth-protected-resource/mcp',
      principalClaim: 'sub',
      rolesClaim: undefined,
      scopesSupported: ['computers:use', 'agent:run', 'recordings:read'],
      requiredScopes: [],
      clockSkewS: 30,
      algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA', 'Ed25519'],
      jwksCacheMaxAgeMs: 600000,
      jwksCooldownMs: 30000,
      httpTimeoutMs: 5000,
    });
    expect(load({ OAUTH_ISSUER: 'http://127.0.0.1:9000', OAUTH_RESOURCE: 'http://localhost:3000' })).toMatchObject({
      resource: 'http://localhost:3000',
      resourceMetadataUrl: 'http://localhost:3000/.well-known/oauth-protected-resource',
    });
    // Unset, the resource is PUBLIC_URL's /mcp; the metadata's address comes from it, never from a request.
    expect(load({ OAUTH_ISSUER: 'https://login.example.com', PUBLIC_URL: 'https://Computers.Example.com/' })).toMatchObject({
      resource: 'https://computers.example.com/mcp',
      resourceMetadataUrl: 'https://computers.example.com/.well-known/oauth-protected-resource/mcp',
    });
    expect(load({ OAUTH_ISSUER: 'https://login.example.com', OAUTH_RESOURCE: 'https://c.example.com/mcp', OAUTH_REQUIRED_SCOPES: 'computers:use, agent:run', OAUTH_SCOPES_SUPPORTED: 'a,b' })).toMatchObject({
      requiredScopes: ['computers:use', 'agent:run'],
      scopesSupported: ['a', 'b'],
    });
  });

  it('refuses, with reasons, what would weaken the checks or confuse clients', () => {
    expect(problems({ OAUTH_ISSUER: 'http://login.example.com', OAUTH_RESOURCE: 'http://computers.example.com/mcp' })).toEqual({
      OAUTH_ISSUER: 'must be an https:// URL (the issuer; plain http:// only on loopback)',
      OAUTH_RESOURCE: "must be an https:// URL (this server's address; plain http:// only on loopback)",
    });
    expect(problems({ OAUTH_ISSUER: 'https://login.example.com?tenant=1', OAUTH_RESOURCE: 'https://c.example.com/mcp#frag' })).toEqual({
      OAUTH_ISSUER: 'must not have a query (?…)',
      OAUTH_RESOURCE: 'must not have a fragment (#…)',
    });
    expect(problems({ OAUTH_ISSUER: 'https://login.example.com', OAUTH_RESOURCE: 'https://C.example.com/mcp' })).toEqual({
      OAUTH_RESOURCE: "must be written canonically, as tokens' audience carries it: https://c.example.com/mcp",
    });
    expect(problems({ OAUTH_ISSUER: 'https://login.example.com' }).OAUTH_RESOURCE).toMatch(/is required with OAUTH_ISSUER/);
    expect(problems({ OAUTH_ISSUER: 'https://login.example.com', PUBLIC_URL: 'http://computers.example.com' }).OAUTH_RESOURCE).toMatch(/is unset, so it would be PUBLIC_URL \+ \/mcp, which must be an https:\/\/ URL/);
    expect(problems({ OAUTH_RESOURCE: 'https://c.example.com/mcp', OAUTH_PRINCIPAL_CLAIM: 'email' })).toEqual({
      OAUTH_RESOURCE: 'has no effect without OAUTH_ISSUER: set OAUTH_ISSUER too, or unset it',
      OAUTH_PRINCIPAL_CLAIM: 'has no effect without OAUTH_ISSUER: set OAUTH_ISSUER too, or unset it',
    });
    const base = { OAUTH_ISSUER: 'https://login.example.com', OAUTH_RESOURCE: 'https://c.example.com/mcp' };
    expect(problems({ ...base, OAUTH_ALGORITHMS: 'RS256,none' }).OAUTH_ALGORITHMS).toMatch(/never none or HS256/);
    expect(problems({ ...base, OAUTH_ALGORITHMS: 'HS256' }).OAUTH_ALGORITHMS).toMatch(/^must be a comma-separated list of algorithms among RS256/);
    expect(problems({ ...base, OAUTH_REQUIRED_SCOPES: 'computers:use,"quoted"' }).OAUTH_REQUIRED_SCOPES).toMatch(/scopes \(printable characters, no spaces or quotes\)/);
    expect(problems({ ...base, OAUTH_ISSUER: 'not a url' }).OAUTH_ISSUER).toMatch(/must be an http\(s\) URL/);
  });
});

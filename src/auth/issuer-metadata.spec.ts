import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { discoverIssuer, metadataUrls } from './issuer-metadata';

/** A loopback HTTP server answering with `handle`, recording the paths asked for. */
async function serve(handle: (req: IncomingMessage, res: ServerResponse, base: string) => void) {
  const paths: string[] = [];
  let base = '';
  const server: Server = createServer((req, res) => {
    paths.push(req.url ?? '');
    handle(req, res, base);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    paths,
    stop: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

const json = (res: ServerResponse, body: unknown, status = 200) => {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
};

describe(discoverIssuer.name, () => {
  const stops: (() => void)[] = [];
  afterEach(() => stops.splice(0).forEach((s) => s()));

  it('tries OpenID Connect Discovery, then RFC 8414, at the issuer and nowhere else', () => {
    expect(metadataUrls('https://login.example.com')).toEqual(['https://login.example.com/.well-known/openid-configuration', 'https://login.example.com/.well-known/oauth-authorization-server']);
    expect(metadataUrls('https://login.example.com/realms/acme/')).toEqual([
      'https://login.example.com/realms/acme/.well-known/openid-configuration',
      'https://login.example.com/.well-known/oauth-authorization-server/realms/acme',
      'https://login.example.com/.well-known/openid-configuration/realms/acme',
    ]);
  });

  it('reads the OpenID metadata of an issuer with a path, and falls back to RFC 8414 when there is none', async () => {
    const oidc = await serve((req, res, base) => (req.url === '/tenant/.well-known/openid-configuration' ? json(res, { issuer: `${base}/tenant`, jwks_uri: `${base}/tenant/keys` }) : json(res, {}, 404)));
    stops.push(oidc.stop);
    expect(await discoverIssuer(`${oidc.base}/tenant`, 2000)).toEqual({ issuer: `${oidc.base}/tenant`, jwksUri: new URL(`${oidc.base}/tenant/keys`), source: `${oidc.base}/tenant/.well-known/openid-configuration` });
    const oauth = await serve((req, res, base) => (req.url === '/.well-known/oauth-authorization-server' ? json(res, { issuer: base, jwks_uri: 'https://keys.example.com/jwks' }) : json(res, {}, 404)));
    stops.push(oauth.stop);
    expect((await discoverIssuer(oauth.base, 2000)).jwksUri.href).toBe('https://keys.example.com/jwks');
    expect(oauth.paths).toEqual(['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']);
  });

  it('refuses a document naming another issuer (with a hint when only a trailing slash differs) and key sets it would not fetch', async () => {
    let doc: Record<string, unknown> = {};
    const as = await serve((_req, res) => json(res, doc));
    stops.push(as.stop);
    doc = { issuer: 'https://evil.example.com', jwks_uri: `${as.base}/jwks` };
    await expect(discoverIssuer(as.base, 2000)).rejects.toThrow(/names "https:\/\/evil\.example\.com" as its issuer; it must be exactly OAUTH_ISSUER\.$/);
    doc = { issuer: `${as.base}/`, jwks_uri: `${as.base}/jwks` };
    await expect(discoverIssuer(as.base, 2000)).rejects.toThrow(new RegExp(`set OAUTH_ISSUER to exactly ${as.base}/\\.`));
    doc = { issuer: as.base, jwks_uri: 'http://keys.example.com/jwks' };
    await expect(discoverIssuer(as.base, 2000)).rejects.toThrow(/jwks_uri that is not https:\/\/ \(http:\/\/keys\.example\.com\/jwks\); plain http:\/\/ is accepted only on loopback/);
    doc = { issuer: as.base };
    await expect(discoverIssuer(as.base, 2000)).rejects.toThrow(/names no jwks_uri/);
    doc = { issuer: as.base, jwks_uri: 'https://user:pw@keys.example.com/jwks' };
    await expect(discoverIssuer(as.base, 2000)).rejects.toThrow(/credentials/);
  });

  it('does not follow redirects, names every URL it tried, and gives up on a silent server after the timeout', async () => {
    const moved = await serve((_req, res) => {
      res.writeHead(302, { location: 'https://elsewhere.example.com/.well-known/openid-configuration' }).end();
    });
    stops.push(moved.stop);
    await expect(discoverIssuer(moved.base, 2000)).rejects.toThrow(/answered with a redirect \(302 to https:\/\/elsewhere\.example\.com\/.well-known\/openid-configuration\), which is not followed/);
    expect(moved.paths).toEqual(['/.well-known/openid-configuration']);

    const empty = await serve((_req, res) => json(res, {}, 404));
    stops.push(empty.stop);
    await expect(discoverIssuer(empty.base, 2000)).rejects.toThrow(/no authorization server metadata found \(tried .*openid-configuration \(404\), .*oauth-authorization-server \(404\)\)/);

    const silent = await serve(() => undefined);
    stops.push(silent.stop);
    await expect(discoverIssuer(silent.base, 300)).rejects.toThrow(/no answer within 300 ms \(OAUTH_HTTP_TIMEOUT_MS\)/);

    await expect(discoverIssuer('http://127.0.0.1:1', 2000)).rejects.toThrow(/could not read http:\/\/127\.0\.0\.1:1\/\.well-known\/openid-configuration/);
  });
});

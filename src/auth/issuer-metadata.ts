import { errorMessage } from '../common/domain-error';
import { isLoopbackHostname } from './auth.settings';

/** What the server takes from the authorization server's metadata document. */
export interface IssuerMetadata {
  /** Equal to OAUTH_ISSUER, checked. */
  issuer: string;
  /** Where its signing keys are: https, or http on loopback. */
  jwksUri: URL;
  /** The document it came from. */
  source: string;
}

/**
 * The metadata URLs of an issuer, in the order they are tried: OpenID Connect Discovery
 * (`<issuer>/.well-known/openid-configuration`), then RFC 8414 (`/.well-known/oauth-authorization-server`
 * inserted before the issuer's path), then the RFC 8414 form of the OpenID one for issuers with a path.
 */
export function metadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, '');
  const urls = [`${url.origin}${path}/.well-known/openid-configuration`, `${url.origin}/.well-known/oauth-authorization-server${path}`];
  if (path) urls.push(`${url.origin}/.well-known/openid-configuration${path}`);
  return urls;
}

/** Why a key-set URL is not one the server will fetch, or undefined. */
function jwksUriProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'names no jwks_uri (the server needs the issuer\'s signing keys)';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `has a jwks_uri that is not a URL (${value.slice(0, 200)})`;
  }
  if (url.username || url.password) return 'has a jwks_uri with credentials in it';
  if (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHostname(url.hostname))) return undefined;
  return `has a jwks_uri that is not https:// (${url.href.slice(0, 200)}); plain http:// is accepted only on loopback`;
}

/**
 * Reads and checks the issuer's metadata: the first of `metadataUrls` that answers 200 with a
 * JSON object. Only those URLs are fetched, redirects are not followed, each request is bounded by
 * `timeoutMs`, and the document's `issuer` must be exactly OAUTH_ISSUER (OpenID Connect Discovery
 * §4.3, RFC 8414 §3.3): a document that names another issuer could hand out keys of another.
 * Throws an Error that says what to fix.
 */
export async function discoverIssuer(issuer: string, timeoutMs: number, fetchFn: typeof fetch = fetch): Promise<IssuerMetadata> {
  const tried: string[] = [];
  for (const source of metadataUrls(issuer)) {
    let res: Response;
    try {
      res = await fetchFn(source, { redirect: 'manual', headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      const why = (e as { name?: unknown } | null)?.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms (OAUTH_HTTP_TIMEOUT_MS)` : errorMessage(e);
      throw new Error(`OAUTH_ISSUER ${issuer}: could not read ${source}: ${why}. Check that the issuer URL is right and reachable from this server.`);
    }
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel();
      throw new Error(
        `OAUTH_ISSUER ${issuer}: ${source} answered with a redirect (${res.status}${res.headers.get('location') ? ` to ${res.headers.get('location')!.slice(0, 200)}` : ''}), which is not followed: set OAUTH_ISSUER to the exact issuer URL.`,
      );
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      tried.push(`${source} (${res.status})`);
      continue;
    }
    let doc: unknown;
    try {
      doc = await res.json();
    } catch (e) {
      throw new Error(`OAUTH_ISSUER ${issuer}: ${source} is not JSON (${errorMessage(e)}).`);
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error(`OAUTH_ISSUER ${issuer}: ${source} is not a JSON object.`);
    const meta = doc as Record<string, unknown>;
    if (meta.issuer !== issuer) {
      const named = typeof meta.issuer === 'string' ? `"${meta.issuer.slice(0, 200)}"` : 'no issuer';
      const hint = typeof meta.issuer === 'string' && meta.issuer.replace(/\/$/, '') === issuer.replace(/\/$/, '') ? `: set OAUTH_ISSUER to exactly ${meta.issuer}` : '';
      throw new Error(`OAUTH_ISSUER ${issuer}: ${source} names ${named} as its issuer; it must be exactly OAUTH_ISSUER${hint}.`);
    }
    const problem = jwksUriProblem(meta.jwks_uri);
    if (problem) throw new Error(`OAUTH_ISSUER ${issuer}: ${source} ${problem}.`);
    return { issuer, jwksUri: new URL(meta.jwks_uri as string), source };
  }
  throw new Error(`OAUTH_ISSUER ${issuer}: no authorization server metadata found (tried ${tried.join(', ')}). Check the issuer URL.`);
}

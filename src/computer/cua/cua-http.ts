import { abortReason, DomainError, errorMessage } from '../../common/domain-error';
import { CUA_HEADERS, CUA_MAX_MESSAGE_BYTES, CUA_PATHS, CuaParams, CuaRequest, decodeCmdReply } from '../../cua-protocol';
import { CuaEndpoint, displayUrl, httpUrlOf, RequestOptions } from './cua-urls';
import { checkReply, cuaError, CuaFields, remoteFailure } from './cua-errors';

/** Reads a response body up to `limit` bytes; longer bodies are a protocol error. */
async function readCapped(res: Response, limit: number, host: string): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done || !value) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw cuaError('protocol', `${host} sent a reply over the ${limit} byte limit.`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The HTTP side of the protocol: `POST /cmd` (the fallback channel) and GETs such as `/commands`. */
export class CuaHttp {
  private readonly host: string;

  constructor(private readonly endpoint: CuaEndpoint) {
    this.host = displayUrl(endpoint.url);
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const h: Record<string, string> = { ...extra };
    if (this.endpoint.apiKey !== undefined) h[CUA_HEADERS.apiKey] = this.endpoint.apiKey;
    if (this.endpoint.containerName !== undefined) h[CUA_HEADERS.containerName] = this.endpoint.containerName;
    return h;
  }

  private async fetch<T>(path: string, init: RequestInit, what: string, options: RequestOptions, read: (res: Response, body: string) => T): Promise<T> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, options.timeoutMs);
    const onAbort = () => controller.abort();
    if (options.signal?.aborted) throw abortReason(options.signal, what);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const res = await fetch(httpUrlOf(this.endpoint.url, path), { ...init, signal: controller.signal, redirect: 'error' });
      return read(res, await readCapped(res, CUA_MAX_MESSAGE_BYTES, this.host));
    } catch (e) {
      if (options.signal?.aborted) throw abortReason(options.signal, what);
      if (timedOut) throw cuaError('timeout', `The remote computer at ${this.host} did not answer ${what} within ${options.timeoutMs} ms.`, e);
      if (e instanceof DomainError) throw e;
      throw cuaError('unreachable', `Cannot reach ${this.host} (${what}): ${errorMessage((e as Error).cause ?? e)}`, e);
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** `POST /cmd`: one command; the reply body is a `data: {json}` line. */
  command(command: string, params: CuaParams | undefined, options: RequestOptions): Promise<CuaFields> {
    const req: CuaRequest = params === undefined ? { command } : { command, params };
    return this.fetch(CUA_PATHS.cmd, { method: 'POST', headers: this.headers({ 'content-type': 'application/json' }), body: JSON.stringify(req) }, `"${command}"`, options, (res, body) => {
      if (res.status === 401 || res.status === 403) throw cuaError('auth', `${this.host} refused "${command}" (HTTP ${res.status}: ${detailOf(body)}). Check CUA_API_KEY and CUA_CONTAINER_NAME.`);
      if (res.status === 400 || res.status === 404 || res.status === 422) {
        throw cuaError('remote', `The remote computer at ${this.host} could not run "${command}": ${detailOf(body)}`, undefined, { command, remoteError: detailOf(body), httpStatus: res.status });
      }
      if (!res.ok) throw cuaError('remote', `${this.host} answered "${command}" with HTTP ${res.status}: ${detailOf(body)}`, undefined, { command, httpStatus: res.status });
      let reply: { success: boolean; fields: CuaFields };
      try {
        reply = checkReply(decodeCmdReply(body), this.host);
      } catch (e) {
        throw cuaError('protocol', `${errorMessage(e)} (in reply to "${command}").`, e);
      }
      if (!reply.success) throw remoteFailure(this.host, command, reply.fields);
      return reply.fields;
    });
  }

  /** `GET path` as JSON; undefined on 404 (a server that does not offer it). */
  getJson(path: string, options: RequestOptions): Promise<unknown> {
    return this.fetch(path, { method: 'GET', headers: this.headers() }, `GET ${path}`, options, (res, body) => {
      if (res.status === 404) return undefined;
      if (res.status === 401 || res.status === 403) throw cuaError('auth', `${this.host} refused GET ${path} (HTTP ${res.status}). Check CUA_API_KEY and CUA_CONTAINER_NAME.`);
      if (!res.ok) throw cuaError('remote', `${this.host} answered GET ${path} with HTTP ${res.status}: ${detailOf(body)}`);
      try {
        return JSON.parse(body) as unknown;
      } catch (e) {
        throw cuaError('protocol', `${this.host} answered GET ${path} with something that is not JSON.`, e);
      }
    });
  }
}

function detailOf(body: string): string {
  try {
    const v = JSON.parse(body) as { detail?: unknown };
    if (typeof v?.detail === 'string') return v.detail;
  } catch {
    // not JSON: show the text
  }
  return body.trim().slice(0, 200) || '(empty body)';
}

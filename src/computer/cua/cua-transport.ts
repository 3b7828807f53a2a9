import WebSocket from 'ws';
import { sleep } from '../../common/async';
import { abortReason, DomainError, DomainErrorCode, errorMessage } from '../../common/domain-error';
import {
  CUA_AUTH_COMMAND,
  CUA_HEADERS,
  CUA_MAX_MESSAGE_BYTES,
  CUA_PATHS,
  CuaFramingError,
  CuaParams,
  CuaRequest,
  decodeCmdReply,
} from '../../cua-protocol';
import { Backoff } from './backoff';

/** Where a cua computer-server listens, and the credentials it wants (if any). Only ever from settings. */
export interface CuaEndpoint {
  /** http(s) base URL, e.g. http://10.0.0.5:8000. */
  url: string;
  apiKey?: string;
  containerName?: string;
}

/** A success reply's fields (`success` is true). */
export type CuaFields = Record<string, unknown>;

export interface RequestOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

/** What went wrong talking to a server; carried in a DomainError's details as `cua`. */
export type CuaFailureKind = 'timeout' | 'closed' | 'unreachable' | 'protocol' | 'remote' | 'auth';

/** The base URL shown in logs and errors: scheme, host and port only (never credentials or a path's secrets). */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(invalid URL)';
  }
}

function wsUrlOf(base: string): string {
  const u = new URL(base);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.pathname = u.pathname.replace(/\/+$/, '') + CUA_PATHS.ws;
  u.search = '';
  u.hash = '';
  return u.toString();
}

function httpUrlOf(base: string, path: string): string {
  const u = new URL(base);
  u.pathname = u.pathname.replace(/\/+$/, '') + path;
  u.search = '';
  u.hash = '';
  return u.toString();
}

export function cuaError(kind: CuaFailureKind, message: string, cause?: unknown, extra: Record<string, unknown> = {}): DomainError {
  return new DomainError(kind === 'timeout' ? DomainErrorCode.TIMEOUT : DomainErrorCode.COMPUTER_FAILED, message, {
    cause,
    details: { cua: kind, ...extra },
  });
}

/** The failure kind of an error thrown here, if it is one of ours. */
export function cuaKindOf(e: unknown): CuaFailureKind | undefined {
  return e instanceof DomainError ? (e.details?.cua as CuaFailureKind | undefined) : undefined;
}

/** Checks a reply frame: a JSON object with a boolean `success` (and a string `error` when false). */
function checkReply(value: unknown, where: string): { success: boolean; fields: CuaFields } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CuaFramingError(`${where} sent a reply that is not a JSON object`);
  const fields = value as CuaFields;
  if (typeof fields.success !== 'boolean') throw new CuaFramingError(`${where} sent a reply without a boolean "success"`);
  return { success: fields.success, fields };
}

function remoteFailure(host: string, command: string, fields: CuaFields): DomainError {
  const why = typeof fields.error === 'string' && fields.error ? fields.error : JSON.stringify(fields).slice(0, 300);
  return cuaError('remote', `The remote computer at ${host} could not run "${command}": ${why}`, undefined, { command, remoteError: why });
}

interface Pending {
  frame: string;
  command: string;
  timeoutMs: number;
  signal?: AbortSignal;
  resolve: (fields: CuaFields) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
  onAbort?: () => void;
  sent: boolean;
}

/** Marks a request that was never written to a connection that then broke: safe to send again. */
const NOT_SENT = 'notSent';

/**
 * One WebSocket connection to `/ws`. The protocol has no request ids, so requests are strictly
 * serialised: a FIFO queue, only its head on the wire. Anything unexpected — a reply with nothing
 * pending, a frame that is not a JSON object with a boolean `success`, a binary or oversized
 * frame, a request timing out or being abandoned while on the wire — discards the connection,
 * because any later reply could no longer be matched to its request.
 */
export class CuaWsChannel {
  private readonly queue: Pending[] = [];
  private dead?: DomainError;

  private constructor(
    private readonly ws: WebSocket,
    private readonly host: string,
    private readonly onDead: (why: DomainError) => void,
  ) {
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('close', (code, reason) => this.discard(cuaError('closed', `The connection to ${host} closed (code ${code}${reason.length ? `: ${reason.toString().slice(0, 200)}` : ''}).`)));
    ws.on('error', (e) => {
      const tooBig = /max payload/i.test(e.message);
      this.discard(tooBig ? cuaError('protocol', `${host} sent a message over the ${CUA_MAX_MESSAGE_BYTES} byte limit.`, e) : cuaError('closed', `The connection to ${host} failed: ${e.message}`, e));
    });
  }

  /** Opens `/ws` and, when the endpoint has a key, authenticates (the first frame). */
  static async open(endpoint: CuaEndpoint, options: RequestOptions & { onDead?: (why: DomainError) => void }): Promise<CuaWsChannel> {
    const host = displayUrl(endpoint.url);
    const ws = new WebSocket(wsUrlOf(endpoint.url), { maxPayload: CUA_MAX_MESSAGE_BYTES, handshakeTimeout: options.timeoutMs, perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      const done = (fn: () => void) => {
        ws.off('open', onOpen);
        ws.off('error', onError);
        options.signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const onOpen = () => done(resolve);
      const onError = (e: Error) =>
        done(() => {
          ws.terminate();
          const status = /Unexpected server response: (\d+)/.exec(e.message)?.[1];
          if (status === '401' || status === '403') reject(cuaError('auth', `${host} refused the WebSocket connection (HTTP ${status}). Check CUA_API_KEY and CUA_CONTAINER_NAME.`, e));
          else if (status) reject(cuaError('unreachable', `${host} does not offer a WebSocket at ${CUA_PATHS.ws} (HTTP ${status}).`, e, { httpStatus: Number(status) }));
          else if (/timed out|timeout/i.test(e.message)) reject(cuaError('timeout', `${host} did not accept a WebSocket connection within ${options.timeoutMs} ms.`, e));
          else reject(cuaError('unreachable', `Cannot connect to ${host}: ${e.message}`, e));
        });
      const onAbort = () => done(() => {
        ws.terminate();
        reject(abortReason(options.signal!, `Connecting to ${host}`));
      });
      if (options.signal?.aborted) return onAbort();
      ws.once('open', onOpen);
      ws.on('error', onError);
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
    const channel = new CuaWsChannel(ws, host, options.onDead ?? (() => undefined));
    if (endpoint.apiKey !== undefined || endpoint.containerName !== undefined) {
      const params: CuaParams = {};
      if (endpoint.apiKey !== undefined) params.api_key = endpoint.apiKey;
      if (endpoint.containerName !== undefined) params.container_name = endpoint.containerName;
      try {
        await channel.request(CUA_AUTH_COMMAND, params, options);
      } catch (e) {
        channel.close();
        if (cuaKindOf(e) === 'remote') {
          throw cuaError('auth', `${host} refused authentication: ${String((e as DomainError).details?.remoteError)}. Check CUA_API_KEY and CUA_CONTAINER_NAME.`, e);
        }
        throw e;
      }
    }
    return channel;
  }

  get isOpen(): boolean {
    return !this.dead && this.ws.readyState === WebSocket.OPEN;
  }

  /** Why the connection is no longer usable, once it is not. */
  get deathReason(): DomainError | undefined {
    return this.dead;
  }

  /** Sends one command and resolves with the success reply's fields; `success: false` rejects with a remote error. */
  request(command: string, params: CuaParams | undefined, options: RequestOptions): Promise<CuaFields> {
    if (this.dead) return Promise.reject(this.notSent(this.dead));
    if (options.signal?.aborted) return Promise.reject(abortReason(options.signal, `"${command}"`));
    const req: CuaRequest = params === undefined ? { command } : { command, params };
    return new Promise<CuaFields>((resolve, reject) => {
      const p: Pending = { frame: JSON.stringify(req), command, timeoutMs: options.timeoutMs, signal: options.signal, resolve, reject, sent: false };
      p.onAbort = () => {
        if (p.sent) {
          // Its reply would arrive later and be taken for the next request's: start over.
          this.settle(p, () => reject(abortReason(options.signal!, `"${command}"`)));
          this.discard(cuaError('closed', `The connection to ${this.host} was reset after "${command}" was cancelled while on the wire.`));
        } else {
          this.queue.splice(this.queue.indexOf(p), 1);
          this.settle(p, () => reject(abortReason(options.signal!, `"${command}"`)));
        }
      };
      options.signal?.addEventListener('abort', p.onAbort, { once: true });
      this.queue.push(p);
      this.pump();
    });
  }

  private settle(p: Pending, fn: () => void) {
    clearTimeout(p.timer);
    if (p.onAbort) p.signal?.removeEventListener('abort', p.onAbort);
    fn();
  }

  private notSent(why: DomainError): DomainError {
    return new DomainError(why.code, why.message, { cause: why.cause, details: { ...why.details, [NOT_SENT]: true } });
  }

  /** Puts the head of the queue on the wire, when nothing is there. */
  private pump() {
    const head = this.queue[0];
    if (!head || head.sent || this.dead) return;
    head.sent = true;
    head.timer = setTimeout(() => {
      const e = cuaError('timeout', `The remote computer at ${this.host} did not answer "${head.command}" within ${head.timeoutMs} ms.`, undefined, { command: head.command });
      this.queue.shift();
      this.settle(head, () => head.reject(e));
      this.discard(cuaError('closed', `The connection to ${this.host} was reset after "${head.command}" timed out.`));
    }, head.timeoutMs);
    this.ws.send(head.frame, (e) => {
      if (e) this.discard(cuaError('closed', `Could not send "${head.command}" to ${this.host}: ${e.message}`, e));
    });
  }

  private onMessage(data: WebSocket.RawData, isBinary: boolean) {
    if (this.dead) return;
    const head = this.queue[0];
    if (!head?.sent) {
      this.discard(cuaError('protocol', `${this.host} sent a reply with no request pending; the connection was reset.`));
      return;
    }
    let reply: { success: boolean; fields: CuaFields };
    try {
      if (isBinary) throw new CuaFramingError(`${this.host} sent a binary frame`);
      const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new CuaFramingError(`${this.host} sent a frame that is not JSON: ${JSON.stringify(text.slice(0, 80))}`);
      }
      reply = checkReply(value, this.host);
    } catch (e) {
      this.discard(cuaError('protocol', `${errorMessage(e)} (in reply to "${head.command}"); the connection was reset.`, e));
      return;
    }
    this.queue.shift();
    this.settle(head, () => (reply.success ? head.resolve(reply.fields) : head.reject(remoteFailure(this.host, head.command, reply.fields))));
    this.pump();
  }

  /** Fails the request on the wire with `why`, the unsent ones as safe to resend, and closes the socket. */
  private discard(why: DomainError) {
    if (this.dead) return;
    this.dead = why;
    const [head, ...rest] = this.queue.splice(0);
    if (head) {
      const e = head.sent ? why : this.notSent(why);
      this.settle(head, () => head.reject(e));
    }
    for (const p of rest) this.settle(p, () => p.reject(this.notSent(why)));
    this.ws.terminate();
    this.onDead(why);
  }

  /** Closes the connection; pending requests fail. Safe to call more than once. */
  close() {
    this.discard(cuaError('closed', `The connection to ${this.host} was closed.`));
  }
}

/** True for an error of a request that never reached the server (it may be sent again). */
export function wasNotSent(e: unknown): boolean {
  return e instanceof DomainError && e.details?.[NOT_SENT] === true;
}

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

export interface CuaClientOptions {
  /** Time limit of one request (connecting included) unless the call gives its own. */
  requestTimeoutMs: number;
  /** Reconnect backoff: doubling from the base, capped at the max, with jitter. */
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
}

/**
 * The client side of one computer: the WebSocket channel (reopened with backoff after it drops,
 * re-authenticating each time), or `POST /cmd` when the server offers no WebSocket. A request
 * that was on the wire when the connection broke fails (it may or may not have run); one that
 * was still queued is sent on the next connection.
 */
export class CuaClient {
  readonly host: string;
  readonly http: CuaHttp;
  private mode: 'ws' | 'http' = 'ws';
  private channel?: CuaWsChannel;
  private connecting?: Promise<CuaWsChannel>;
  private readonly backoff: Backoff;
  private nextAttemptAt = 0;
  private closed = false;
  /** Aborted by close(): stops reconnect waits. */
  private readonly lifetime = new AbortController();
  private readonly requestTimeoutMs: number;

  constructor(
    private readonly endpoint: CuaEndpoint,
    options: CuaClientOptions,
  ) {
    this.host = displayUrl(endpoint.url);
    this.http = new CuaHttp(endpoint);
    this.requestTimeoutMs = options.requestTimeoutMs;
    this.backoff = new Backoff(options.reconnectBaseMs ?? 100, options.reconnectMaxMs ?? 5_000);
  }

  /** `ws` or `http` (the fallback). */
  get transport(): 'ws' | 'http' {
    return this.mode;
  }

  /** Opens the first connection; a server without a WebSocket endpoint is used over `POST /cmd`. */
  async start(signal?: AbortSignal): Promise<void> {
    try {
      this.channel = await this.openChannel({ timeoutMs: this.requestTimeoutMs, signal });
    } catch (e) {
      if (cuaKindOf(e) === 'unreachable' && (e as DomainError).details?.httpStatus !== undefined) {
        this.mode = 'http';
        return;
      }
      throw e;
    }
  }

  private openChannel(options: RequestOptions): Promise<CuaWsChannel> {
    return CuaWsChannel.open(this.endpoint, {
      ...options,
      onDead: () => {
        this.channel = undefined;
      },
    });
  }

  /** A live channel: the current one, or a new one after the backoff, within the request's deadline. */
  private async live(deadline: number, signal?: AbortSignal): Promise<CuaWsChannel> {
    for (;;) {
      if (this.closed) throw cuaError('closed', `The connection to ${this.host} was closed.`);
      if (this.channel?.isOpen) return this.channel;
      if (!this.connecting) {
        const wait = Math.max(0, this.nextAttemptAt - Date.now());
        const attempt = async () => {
          if (wait > 0) {
            if (Date.now() + wait >= deadline) throw cuaError('unreachable', `${this.host} cannot be reached at the moment (it dropped the connection; the next reconnect is due in ${wait} ms).`);
            await sleep(wait, this.lifetime.signal);
          }
          try {
            const ch = await this.openChannel({ timeoutMs: Math.max(1, deadline - Date.now()), signal: this.lifetime.signal });
            this.backoff.reset();
            this.nextAttemptAt = 0;
            if (this.closed) ch.close();
            return ch;
          } catch (e) {
            this.nextAttemptAt = Date.now() + this.backoff.next();
            throw e;
          }
        };
        this.connecting = attempt().finally(() => (this.connecting = undefined));
        this.connecting.then((ch) => (this.channel = ch), () => undefined);
      }
      const ch = await raceSignal(this.connecting, signal, `Connecting to ${this.host}`);
      if (ch.isOpen) return ch;
    }
  }

  /**
   * Sends one command. `timeoutMs` bounds the whole request, reconnecting included; after a
   * timeout the connection is discarded (a late reply would be taken for the next request's).
   */
  async request(command: string, params?: CuaParams, options: Partial<RequestOptions> = {}): Promise<CuaFields> {
    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    if (this.mode === 'http') return this.http.command(command, params, { timeoutMs, signal: options.signal });
    for (;;) {
      const channel = await this.live(deadline, options.signal);
      try {
        return await channel.request(command, params, { timeoutMs: Math.max(1, deadline - Date.now()), signal: options.signal });
      } catch (e) {
        if (!wasNotSent(e) || Date.now() >= deadline) throw e;
      }
    }
  }

  /** Closes the connection; pending and later requests fail. Safe to call more than once. */
  close(): void {
    this.closed = true;
    this.lifetime.abort(cuaError('closed', `The connection to ${this.host} was closed.`));
    this.channel?.close();
    this.channel = undefined;
  }
}

/** Waits for `p`, or rejects when `signal` aborts (p keeps running; its owner finishes it). */
function raceSignal<T>(p: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(abortReason(signal, what));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal, what));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

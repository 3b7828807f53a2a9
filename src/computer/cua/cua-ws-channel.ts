import type { ClientRequest, IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { abortReason, DomainError, errorMessage } from '../../common/domain-error';
import { CUA_AUTH_COMMAND, CUA_MAX_MESSAGE_BYTES, CUA_PATHS, CuaFramingError, CuaParams, CuaRequest } from '../../cua-protocol';
import { CuaEndpoint, displayUrl, RequestOptions, wsUrlOf } from './cua-urls';
import { checkReply, CuaError, cuaError, CuaFields, cuaKindOf, notSent, remoteFailure } from './cua-errors';

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

/**
 * One WebSocket connection to `/ws`. The protocol has no request ids, so requests are strictly
 * serialised: a FIFO queue, only its head on the wire. Anything unexpected — a reply with nothing
 * pending, a frame that is not a JSON object with a boolean `success`, a binary or oversized
 * frame, a request timing out or being abandoned while on the wire — discards the connection,
 * because any later reply could no longer be matched to its request.
 */
export class CuaWsChannel {
  private readonly queue: Pending[] = [];
  private dead?: CuaError;

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
        ws.off('unexpected-response', onRefused);
        ws.off('error', onError);
        options.signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const onOpen = () => done(resolve);
      // The server answered the upgrade with something other than 101 (ws reports it with the response).
      const onRefused = (_req: ClientRequest, res: IncomingMessage) =>
        done(() => {
          res.resume();
          ws.on('error', () => undefined); // terminate() reports the abandoned handshake as an error too
          ws.terminate();
          const status = res.statusCode ?? 0;
          if (status === 401 || status === 403) reject(cuaError('auth', `${host} refused the WebSocket connection (HTTP ${status}). Check CUA_API_KEY and CUA_CONTAINER_NAME.`));
          else reject(cuaError('unreachable', `${host} does not offer a WebSocket at ${CUA_PATHS.ws} (HTTP ${status}).`, undefined, { httpStatus: status }));
        });
      const onError = (e: Error) =>
        done(() => {
          ws.terminate();
          if (/timed out|timeout/i.test(e.message)) reject(cuaError('timeout', `${host} did not accept a WebSocket connection within ${options.timeoutMs} ms.`, e));
          else reject(cuaError('unreachable', `Cannot connect to ${host}: ${e.message}`, e));
        });
      const onAbort = () => done(() => {
        ws.on('error', () => undefined);
        ws.terminate();
        reject(abortReason(options.signal!, `Connecting to ${host}`));
      });
      if (options.signal?.aborted) return onAbort();
      ws.once('open', onOpen);
      ws.once('unexpected-response', onRefused);
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
          throw cuaError('auth', `${host} refused authentication: ${String((e as CuaError).remoteError)}. Check CUA_API_KEY and CUA_CONTAINER_NAME.`, e);
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
  get deathReason(): CuaError | undefined {
    return this.dead;
  }

  /** Sends one command and resolves with the success reply's fields; `success: false` rejects with a remote error. */
  request(command: string, params: CuaParams | undefined, options: RequestOptions): Promise<CuaFields> {
    if (this.dead) return Promise.reject(notSent(this.dead));
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
  private discard(why: CuaError) {
    if (this.dead) return;
    this.dead = why;
    const [head, ...rest] = this.queue.splice(0);
    if (head) {
      const e = head.sent ? why : notSent(why);
      this.settle(head, () => head.reject(e));
    }
    for (const p of rest) this.settle(p, () => p.reject(notSent(why)));
    this.ws.terminate();
    this.onDead(why);
  }

  /** Closes the connection; pending requests fail. Safe to call more than once. */
  close() {
    this.discard(cuaError('closed', `The connection to ${this.host} was closed.`));
  }
}

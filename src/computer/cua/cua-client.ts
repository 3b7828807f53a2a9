import { sleep } from '../../common/async';
import { backoffDelay, BackoffLimits } from '../../common/backoff';
import { abortReason } from '../../common/domain-error';
import { CuaParams } from '../../cua-protocol';
import { CuaEndpoint, displayUrl, RequestOptions } from './cua-urls';
import { CuaError, cuaError, CuaFields, cuaKindOf, wasNotSent } from './cua-errors';
import { CuaHttp } from './cua-http';
import { CuaWsChannel } from './cua-ws-channel';

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
  private readonly reconnect: BackoffLimits;
  /** Reconnects that failed in a row. */
  private reconnectFailures = 0;
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
    this.reconnect = { baseMs: options.reconnectBaseMs ?? 100, maxMs: options.reconnectMaxMs ?? 5_000 };
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
      if (cuaKindOf(e) === 'unreachable' && (e as CuaError).httpStatus !== undefined) {
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
            this.reconnectFailures = 0;
            this.nextAttemptAt = 0;
            if (this.closed) ch.close();
            return ch;
          } catch (e) {
            this.nextAttemptAt = Date.now() + backoffDelay(this.reconnectFailures++, this.reconnect);
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

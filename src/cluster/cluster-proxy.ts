import { Injectable, Logger } from '@nestjs/common';
import { answerOnSocket } from '../common/socket-answer';
import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorMessage } from '../common/domain-error';
import { InjectSettings } from '../config/config.module';
import type { Identity } from '../auth/auth.module';
import { encodeIdentity, FORWARD_HEADERS, FORWARDED_HTTP_PATH, PEER_PATH } from './cluster-listener';
import { signCall } from './cluster-signature';
import { CLUSTER_SETTINGS, type ClusterSettings } from './cluster.settings';
import { parseOwner, ReplicaDirectory, type ReplicaEntry } from './replica-directory';
import { ThisReplica } from './this-replica';

/** Another replica's answer to a question (ClusterProxy.ask). */
export interface PeerAnswer {
  status: number;
  type: string;
  body: Buffer;
}

/** How long the owner may take to accept the connection of a forwarded request. */
const CONNECT_TIMEOUT_MS = 5_000;
/** Hop-by-hop headers: not passed on (an upgrade sets its own Connection and Upgrade). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'trailer', 'te', 'host']);

/**
 * Sends a browser's request for something another replica serves (a live view: its page, state, control and
 * WebSocket live where the session's desktop is) to that replica's cluster port, and its answer back. The owner
 * comes from the replica directory's pin for the key (ReplicaDirectory.pin, set by the replica that serves it) and
 * is reached only at the address it registered; each request is signed with CLUSTER_SECRET and names the
 * incarnation it is meant for. The browser's own headers go along (its cookie is the live view's credential,
 * checked there); the original Host travels as X-Forwarded-Host, so the owner's Host and Origin checks see it.
 */
@Injectable()
export class ClusterProxy {
  private readonly logger = new Logger('Cluster');

  constructor(
    @InjectSettings(CLUSTER_SETTINGS) private readonly settings: ClusterSettings,
    private readonly directory: ReplicaDirectory,
    private readonly replica: ThisReplica,
  ) {}

  /** Whether requests can be forwarded between replicas at all (CLUSTER_PORT is set). */
  get enabled(): boolean {
    return this.settings.forwarding !== undefined;
  }

  /** Notes that this replica serves `key` for `ttlMs` (no-op without forwarding: nobody would ask). */
  async pin(key: string, ttlMs: number): Promise<void> {
    if (this.enabled) await this.directory.pin(key, this.replica.owner, ttlMs);
  }

  /** The live replica, other than this one, that serves `key` and takes forwarded requests; undefined otherwise. */
  async servedElsewhere(key: string): Promise<ReplicaEntry | undefined> {
    if (!this.enabled) return undefined;
    const owner = await this.directory.pinned(key);
    return owner ? this.liveEntry(owner) : undefined;
  }

  /** The directory's entry of the live incarnation an owner token names, when it takes forwarded requests. */
  async liveEntry(owner: string): Promise<ReplicaEntry | undefined> {
    if (!this.enabled || owner === this.replica.owner) return undefined;
    const parsed = parseOwner(owner);
    const entry = parsed && (await this.directory.get(parsed.id));
    return entry && entry.epoch === parsed.epoch && entry.address ? entry : undefined;
  }

  /**
   * Asks another replica something about what it holds for `identity`'s principal (`query`, JSON; answered by the
   * handler its ClusterListener.servePeer set), signed as a forwarded call is. The whole answer, within `timeoutMs`.
   */
  ask(owner: ReplicaEntry, identity: Identity, query: unknown, timeoutMs: number): Promise<PeerAnswer> {
    const payload = Buffer.from(JSON.stringify(query));
    const [host, port] = splitAddress(owner.address!);
    return new Promise<PeerAnswer>((resolve, reject) => {
      const upstream = httpRequest(
        {
          host,
          port,
          method: 'POST',
          path: PEER_PATH,
          timeout: timeoutMs,
          headers: { 'content-type': 'application/json', ...this.signedCall(owner, PEER_PATH, identity, payload) },
        },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (c: Buffer) => chunks.push(c));
          answer.on('end', () => {
            clearTimeout(deadline);
            resolve({ status: answer.statusCode ?? 502, type: answer.headers['content-type'] ?? '', body: Buffer.concat(chunks) });
          });
          answer.on('error', (e) => reject(e));
        },
      );
      const deadline = setTimeout(() => upstream.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      upstream.on('error', (e) => {
        clearTimeout(deadline);
        reject(e);
      });
      upstream.end(payload);
    });
  }

  /**
   * The headers of a call to `owner`'s cluster port at `path` (POST, with `payload`): who it is for, the incarnation
   * it is meant for, the time, this replica, and the signature over all of it with CLUSTER_SECRET.
   */
  signedCall(owner: ReplicaEntry, path: string, identity: Identity, payload: Buffer): Record<string, string> {
    const target = `${owner.id}@${owner.epoch}`;
    const wireIdentity = encodeIdentity(identity);
    const time = Date.now();
    return {
      'content-length': String(payload.length),
      [FORWARD_HEADERS.identity]: wireIdentity,
      [FORWARD_HEADERS.target]: target,
      [FORWARD_HEADERS.time]: String(time),
      [FORWARD_HEADERS.from]: this.replica.owner,
      [FORWARD_HEADERS.signature]: signCall(this.settings.forwarding!.secret, { method: 'POST', path, target, identity: wireIdentity, time, body: payload }),
    };
  }

  /** Forwards a bodiless HTTP request and streams the owner's answer back. */
  forwardHttp(owner: ReplicaEntry, req: IncomingMessage, res: ServerResponse): Promise<void> {
    return new Promise<void>((resolve) => {
      const upstream = this.open(owner, req, false);
      let answered = false;
      upstream.on('response', (answer) => {
        answered = true;
        void relayAnswer(answer, res).then(resolve);
      });
      res.on('close', () => {
        if (!res.writableFinished) upstream.destroy();
        resolve();
      });
      upstream.on('error', (e) => {
        if (!answered) {
          this.logger.warn(`Could not forward a live-view request to replica ${owner.id} at ${owner.address}: ${errorMessage(e)}`);
          if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': '1' });
          res.end(`The server replica ${owner.id} that holds this session's desktop did not answer. Retry shortly.`);
        } else res.destroy();
        resolve();
      });
      upstream.end();
    });
  }

  /** Forwards a WebSocket upgrade: once the owner switches protocols, bytes flow both ways until either side closes. */
  forwardUpgrade(owner: ReplicaEntry, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    const upstream = this.open(owner, req, true);
    upstream.on('upgrade', (answer, upSocket, upHead) => {
      upSocket.on('error', () => socket.destroy());
      socket.on('error', () => upSocket.destroy());
      socket.write(`HTTP/1.1 101 Switching Protocols\r\n${rawHeaderLines(answer.rawHeaders)}\r\n`);
      if (upHead.length) socket.write(upHead);
      if (head.length) upSocket.write(head);
      upSocket.pipe(socket);
      socket.pipe(upSocket);
      upSocket.on('close', () => socket.destroy());
      socket.on('close', () => upSocket.destroy());
    });
    // Refused there (the live view's own refusals: 403, 404): the browser gets that answer.
    upstream.on('response', (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => {
        const body = Buffer.concat(chunks);
        answerOnSocket(socket, answer.statusCode ?? 502, body);
      });
    });
    upstream.on('error', (e) => {
      this.logger.warn(`Could not forward a live-view WebSocket to replica ${owner.id} at ${owner.address}: ${errorMessage(e)}`);
      const why = `The server replica ${owner.id} that holds this session's desktop did not answer. Retry shortly.`;
      answerOnSocket(socket, 502, why);
    });
    upstream.end();
  }

  /** The signed request to the owner's cluster port, with the browser's headers; only its connection is bounded. */
  private open(owner: ReplicaEntry, req: IncomingMessage, upgrade: boolean): ClientRequest {
    const secret = this.settings.forwarding!.secret;
    const target = `${owner.id}@${owner.epoch}`;
    const path = req.url ?? '/';
    const method = req.method ?? 'GET';
    const time = Date.now();
    const headers: Record<string, string | string[]> = passedHeaders(req.headers);
    headers['x-forwarded-host'] = req.headers.host ?? '';
    Object.assign(headers, {
      [FORWARD_HEADERS.target]: target,
      [FORWARD_HEADERS.time]: String(time),
      [FORWARD_HEADERS.from]: this.replica.owner,
      [FORWARD_HEADERS.path]: path,
      [FORWARD_HEADERS.signature]: signCall(secret, { method, path, target, identity: forwardedHostMaterial(req.headers.host ?? ''), time, body: Buffer.alloc(0) }),
    });
    if (upgrade) Object.assign(headers, { connection: 'Upgrade', upgrade: req.headers.upgrade ?? 'websocket' });
    const [host, port] = splitAddress(owner.address!);
    const upstream = httpRequest({ host, port, method, path: FORWARDED_HTTP_PATH, headers });
    boundConnection(upstream, CONNECT_TIMEOUT_MS);
    return upstream;
  }
}

/**
 * Streams an owner's answer to the client: status and headers (not the hop-by-hop ones), then the body as it
 * comes. Settles when the body has ended, or failed (then the client's response is cut).
 *
 * What has come by the end of this turn of the event loop leaves in one write: a short call's whole answer (headers,
 * its one event, the end) arrives at once, and three writes would wake the client three times. Whatever comes later
 * (a long call's event stream) is passed on as it comes, its headers at once.
 */
export function relayAnswer(answer: IncomingMessage, res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    const passed: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) passed[name] = value;
    res.writeHead(answer.statusCode ?? 502, passed);
    res.cork();
    setImmediate(() => {
      if (res.writableEnded || res.destroyed) return;
      res.flushHeaders();
      res.uncork();
    });
    answer.pipe(res);
    answer.on('end', resolve);
    answer.on('error', () => {
      res.destroy();
      resolve();
    });
  });
}

/** Bounds only the connection of a request to another replica: once connected it may take as long as its call does. */
export function boundConnection(upstream: ClientRequest, timeoutMs: number): void {
  const connecting = setTimeout(() => upstream.destroy(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs);
  upstream.on('socket', (s) => {
    if (s.connecting) s.once('connect', () => clearTimeout(connecting));
    else clearTimeout(connecting);
  });
  upstream.on('close', () => clearTimeout(connecting));
}

/** What a forwarded browser request signs in place of an identity: the Host the browser asked for. */
export function forwardedHostMaterial(host: string): string {
  return `host=${host}`;
}

/** The browser's headers minus hop-by-hop ones and anything that looks like the cluster's own. */
function passedHeaders(h: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(h)) {
    if (value === undefined || HOP_BY_HOP.has(name) || name.startsWith('x-cua-') || name === 'x-forwarded-host') continue;
    out[name] = value;
  }
  return out;
}

function rawHeaderLines(raw: string[]): string {
  let out = '';
  for (let i = 0; i + 1 < raw.length; i += 2) out += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return out;
}

/** host:port (an IPv6 host in brackets) as the host and port to connect to. */
export function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i).replace(/^\[(.*)\]$/, '$1'), Number(address.slice(i + 1))];
}

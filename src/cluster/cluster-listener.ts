import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { answerOnSocket } from '../common/socket-answer';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Identity } from '../auth/auth.module';
import { errorMessage } from '../common/domain-error';
import { closeNow, listenOn } from '../common/side-server';
import { InjectSettings } from '../config/config.module';
import { CLUSTER_SETTINGS, type ClusterSettings } from './cluster.settings';
import { SIGNATURE_WINDOW_MS, verifyCall } from './cluster-signature';

/** The path of forwarded MCP calls on the cluster port. */
export const FORWARDED_PATH = '/cluster/mcp';
/** The path of forwarded browser requests (a live view's page, its state, its WebSocket); the original path travels in FORWARD_HEADERS.path. */
export const FORWARDED_HTTP_PATH = '/cluster/http';
/** Where a replica asks another about what it holds for a principal (PeerQuery): the sessions dashboard's parts. */
export const PEER_PATH = '/cluster/peer';
/** The only paths forwarded browser requests may have: one live view's or sessions dashboard's page and what is below it, with a query. */
const LIVE_VIEW_PATH = /^\/live\/(?:[A-Za-z0-9_-]{16}|dashboard\/[A-Za-z0-9_-]{22})(?:\/[A-Za-z0-9._~/-]*)?(?:\?[^#\s]*)?$/;
/** The largest forwarded body taken (the entry replica's gate has already held its own, smaller limit). */
const MAX_BODY_BYTES = 16 * 1024 * 1024;
/** Replicas open a handful of connections each; more are closed at once. */
const MAX_CONNECTIONS = 1_000;
/** A forwarding replica sends its whole request at once: one that has not within this long is dropped. */
const REQUEST_TIMEOUT_MS = 30_000;

/** Headers of a forwarded call (besides the client's own MCP headers). */
export const FORWARD_HEADERS = {
  identity: 'x-cua-identity',
  target: 'x-cua-target',
  time: 'x-cua-time',
  signature: 'x-cua-signature',
  from: 'x-cua-forwarded-by',
  /** A forwarded browser request's own path and query. */
  path: 'x-cua-path',
  /**
   * On a forwarded call: `registry` when the forwarding replica has just read the session's place in the registry
   * (the owner serves it as it is); absent when it went by where it found the session before (the owner answers
   * MISDIRECTED if it no longer holds it). On an answer: `1` when the call was not taken because it was misdirected.
   */
  ownerChecked: 'x-cua-owner-checked',
  misdirected: 'x-cua-misdirected',
} as const;

/** A forwarded call whose signature held: who made it, which incarnation it is meant for, and its parsed body. */
export interface ForwardedCall {
  readonly identity: Identity;
  readonly target: string;
  readonly from: string;
  readonly body: unknown;
}

export type ForwardedHandler = (req: IncomingMessage, res: ServerResponse, call: ForwardedCall) => Promise<void>;

/**
 * Serves a browser request another replica forwarded (its signature checked, `req.url` its own path again, the
 * cluster's headers removed): for this very incarnation (`target`). An HTTP request comes with `res`; a WebSocket
 * upgrade with its socket and head.
 */
export type ForwardedHttpHandler = (req: IncomingMessage, target: string, answer: { res: ServerResponse } | { socket: Duplex; head: Buffer }) => void;

/** The caller's identity as it travels between replicas: JSON, base64url. */
export function encodeIdentity(identity: Identity): string {
  const wire = { principal: identity.principal, via: identity.via, permissions: [...identity.permissions], ...(identity.clientId !== undefined && { clientId: identity.clientId }) };
  return Buffer.from(JSON.stringify(wire)).toString('base64url');
}

function decodeIdentity(value: string): Identity | undefined {
  let wire: unknown;
  try {
    wire = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof wire !== 'object' || wire === null) return undefined;
  const w = wire as Record<string, unknown>;
  if (typeof w.principal !== 'string' || w.principal === '' || !['api-key', 'oauth', 'anonymous'].includes(w.via as string)) return undefined;
  if (!Array.isArray(w.permissions) || !w.permissions.every((p) => typeof p === 'string')) return undefined;
  if (w.clientId !== undefined && typeof w.clientId !== 'string') return undefined;
  return { principal: w.principal, via: w.via as Identity['via'], permissions: new Set(w.permissions), ...(w.clientId !== undefined && { clientId: w.clientId }) };
}

function refuse(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message } }));
}

/**
 * With CLUSTER_PORT: this replica's port for calls the other replicas forward to it, for the sessions whose
 * computers it holds. It takes only POST FORWARDED_PATH with a valid signature (CLUSTER_SECRET over the call, the
 * caller's identity, the time and the target incarnation; within SIGNATURE_WINDOW_MS, each signature once), then
 * hands the call to the handler McpModule set. Nothing else is served here: no client reaches it with a key or
 * token, and a call taken here is never forwarded again.
 */
@Injectable()
export class ClusterListener implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Cluster');
  private server?: Server;
  private handler?: ForwardedHandler;
  private peerHandler?: ForwardedHandler;
  private httpHandler?: ForwardedHttpHandler;
  /** Signatures taken within the window, with when they may be forgotten: a replayed call is refused. */
  private readonly seen = new Map<string, number>();

  constructor(@InjectSettings(CLUSTER_SETTINGS) private readonly settings: ClusterSettings) {}

  /** Whether this replica takes forwarded calls (CLUSTER_PORT is set). */
  get enabled(): boolean {
    return this.settings.forwarding !== undefined;
  }

  /** host:port the other replicas reach this one at; undefined without CLUSTER_PORT. */
  address(): string | undefined {
    const f = this.settings.forwarding;
    const port = (this.server?.address() as AddressInfo | null)?.port;
    if (!f || port === undefined) return undefined;
    return `${f.address.includes(':') && !f.address.startsWith('[') ? `[${f.address}]` : f.address}:${port}`;
  }

  /** Who serves the calls taken here (McpModule, once). */
  serve(handler: ForwardedHandler): void {
    this.handler = handler;
  }

  /** Who answers the other replicas' questions (PEER_PATH, signed as a forwarded call is: LiveViewModule, once). */
  servePeer(handler: ForwardedHandler): void {
    this.peerHandler = handler;
  }

  /** Who serves the browser requests taken here (LiveViewModule, once). */
  serveHttp(handler: ForwardedHttpHandler): void {
    this.httpHandler = handler;
  }

  async onModuleInit(): Promise<void> {
    const f = this.settings.forwarding;
    if (!f) return;
    const server = createServer((req, res) => void this.take(req, res));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.takeHttp(req, { socket, head }));
    server.maxConnections = MAX_CONNECTIONS;
    server.requestTimeout = REQUEST_TIMEOUT_MS;
    try {
      await listenOn(server, f.port, f.host);
    } catch (e) {
      throw new Error(`CLUSTER_PORT ${f.port} on ${f.host} could not be opened: ${errorMessage(e)}. Pick a free port, or unset CLUSTER_PORT.`);
    }
    this.server = server;
    this.logger.log(`Taking calls forwarded by other replicas on ${f.host}:${(server.address() as AddressInfo).port} (CLUSTER_PORT), reached at ${this.address()}`);
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await closeNow(server);
  }

  /**
   * A browser request another replica forwarded: only a bodiless one (GET, or a POST without a body) for a live
   * view's path, signed over its method, its own path, the target incarnation and the time (no identity: the
   * request's cookie or token is its credential, checked by whoever serves it, as on any replica).
   */
  private takeHttp(req: IncomingMessage, answer: { res: ServerResponse } | { socket: Duplex; head: Buffer }): void {
    const fail = (status: number, message: string) => {
      if ('res' in answer) return refuse(answer.res, status, message);
      answer.socket.on('error', () => undefined);
      answerOnSocket(answer.socket, status, message);
    };
    const secret = this.settings.forwarding?.secret;
    if ((req.url ?? '') !== FORWARDED_HTTP_PATH || !secret) return fail(404, 'Not found: this port (CLUSTER_PORT) takes only calls forwarded by replicas.');
    const header = (name: string) => {
      const v = req.headers[name];
      return typeof v === 'string' ? v : '';
    };
    const hasBody = (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') || req.headers['transfer-encoding'] !== undefined;
    const path = header(FORWARD_HEADERS.path);
    if (hasBody || !LIVE_VIEW_PATH.test(path) || path.includes('..')) return fail(400, 'Only bodiless requests for live views are forwarded.');
    const host = header('x-forwarded-host');
    // The Host the browser asked for is signed too: the owner's Host and Origin checks judge it, as if asked directly.
    const call = { method: req.method ?? 'GET', path, target: header(FORWARD_HEADERS.target), identity: `host=${host}`, time: Number(header(FORWARD_HEADERS.time)), body: Buffer.alloc(0) };
    const signature = header(FORWARD_HEADERS.signature);
    const now = Date.now();
    this.forget(now);
    if (!verifyCall(secret, call, signature, now)) {
      this.logger.warn(`Refused a forwarded request from ${req.socket.remoteAddress ?? '?'}: no valid signature`);
      return fail(401, 'The forwarded request carries no valid signature.');
    }
    if (this.seen.has(signature)) return fail(409, 'This forwarded request was taken before: a request is taken once.');
    this.seen.set(signature, now + 2 * SIGNATURE_WINDOW_MS);
    if (!this.httpHandler) return fail(503, 'This replica is not serving yet; retry shortly.');
    for (const name of [...Object.values(FORWARD_HEADERS), 'x-forwarded-host']) delete req.headers[name];
    req.headers.host = host;
    req.url = path;
    this.httpHandler(req, call.target, answer);
  }

  private async take(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if ((req.url ?? '') === FORWARDED_HTTP_PATH) return this.takeHttp(req, { res });
    const secret = this.settings.forwarding?.secret;
    const path = req.url ?? '';
    if (req.method !== 'POST' || (path !== FORWARDED_PATH && path !== PEER_PATH) || !secret) return refuse(res, 404, 'Not found: this port (CLUSTER_PORT) takes only calls forwarded by replicas.');
    const body = await readBody(req).catch(() => undefined);
    if (!body) return refuse(res, 413, `The forwarded call's body is missing or larger than ${MAX_BODY_BYTES} bytes.`);
    const header = (name: string) => {
      const v = req.headers[name];
      return typeof v === 'string' ? v : '';
    };
    const call = { method: 'POST', path, target: header(FORWARD_HEADERS.target), identity: header(FORWARD_HEADERS.identity), time: Number(header(FORWARD_HEADERS.time)), body };
    const signature = header(FORWARD_HEADERS.signature);
    const now = Date.now();
    this.forget(now);
    if (!verifyCall(secret, call, signature, now)) {
      this.logger.warn(`Refused a forwarded call from ${req.socket.remoteAddress ?? '?'}: no valid signature (CLUSTER_SECRET differs, the clocks are more than ${SIGNATURE_WINDOW_MS / 1000} s apart, or it was altered)`);
      return refuse(res, 401, 'The forwarded call carries no valid signature.');
    }
    if (this.seen.has(signature)) return refuse(res, 409, 'This forwarded call was taken before: a call is taken once.');
    this.seen.set(signature, now + 2 * SIGNATURE_WINDOW_MS);
    const identity = decodeIdentity(call.identity);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      parsed = undefined;
    }
    if (!identity || parsed === undefined) return refuse(res, 400, 'The forwarded call is malformed.');
    const handler = path === PEER_PATH ? this.peerHandler : this.handler;
    if (!handler) return refuse(res, 503, 'This replica is not serving yet; retry shortly.');
    try {
      await handler(req, res, { identity, target: call.target, from: header(FORWARD_HEADERS.from), body: parsed });
    } catch (e) {
      this.logger.error(`A forwarded call failed: ${errorMessage(e)}`);
      refuse(res, 500, 'The forwarded call failed on the replica that holds the session.');
    }
  }

  /**
   * Forgets the signatures whose window has passed. They were taken in order, each kept for the same time, so the
   * expired ones are the oldest: the walk stops at the first still kept (each call costs what it forgets, not what
   * the window holds: thousands of signatures at a few hundred calls a second).
   */
  private forget(now: number): void {
    for (const [signature, until] of this.seen) {
      if (until > now) return;
      this.seen.delete(signature);
    }
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocket, WebSocketServer } from 'ws';
import { CUA_AUTH_COMMAND, CUA_AUTH_MESSAGES, CUA_HEADERS, CUA_MAX_MESSAGE_BYTES, CUA_PATHS, CuaAuthParams, CuaReply, parseCuaRequest } from '../cua-protocol';
import { errorMessage } from '../common/domain-error';
import { InjectSettings } from '../config/config.module';
import { LIFECYCLE_SETTINGS, type LifecycleSettings } from '../lifecycle/lifecycle.settings';
import { CuaAuthenticator } from './cua-auth';
import { CuaDispatcher } from './cua-dispatcher.service';
import { CuaOriginGuard } from './cua-origin.guard';
import { DesktopService } from './desktop.service';
import type { Computer } from '../computer/computer.module';

/** How long a new connection has to send its authentication frame. */
const AUTH_TIMEOUT_MS = 10_000;
/** Requests one connection may have queued; more means the client does not wait for replies. */
const MAX_PENDING = 64;
const CLOSE_TIMEOUT_MS = 2_000;
/** A client that does not take a reply off the wire within this long is dropped. */
const SEND_TIMEOUT_MS = 60_000;
/** How long the desktop's VNC server may take to answer a new viewer. */
const VNC_OPEN_TIMEOUT_MS = 10_000;
/** Refusals are logged at most once per this window (see warnRefused). */
const REFUSAL_LOG_WINDOW_MS = 60_000;

interface Connection {
  ws: WebSocket;
  authed: boolean;
  pending: number;
  queue: Promise<void>;
  /** Aborted when the socket closes: stops this connection's running commands. */
  gone: AbortController;
}

/**
 * `WS /ws`: the main command channel. Each connection's requests run one after another and
 * its replies go out in request order; connections are independent of each other.
 */
@Injectable()
export class CuaWebSocketGateway implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger('CuaServer');
  private refusals = { since: -Infinity, quiet: 0 };
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: CUA_MAX_MESSAGE_BYTES });
  /** `/vnc`: binary RFB, small messages from a viewer. */
  private readonly vncWss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024, perMessageDeflate: false });
  private readonly vncStreams = new Set<WebSocket>();
  private readonly connections = new Set<Connection>();
  private closing = false;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly dispatcher: CuaDispatcher,
    private readonly auth: CuaAuthenticator,
    @InjectSettings(LIFECYCLE_SETTINGS) private readonly shutdown: LifecycleSettings,
    private readonly origins: CuaOriginGuard,
    private readonly desktop: DesktopService,
  ) {}

  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server) throw new Error('computer-server mode needs an HTTP server for /ws');
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
    this.wss.on('error', (e) => this.log.warn(`WebSocket server: ${errorMessage(e)}`));
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
    socket.on('error', () => undefined);
    const path = (req.url ?? '').split('?')[0];
    const refuse = (status: string) => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (path !== CUA_PATHS.ws && path !== CUA_PATHS.vnc) return refuse('404 Not Found');
    if (this.closing) return refuse('503 Service Unavailable');
    const refused = this.origins.check(req.headers);
    if (refused) {
      this.warnRefused(`Refused a WebSocket: ${refused}`);
      return refuse('403 Forbidden');
    }
    if (path === CUA_PATHS.vnc) return this.upgradeVnc(req, socket, head, refuse);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
  }

  /**
   * `WS /vnc` (this project's addition): the desktop's RFB stream, raw, for the MCP server's live
   * view. The key travels in the upgrade's headers (there is no first frame to carry it); what a
   * viewer may send is the MCP server's to filter, as anyone with the key may drive the desktop.
   */
  private upgradeVnc(req: IncomingMessage, socket: Duplex, head: Buffer, refuse: (status: string) => void) {
    const header = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const problem = this.auth.check(header(CUA_HEADERS.apiKey), header(CUA_HEADERS.containerName));
    if (problem) {
      this.warnRefused(`Refused a VNC connection: ${problem}`);
      return refuse('401 Unauthorized');
    }
    const computer = this.desktop.peek();
    if (!computer?.supports('openVnc')) return refuse('404 Not Found');
    this.vncWss.handleUpgrade(req, socket, head, (ws) => void this.acceptVnc(ws, computer));
  }

  private async acceptVnc(ws: WebSocket, computer: Computer) {
    let vnc: Duplex;
    try {
      vnc = await computer.openVnc(AbortSignal.timeout(VNC_OPEN_TIMEOUT_MS));
    } catch (e) {
      this.log.warn(`VNC connection failed: ${errorMessage(e)}`);
      ws.close(1011, 'The desktop has no VNC server running.');
      return;
    }
    this.vncStreams.add(ws);
    const stream = createWebSocketStream(ws);
    const end = () => {
      this.vncStreams.delete(ws);
      stream.destroy();
      vnc.destroy();
    };
    stream.on('error', end).on('close', end);
    vnc.on('error', end).on('close', end);
    stream.pipe(vnc).pipe(stream);
  }

  private accept(ws: WebSocket) {
    const conn: Connection = { ws, authed: !this.auth.enabled, pending: 0, queue: Promise.resolve(), gone: new AbortController() };
    this.connections.add(conn);
    this.log.debug(`Client connected (${this.connections.size} open)`);
    const authTimer = this.auth.enabled
      ? setTimeout(() => {
          if (!conn.authed) ws.close(1008, 'Authentication timeout');
        }, AUTH_TIMEOUT_MS)
      : undefined;
    ws.on('error', (e) => this.log.debug(`Client socket error: ${errorMessage(e)}`));
    ws.on('close', () => {
      clearTimeout(authTimer);
      conn.gone.abort(new Error('The client disconnected.'));
      this.connections.delete(conn);
      this.log.debug(`Client disconnected (${this.connections.size} open)`);
    });
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      if (conn.pending >= MAX_PENDING) {
        ws.close(1008, `More than ${MAX_PENDING} requests waiting; wait for replies`);
        return;
      }
      const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
      conn.pending++;
      conn.queue = conn.queue
        .then(() => this.handle(conn, text))
        .catch((e: unknown) => this.log.warn(`Request failed: ${errorMessage(e)}`))
        .finally(() => conn.pending--);
    });
  }

  private send(conn: Connection, reply: object): Promise<void> {
    if (conn.ws.readyState !== WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.log.warn(`A client did not read its reply within ${SEND_TIMEOUT_MS} ms; dropping it`);
        conn.ws.terminate();
        resolve();
      }, SEND_TIMEOUT_MS);
      conn.ws.send(JSON.stringify(reply), () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private async handle(conn: Connection, text: string): Promise<void> {
    if (conn.ws.readyState !== WebSocket.OPEN) return;
    const parsed = parseCuaRequest(text);
    if (!conn.authed) {
      if (!parsed.ok || parsed.request.command !== CUA_AUTH_COMMAND) return this.refuse(conn, CUA_AUTH_MESSAGES.firstMessage);
      const p = parsed.request.params as CuaAuthParams;
      const problem = this.auth.check(p.api_key, p.container_name);
      if (problem) return this.refuse(conn, problem);
      conn.authed = true;
      this.log.debug('Client authenticated');
      return this.send(conn, { success: true, message: CUA_AUTH_MESSAGES.ok });
    }
    if (!parsed.ok) return this.send(conn, { success: false, error: parsed.problem.error });
    const { command, params } = parsed.request;
    if (command === CUA_AUTH_COMMAND && this.auth.enabled) {
      const p = params as CuaAuthParams;
      const problem = this.auth.check(p.api_key, p.container_name);
      if (problem) return this.refuse(conn, problem);
      return this.send(conn, { success: true, message: CUA_AUTH_MESSAGES.ok });
    }
    const outcome = await this.dispatcher.run(command, params, conn.gone.signal);
    const reply: CuaReply = outcome.kind === 'reply' ? outcome.reply : { success: false, error: outcome.error };
    return this.send(conn, reply);
  }

  /**
   * A refusal is worth a warning, but a misconfigured client that retries twice a second is not
   * worth a line each time: the first refusal of a minute is logged, the rest are counted into it.
   */
  private warnRefused(line: string) {
    const now = Date.now();
    if (now - this.refusals.since < REFUSAL_LOG_WINDOW_MS) {
      this.refusals.quiet++;
      return;
    }
    const more = this.refusals.quiet ? ` (${this.refusals.quiet} more refusal(s) in the minute before were not logged)` : '';
    this.refusals = { since: now, quiet: 0 };
    this.log.warn(line + more);
  }

  private async refuse(conn: Connection, error: string): Promise<void> {
    this.warnRefused(`Refused a client: ${error}`);
    await this.send(conn, { success: false, error });
    conn.ws.close(1008, error);
  }

  /** Stops new connections, lets each connection finish what it queued (up to the grace), then closes them all. */
  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    await this.dispatcher.drain(this.shutdown.graceMs);
    const open = [...this.connections];
    await Promise.all(
      open.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.ws.readyState === WebSocket.CLOSED) return resolve();
            const timer = setTimeout(() => {
              c.ws.terminate();
              resolve();
            }, CLOSE_TIMEOUT_MS);
            c.ws.once('close', () => {
              clearTimeout(timer);
              resolve();
            });
            c.ws.close(1001, 'The server is shutting down');
          }),
      ),
    );
    for (const ws of this.vncStreams) ws.terminate();
    await new Promise<void>((resolve) => this.vncWss.close(() => resolve()));
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

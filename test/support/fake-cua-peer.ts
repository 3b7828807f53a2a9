import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';

export interface PeerRequest {
  /** The exact text of the frame (or /cmd body) the client sent. */
  raw: string;
  command: string;
  params?: Record<string, unknown>;
  via: 'ws' | 'http';
  headers?: IncomingMessage['headers'];
}

/** What the peer does with one request: a reply object, a raw text frame, several frames, or nothing. */
export type PeerAction = { reply: object; delayMs?: number } | { raw: string | Buffer } | { frames: string[] } | { silence: true } | { close: true };
export type PeerHandler = (req: PeerRequest, n: number) => PeerAction | undefined;

/**
 * A FAKE cua computer-server peer for protocol tests: a raw `ws` + http server on loopback
 * that records every frame byte for byte and answers as a test scripts it (including badly:
 * slowly, twice, with junk). Default answers cover connect (version, get_screen_size).
 */
export class FakeCuaPeer {
  readonly requests: PeerRequest[] = [];
  /** WebSocket connections accepted so far. */
  connections = 0;
  /** Requests received over WS and not answered yet (with delayed replies). */
  outstanding = 0;
  /** Connections that ended (closed by either side). */
  closes = 0;
  handler: PeerHandler = () => undefined;
  /** `GET /commands` answer: a listing, or 404 (an older server). */
  commands: object | 404 = 404;
  /** Refuse the WebSocket upgrade with this status (a server or proxy without /ws). */
  refuseWs?: number;
  private readonly sockets = new Set<WebSocket>();

  private constructor(
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    readonly url: string,
  ) {}

  static async start(): Promise<FakeCuaPeer> {
    const wss = new WebSocketServer({ noServer: true });
    const http = createServer();
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const peer = new FakeCuaPeer(http, wss, `http://127.0.0.1:${(http.address() as AddressInfo).port}`);
    http.on('request', (req, res) => void peer.onHttp(req, res));
    http.on('upgrade', (req, socket, head) => {
      if (peer.refuseWs || req.url !== '/ws') {
        socket.end(`HTTP/1.1 ${peer.refuseWs ?? 404} Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => peer.onWs(ws));
    });
    return peer;
  }

  /** The frames of one command, in order. */
  framesOf(command: string): string[] {
    return this.requests.filter((r) => r.command === command).map((r) => r.raw);
  }

  private defaults(req: PeerRequest): PeerAction {
    switch (req.command) {
      case 'authenticate':
        return { reply: { success: true, message: 'Authentication successful' } };
      case 'version':
        return { reply: { success: true, protocol: 1, package: 'fake-peer 0.0.1' } };
      case 'get_screen_size':
        return { reply: { success: true, size: { width: 640, height: 400 } } };
      case 'get_cursor_position':
        return { reply: { success: true, position: { x: 1, y: 2 } } };
      default:
        return { reply: { success: true } };
    }
  }

  private parse(raw: string, via: 'ws' | 'http', headers?: IncomingMessage['headers']): PeerRequest {
    const v = JSON.parse(raw) as { command: string; params?: Record<string, unknown> };
    const req = { raw, command: v.command, params: v.params, via, headers };
    this.requests.push(req);
    return req;
  }

  private onWs(ws: WebSocket) {
    this.connections++;
    this.sockets.add(ws);
    ws.on('close', () => {
      this.sockets.delete(ws);
      this.closes++;
    });
    ws.on('message', (data) => {
      const req = this.parse((data as Buffer).toString('utf8'), 'ws');
      const action = this.handler(req, this.requests.length) ?? this.defaults(req);
      if ('reply' in action && action.delayMs) {
        this.outstanding++;
        setTimeout(() => {
          this.outstanding--;
          if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(action.reply));
        }, action.delayMs);
      } else if ('reply' in action) ws.send(JSON.stringify(action.reply));
      else if ('raw' in action) ws.send(action.raw);
      else if ('frames' in action) action.frames.forEach((f) => ws.send(f));
      else if ('close' in action) ws.terminate();
    });
  }

  private async onHttp(req: IncomingMessage, res: ServerResponse) {
    if (req.method === 'GET' && req.url === '/commands') {
      if (this.commands === 404) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"detail":"Not Found"}');
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.commands));
      }
      return;
    }
    if (req.method === 'POST' && req.url === '/cmd') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const r = this.parse(Buffer.concat(chunks).toString(), 'http', req.headers);
      const action = this.handler(r, this.requests.length) ?? this.defaults(r);
      if ('reply' in action) res.writeHead(200, { 'content-type': 'text/plain' }).end(`data: ${JSON.stringify(action.reply)}\n\n`);
      else if ('raw' in action) res.writeHead(200, { 'content-type': 'text/plain' }).end(action.raw);
      else res.destroy();
      return;
    }
    res.writeHead(404).end();
  }

  /** Drops every open WebSocket connection (as a crashed server would). */
  dropConnections() {
    for (const ws of this.sockets) ws.terminate();
  }

  async close() {
    this.dropConnections();
    await new Promise<void>((r) => this.wss.close(() => r()));
    this.http.closeAllConnections();
    await new Promise<void>((r) => this.http.close(() => r()));
  }
}

/** The listing a newer server gives at GET /commands (only the parts the client reads). */
export const NEWER_SERVER_COMMANDS = {
  protocol: 1,
  commands: [
    { name: 'version', params: [] },
    { name: 'screenshot', params: [{ name: 'format' }, { name: 'quality' }] },
    { name: 'get_screen_size', params: [] },
    { name: 'drag', params: [{ name: 'path' }, { name: 'button' }, { name: 'duration' }] },
    { name: 'scroll_direction', params: [{ name: 'direction' }, { name: 'clicks' }] },
    { name: 'run_command', params: [{ name: 'command' }, { name: 'timeout' }] },
  ],
};

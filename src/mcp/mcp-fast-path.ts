import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { EventEmitter } from 'node:events';
import { type IncomingMessage, Server, type ServerResponse } from 'node:http';
import { ApiKeyMiddleware, setPrincipal } from '../auth/auth.module';
import { plainJsonBody, readJsonBody } from './mcp-body.middleware';
import { McpConnections } from './mcp-connections';
import { McpForwarder } from './mcp-forwarder';
import { OriginGuardMiddleware } from './origin-guard.middleware';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The hot path of Streamable HTTP, served before Express: a `POST /mcp` of an open MCP session
 * (every tool call) whose Host, Origin, API key, content type and session all pass the same checks
 * as the Nest route. Express and Nest's router cost more per call than the bare SDK's whole
 * server (a trivial call went from 1.30x the bare SDK to ~1.1x; BENCHMARKS.md). Everything else —
 * initialize, GET, DELETE, any failed check, any body express.json() would handle differently —
 * goes through Express untouched, where the middlewares and McpController answer as before; the
 * errors this path gives itself (413, bad JSON) are McpBodyMiddleware's.
 */
@Injectable()
export class McpFastPath implements OnApplicationBootstrap {
  /** 'request' (res) for every request served here, so HTTP metrics still count it. */
  readonly events = new EventEmitter();

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly origins: OriginGuardMiddleware,
    private readonly keys: ApiKeyMiddleware,
    private readonly connections: McpConnections,
    private readonly forwarder: McpForwarder,
  ) {}

  onApplicationBootstrap() {
    const server: unknown = this.adapterHost.httpAdapter?.getHttpServer();
    if (!(server instanceof Server)) return; // stdio, or an adapter without a Node server
    const express = server.listeners('request') as Listener[];
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (this.serve(req, res)) return;
      for (const l of express) l.call(server, req, res);
    });
  }

  /** Takes the request (true) when every check passes; false leaves it, unread, to Express. */
  serve(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'POST' || req.url !== '/mcp') return false;
    const sid = req.headers['mcp-session-id'];
    if (typeof sid !== 'string' || !sid || !plainJsonBody(req) || this.origins.refusal(req) !== undefined) return false;
    const principal = this.keys.authenticate(req);
    if (principal === undefined || this.connections.peek(sid)?.ctx.principal !== principal) return false;
    setPrincipal(req, principal);
    this.events.emit('request', res);
    // forward() answers its own failures; the catch is for the unexpected (a response already broken).
    void readJsonBody(req, res)
      .then((read) => (read ? this.forwarder.forward(sid, req, res, read.body) : undefined))
      .catch(() => res.destroy());
    return true;
  }
}

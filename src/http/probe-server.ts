import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { createServer, type IncomingMessage, Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '../common/domain-error';
import { closeNow, listenOn } from '../common/side-server';
import { InjectSettings } from '../config/config.module';
import { HTTP_SETTINGS, type HttpSettings } from './http.settings';
import { applyLimits } from './http-limits';

/** What the probe port serves; anything else gets 404. */
const PROBE_PATHS: ReadonlySet<string> = new Set(['/health/live', '/health/ready', '/metrics']);
/** Probes and scrapers open a handful of connections; more are closed at once. */
const PROBE_MAX_CONNECTIONS = 100;

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/**
 * With PROBE_PORT set: a second HTTP server, on PROBE_HOST (default HOST), that serves only
 * GET/HEAD /health/live, /health/ready and /metrics, through the same Nest routes as the main
 * port. Its connections and accept queue are its own, so probes and scrapes are answered while
 * the main port is flooded. It opens before the main port and closes after it, so readiness can
 * report the drain to the end.
 */
@Injectable()
export class ProbeServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ProbeServer.name);
  private server?: Server;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @InjectSettings(HTTP_SETTINGS) private readonly settings: HttpSettings,
  ) {}

  async onApplicationBootstrap() {
    const probe = this.settings.probe;
    const adapter = this.adapterHost.httpAdapter;
    if (!probe || !(adapter?.getHttpServer() instanceof Server)) return; // no probe port, or stdio
    const app = adapter.getInstance<Handler>();
    const server = createServer((req, res) => {
      if ((req.method === 'GET' || req.method === 'HEAD') && PROBE_PATHS.has(pathOf(req))) return app(req, res);
      res.statusCode = 404;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end('Not found: this port (PROBE_PORT) serves only GET /health/live, /health/ready and /metrics.\n');
    });
    applyLimits(server, { ...this.settings, maxConnections: PROBE_MAX_CONNECTIONS });
    try {
      await listenOn(server, probe.port, probe.host);
    } catch (e) {
      throw new Error(`PROBE_PORT ${probe.port} on ${probe.host} could not be opened: ${errorMessage(e)}. Pick a free port, or unset PROBE_PORT.`);
    }
    this.server = server;
    const { port } = server.address() as AddressInfo;
    this.logger.log(`Health and metrics also on http://${probe.host.includes(':') ? `[${probe.host}]` : probe.host}:${port} (PROBE_PORT)`);
  }

  /** The port it listens on (PROBE_PORT, or the one picked for 0); undefined without one. */
  port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  async onApplicationShutdown() {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await closeNow(server);
  }
}

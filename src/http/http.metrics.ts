import { Injectable, OnApplicationBootstrap, OnModuleInit, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { Server, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Gauge } from 'prom-client';
import { MetricsRegistry } from '../metrics/metrics.module';
import { HttpLimits } from './http-limits';

/**
 * The main HTTP server's Prometheus metrics: requests in flight (counted on the Node server, for
 * every route, without a router layer of its own) and connections dropped over HTTP_MAX_CONNECTIONS.
 */
@Injectable()
export class HttpMetrics implements OnModuleInit, OnApplicationBootstrap {
  private inFlight?: Gauge;

  constructor(
    private readonly limits: HttpLimits,
    private readonly adapterHost: HttpAdapterHost,
    @Optional() private readonly metrics?: MetricsRegistry,
  ) {}

  onModuleInit() {
    const m = this.metrics;
    if (!m) return;
    const dropped = m.counter({ name: 'cua_http_connections_dropped_total', help: 'Connections the main port closed at once because HTTP_MAX_CONNECTIONS were open.' });
    m.on(this.limits.events, 'dropped', () => dropped.inc());
    this.inFlight = m.gauge({ name: 'cua_http_requests_in_flight', help: 'HTTP requests being served (open MCP streams included).' });
  }

  onApplicationBootstrap() {
    const inFlight = this.inFlight;
    const server: unknown = this.adapterHost.httpAdapter?.getHttpServer();
    if (!inFlight || !(server instanceof Server)) return; // no metrics, stdio, or an adapter without a Node server
    server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
      inFlight.inc();
      res.once('close', () => inFlight.dec());
    });
  }
}

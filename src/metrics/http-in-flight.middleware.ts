import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { Gauge } from 'prom-client';
import { MetricsRegistry } from './metrics-registry';

/**
 * Counts HTTP requests being served: up when one arrives, down when its response closes. Nest
 * builds one per app for the route it is applied to (it is not also a provider: a second instance
 * would register the gauge twice).
 */
@Injectable()
export class HttpInFlightMiddleware implements NestMiddleware {
  private readonly inFlight: Gauge;

  constructor(metrics: MetricsRegistry) {
    this.inFlight = metrics.gauge({ name: 'cua_http_requests_in_flight', help: 'HTTP requests being served (open MCP streams included).' });
  }

  use(_req: Request, res: Response, next: NextFunction) {
    this.inFlight.inc();
    res.once('close', () => this.inFlight.dec());
    next();
  }
}

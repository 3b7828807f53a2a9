import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { MetricsService } from './metrics.service';

/** Counts HTTP requests being served: up when one arrives, down when its response closes. */
@Injectable()
export class HttpInFlightMiddleware implements NestMiddleware {
  constructor(private readonly metrics: MetricsService) {}

  use(_req: Request, res: Response, next: NextFunction) {
    this.metrics.httpInFlight.inc();
    res.once('close', () => this.metrics.httpInFlight.dec());
    next();
  }
}

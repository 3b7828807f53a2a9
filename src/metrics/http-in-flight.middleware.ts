import { Injectable, NestMiddleware, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { ServerResponse } from 'node:http';
import { McpFastPath } from '../mcp/mcp.module';
import { MetricsService } from './metrics.service';

/**
 * Counts HTTP requests being served: up when one arrives, down when its response closes. Tool
 * calls that McpFastPath serves before Express are counted through its 'request' event.
 */
@Injectable()
export class HttpInFlightMiddleware implements NestMiddleware, OnModuleInit, OnModuleDestroy {
  constructor(
    private readonly metrics: MetricsService,
    private readonly fastPath: McpFastPath,
  ) {}

  private readonly track = (res: ServerResponse) => {
    this.metrics.httpInFlight.inc();
    res.once('close', () => this.metrics.httpInFlight.dec());
  };

  onModuleInit() {
    // Nest builds this class twice (as a provider and as the middleware) and inits both; one counter is enough.
    if (!this.fastPath.events.listenerCount('request')) this.fastPath.events.on('request', this.track);
  }

  onModuleDestroy() {
    this.fastPath.events.off('request', this.track);
  }

  use(_req: Request, res: Response, next: NextFunction) {
    this.track(res);
    next();
  }
}

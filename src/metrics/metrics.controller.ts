import { Controller, Get, Req, Res } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { InjectSettings } from '../config/config.module';
import { METRICS_SETTINGS, type MetricsSettings } from './metrics.settings';
import { MetricsRegistry } from './metrics-registry';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** GET /metrics in the Prometheus text format; with METRICS_TOKEN set, only with `Authorization: Bearer <token>`. */
@Controller('metrics')
export class MetricsController {
  private readonly token?: Buffer;

  constructor(
    private readonly metrics: MetricsRegistry,
    @InjectSettings(METRICS_SETTINGS) settings: MetricsSettings,
  ) {
    this.token = settings.token === undefined ? undefined : digest(settings.token);
  }

  @Get()
  async get(@Req() req: Request, @Res() res: Response): Promise<void> {
    if (this.token) {
      const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(req.header('authorization') ?? '');
      if (!m || !timingSafeEqual(digest(m[1]), this.token)) {
        res.status(401).setHeader('WWW-Authenticate', 'Bearer').type('text/plain').send('Unauthorized: send METRICS_TOKEN as "Authorization: Bearer <token>".\n');
        return;
      }
    }
    const { contentType, body } = await this.metrics.scrape();
    res.status(200).setHeader('Content-Type', contentType).send(body);
  }
}

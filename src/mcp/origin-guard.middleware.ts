import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { AppConfig } from '../config/config.module';
import { rpcError } from './mcp.controller';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_NAMES.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** "example.com:8080" → "example.com"; "[::1]:3000" → "[::1]". */
function hostname(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  return h.split(':')[0];
}

/**
 * Protects a server bound to loopback from DNS rebinding: a web page on another site must not be
 * able to reach it through the browser. When HOST is a loopback address, the Host header and any
 * Origin header must name a loopback host too; anything else gets 403.
 */
@Injectable()
export class OriginGuardMiddleware implements NestMiddleware {
  private readonly active: boolean;

  constructor(config: AppConfig) {
    this.active = isLoopbackHost(config.http.host);
  }

  use(req: Request, res: Response, next: NextFunction) {
    if (!this.active) return next();
    const host = req.header('host');
    if (!host || !isLoopbackHost(hostname(host))) {
      return rpcError(res, 403, -32000, `Forbidden: Host "${host ?? ''}" is not allowed for a server bound to loopback.`);
    }
    const origin = req.header('origin');
    if (origin) {
      let originHost = '';
      try {
        originHost = new URL(origin).hostname;
      } catch {
        /* unparsable origin: rejected below */
      }
      if (!isLoopbackHost(originHost.toLowerCase())) {
        return rpcError(res, 403, -32000, `Forbidden: Origin "${origin}" is not allowed for a server bound to loopback.`);
      }
    }
    next();
  }
}

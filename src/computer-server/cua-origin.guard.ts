import { Inject, Injectable } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import { COMPUTER_SERVER_HOST } from './computer-server.tokens';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);
const isLoopback = (host: string) => LOOPBACK_NAMES.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);

/** "example.com:8080" → "example.com"; "[::1]:3000" → "[::1]". */
function hostname(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  return h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.split(':')[0];
}

/**
 * Keeps web pages out of /cmd and /ws: cua clients are programs and send no Origin, while a page
 * on another site that a local browser opens does (a simple cross-site POST or a WebSocket needs
 * no CORS permission). When the server is bound to loopback, the Host header must be a loopback
 * name too, against DNS rebinding.
 */
@Injectable()
export class CuaOriginGuard {
  private readonly loopbackBound: boolean;

  constructor(@Inject(COMPUTER_SERVER_HOST) host: string) {
    this.loopbackBound = isLoopback(host.toLowerCase()) || isLoopback(`[${host.toLowerCase()}]`);
  }

  /** undefined when the request may go on, else why not (for a 403). */
  check(headers: IncomingHttpHeaders): string | undefined {
    const origin = headers.origin;
    if (origin !== undefined) {
      let host: string | undefined;
      try {
        host = new URL(origin).hostname.toLowerCase();
      } catch {
        host = undefined;
      }
      if (host === undefined || !isLoopback(host)) return `Requests from web pages are not accepted (Origin ${origin.slice(0, 200)})`;
    }
    if (this.loopbackBound && !(headers.host !== undefined && isLoopback(hostname(headers.host)))) {
      return `Host ${String(headers.host).slice(0, 200)} is not allowed for a server bound to loopback`;
    }
    return undefined;
  }
}

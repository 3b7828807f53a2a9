import { Injectable } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { InjectSettings } from '../config/config.module';
import { HTTP_SETTINGS, type HttpSettings } from './http.settings';

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

/** "https://App.example.com:443/" → "https://app.example.com"; undefined when unparsable. */
function parseOrigin(origin: string): URL | undefined {
  try {
    return new URL(origin);
  } catch {
    return undefined;
  }
}

/**
 * DNS-rebinding protection for /mcp: a web page on another site must not reach the server through
 * a browser.
 *
 * - Host: with ALLOWED_HOSTS set, the Host header's host name (port ignored, case-insensitive)
 *   must be one of them; otherwise, when HOST is a loopback address, it must be a loopback name.
 * - Origin (only when the request has one; non-browser clients send none): with ALLOWED_ORIGINS
 *   set, it must equal one of them (scheme, host and port, as `URL.origin` normalises them);
 *   otherwise, when HOST is a loopback address, its host must be a loopback name.
 *
 * A list replaces the loopback rule for its header (add `localhost` / `http://localhost:3000` to
 * keep local clients). The MCP gate answers anything else with 403; the live view uses the Host rule.
 */
@Injectable()
export class HostOriginPolicy {
  private readonly loopback: boolean;
  private readonly hosts: ReadonlySet<string>;
  private readonly origins: ReadonlySet<string>;

  constructor(@InjectSettings(HTTP_SETTINGS) http: HttpSettings) {
    this.loopback = isLoopbackHost(http.host);
    this.hosts = new Set(http.allowedHosts);
    this.origins = new Set(http.allowedOrigins);
  }

  /** Why this request is refused (the 403 message), or undefined when its Host and Origin pass. */
  refusal(req: IncomingMessage): string | undefined {
    const refused = this.hostRefusal(req);
    if (refused) return refused;
    const origin = req.headers.origin;
    if (origin !== undefined && !this.originAllowed(origin)) {
      const why = this.origins.size ? 'is not in ALLOWED_ORIGINS' : 'is not allowed for a server bound to loopback';
      return `Forbidden: Origin "${origin.slice(0, 256)}" ${why}.`;
    }
    return undefined;
  }

  /** Why this request's Host is refused, or undefined when it passes (the Origin is not looked at). */
  hostRefusal(req: IncomingMessage): string | undefined {
    const host = req.headers.host;
    if (this.hostAllowed(host)) return undefined;
    const why = this.hosts.size ? 'is not in ALLOWED_HOSTS' : 'is not allowed for a server bound to loopback';
    return `Forbidden: Host "${(host ?? '').slice(0, 256)}" ${why}.`;
  }

  private hostAllowed(host: string | undefined): boolean {
    if (this.hosts.size) return host !== undefined && this.hosts.has(hostname(host));
    if (this.loopback) return host !== undefined && isLoopbackHost(hostname(host));
    return true;
  }

  private originAllowed(origin: string): boolean {
    const url = parseOrigin(origin);
    if (this.origins.size) return url !== undefined && this.origins.has(url.origin);
    if (this.loopback) return url !== undefined && isLoopbackHost(url.hostname.toLowerCase());
    return true;
  }
}

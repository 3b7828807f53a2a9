import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { Server } from 'node:http';
import { InjectSettings } from '../config/config.module';
import { HTTP_SETTINGS, type HttpSettings } from './http.settings';

/** File descriptors left for desktops, files, child processes and the probe port beyond HTTP_MAX_CONNECTIONS. */
const FD_RESERVE = 1024;
/** At most one warning per this long while connections are being dropped. */
const DROP_WARN_EVERY_MS = 60_000;

export interface ServerLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
}

/**
 * What applyLimits sets on a Node HTTP server. `connectionsCheckingInterval` is a plain property
 * of every server (set from the createServer option, missing from @types/node 20), read when it
 * starts listening.
 */
type NodeServerTimeouts = Pick<Server, 'headersTimeout' | 'requestTimeout' | 'keepAliveTimeout' | 'maxConnections'> & { connectionsCheckingInterval?: number };

/**
 * Applies the limits to a Node HTTP server before it listens. Node checks the header and request
 * deadlines every `connectionsCheckingInterval` (30 s by default, which would let a slow client
 * stay up to twice as long): check ten times per header timeout, at most every 5 s.
 * `requestTimeout` covers receiving the request only; once it is complete, the answer (an SSE
 * stream of a long task) may take as long as it needs.
 */
export function applyLimits(server: NodeServerTimeouts, limits: ServerLimits) {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
  server.connectionsCheckingInterval = Math.min(5_000, Math.max(100, Math.floor(limits.headersTimeoutMs / 10)));
}

/** The soft open-file limit from /proc/self/limits ("Max open files  1024  4096  files"), or undefined. */
export function openFileLimit(limitsText: string): number | undefined {
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(limitsText);
  return m && m[1] !== 'unlimited' ? Number(m[1]) : undefined;
}

function readOwnLimits(): string {
  try {
    return readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return ''; // not Linux: nothing to check
  }
}

export interface HttpLimitsEvents {
  /** The main port closed a connection over HTTP_MAX_CONNECTIONS. */
  dropped: [];
}

/**
 * The main HTTP server's limits: HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS,
 * HTTP_KEEP_ALIVE_TIMEOUT_MS and HTTP_MAX_CONNECTIONS, so slow or idle clients are cut off and a
 * flood of connections cannot use up every file descriptor of the process.
 */
@Injectable()
export class HttpLimits implements OnApplicationBootstrap {
  private readonly logger = new Logger(HttpLimits.name);
  readonly events = new EventEmitter<HttpLimitsEvents>();
  private dropped = 0;
  private lastWarnAt = -Infinity;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @InjectSettings(HTTP_SETTINGS) private readonly settings: HttpSettings,
  ) {}

  onApplicationBootstrap() {
    const server: unknown = this.adapterHost.httpAdapter?.getHttpServer();
    if (!(server instanceof Server)) return; // stdio, or an adapter without a Node server
    applyLimits(server, this.settings);
    server.on('drop', () => this.drop());
    this.checkFileLimit(openFileLimit(readOwnLimits()));
  }

  /** A connection over HTTP_MAX_CONNECTIONS was closed: count it, and say so now and then. */
  drop(now = Date.now()) {
    this.dropped++;
    this.events.emit('dropped');
    if (now - this.lastWarnAt < DROP_WARN_EVERY_MS) return;
    this.logger.warn(
      `HTTP_MAX_CONNECTIONS (${this.settings.maxConnections}) reached: new connections are closed at once ` +
        `(${this.dropped} so far). A flood of connections, or raise HTTP_MAX_CONNECTIONS if this is real load.`,
    );
    this.lastWarnAt = now;
  }

  /** Warns when HTTP_MAX_CONNECTIONS leaves too few file descriptors for everything else. */
  checkFileLimit(limit: number | undefined) {
    const max = this.settings.maxConnections;
    if (limit === undefined || max + FD_RESERVE <= limit) return;
    this.logger.warn(
      `HTTP_MAX_CONNECTIONS (${max}) leaves fewer than ${FD_RESERVE} of this process's ${limit} file descriptors (ulimit -n) for desktops, files and the probe port: ` +
        `a flood of connections could use them all up. Lower HTTP_MAX_CONNECTIONS or raise the open-file limit.`,
    );
  }
}

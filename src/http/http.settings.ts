import { Setting, defineSettings, type SettingsOf, Int, List, Optional, Text, list } from '../config/settings';

class HttpEnv {
  @Setting('Address to listen on (loopback: only this machine can connect; `0.0.0.0` in a container).')
  @Text()
  HOST = '127.0.0.1';

  @Setting('HTTP port of `/mcp`, health and metrics (`0` picks a free one).')
  @Int(0, 65535)
  PORT = 3000;

  @Setting('A client that has not sent its request headers within this long gets 408 and is disconnected.')
  @Int(1000, 600_000)
  HTTP_HEADERS_TIMEOUT_MS = 30_000;

  @Setting("A client must send its whole request (headers and body) within this long (408 otherwise); answers, such as a long task's stream, may take longer. At least `HTTP_HEADERS_TIMEOUT_MS`.")
  @Int(1000, 3_600_000)
  HTTP_REQUEST_TIMEOUT_MS = 60_000;

  @Setting("An idle keep-alive connection is closed after this long (behind a proxy that keeps upstream connections open longer, set it above the proxy's idle timeout).")
  @Int(100, 600_000)
  HTTP_KEEP_ALIVE_TIMEOUT_MS = 5_000;

  @Setting('Most open connections on `PORT`; more are closed at once. Keep it well below the open-file limit (`ulimit -n`); the server warns at start when it is not.')
  @Int(10, 1_000_000)
  HTTP_MAX_CONNECTIONS = 10_000;

  @Setting('A second port that serves only `GET /health/live`, `/health/ready` and `/metrics`, so probes and scrapes are answered while `PORT` is flooded (`0` picks a free one); unset: none.')
  @Optional() @Int(0, 65535)
  PROBE_PORT?: number;

  @Setting('Address of `PROBE_PORT`; unset: `HOST`.')
  @Optional() @Text()
  PROBE_HOST?: string;

  @Setting('Comma-separated host names the `Host` header of `/mcp` may carry (port ignored); unset: loopback names when `HOST` is loopback.')
  @Optional() @List(/^\S+$/, 'host names')
  ALLOWED_HOSTS?: string;

  @Setting('Comma-separated origins (`https://app.example.com`) an `Origin` header on `/mcp` may carry; unset: loopback origins when `HOST` is loopback.')
  @Optional() @List(/^https?:\/\/[^\s/]+\/?$/, 'origins such as https://app.example.com')
  ALLOWED_ORIGINS?: string;
}

export const HTTP_SETTINGS = defineSettings({
  namespace: 'http',
  title: 'HTTP',
  env: HttpEnv,
  check: (env) => [
    ...(env.HTTP_REQUEST_TIMEOUT_MS < env.HTTP_HEADERS_TIMEOUT_MS
      ? [{ key: 'HTTP_REQUEST_TIMEOUT_MS', after: ['HTTP_HEADERS_TIMEOUT_MS'], reason: `must be at least HTTP_HEADERS_TIMEOUT_MS (${env.HTTP_HEADERS_TIMEOUT_MS}): the headers are part of the request` }]
      : []),
    ...(env.PROBE_PORT !== undefined && env.PROBE_PORT !== 0 && env.PROBE_PORT === env.PORT
      ? [{ key: 'PROBE_PORT', after: ['PORT'], reason: `must differ from PORT (${env.PORT}): it is a second port for health and metrics alone` }]
      : []),
    ...(env.PROBE_HOST !== undefined && env.PROBE_PORT === undefined ? [{ key: 'PROBE_HOST', after: ['PROBE_PORT'], reason: 'is the address of PROBE_PORT: set PROBE_PORT too' }] : []),
  ],
  build: (env, ctx) => ({
    host: env.HOST,
    port: env.PORT,
    /** HOST was set explicitly (computer-server mode otherwise picks its own bind address). */
    hostGiven: ctx.given('HOST'),
    /** Lower-case host names the Host header of /mcp may carry (port ignored); empty = the loopback rule. */
    allowedHosts: list(env.ALLOWED_HOSTS).map((h) => h.toLowerCase()),
    /** Origins (`scheme://host[:port]`, normalised) an Origin header of /mcp may carry; empty = the loopback rule. */
    allowedOrigins: list(env.ALLOWED_ORIGINS).map((o) => new URL(o).origin),
    headersTimeoutMs: env.HTTP_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: env.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    maxConnections: env.HTTP_MAX_CONNECTIONS,
    /** The port of /health/* and /metrics alone, when set (0: a free one). */
    probe: env.PROBE_PORT === undefined ? undefined : { port: env.PROBE_PORT, host: env.PROBE_HOST ?? env.HOST },
  }),
});
export type HttpSettings = SettingsOf<typeof HTTP_SETTINGS>;

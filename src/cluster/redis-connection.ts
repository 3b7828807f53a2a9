import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { createClient, ErrorReply, ReconnectStrategyError, type RedisClientType } from 'redis';
import { withTimeout } from '../common/async';
import { DomainError, errorMessage } from '../common/domain-error';
import { InjectSettings } from '../config/config.module';
import { CLUSTER_SETTINGS, type ClusterSettings } from './cluster.settings';
import { RegistryUnavailableError } from './cluster.errors';
import { MCP_SESSION_REGISTRY_SCRIPTS, type McpSessionRegistryScripts } from './mcp-session-registry.scripts';
import { REPLICA_DIRECTORY_SCRIPTS, type ReplicaDirectoryScripts } from './replica-directory.scripts';
import { SESSION_REGISTRY_SCRIPTS, type SessionRegistryScripts } from './session-registry.scripts';

/** Reconnection after a lost connection: 50 ms doubling up to this, plus jitter, for as long as it takes. */
const MAX_BACKOFF_MS = 2_000;
/** How long past REDIS_CONNECT_TIMEOUT_MS the boot waits for node-redis to give up by itself. */
const CONNECT_GRACE_MS = 1_000;
/** How long shutdown waits for the connection to close politely before it drops it. */
const CLOSE_TIMEOUT_MS = 2_000;
/** Replies that mean "Redis cannot serve now" rather than "this command is wrong". */
const UNAVAILABLE_REPLY = /^(READONLY|LOADING|MASTERDOWN|BUSY|OOM|NOAUTH|WRONGPASS|CLUSTERDOWN|TRYAGAIN|NOREPLICAS)\b/;

/** The Lua scripts of the session registry, the MCP session registry and the replica directory, by the name the client calls them. */
type ClusterScripts = SessionRegistryScripts & McpSessionRegistryScripts & ReplicaDirectoryScripts;
const CLUSTER_SCRIPTS: ClusterScripts = { ...SESSION_REGISTRY_SCRIPTS, ...MCP_SESSION_REGISTRY_SCRIPTS, ...REPLICA_DIRECTORY_SCRIPTS };

/** A client with the cluster's scripts (no modules, no functions, RESP3). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export type RegistryClient = RedisClientType<{}, {}, ClusterScripts>;

function createRegistryClient(url: string, connectTimeoutMs: number, reconnect: (retries: number, cause: Error) => number | Error): RegistryClient {
  return createClient({
    url,
    name: 'cua-mcp-server',
    // A command while the connection is down fails at once, never waits to run late against a Redis that came back empty.
    disableOfflineQueue: true,
    scripts: CLUSTER_SCRIPTS,
    socket: { connectTimeout: connectTimeoutMs, reconnectStrategy: reconnect },
  });
}

/**
 * The connection to Redis (REDIS_URL), when there is one: connected at boot within REDIS_CONNECT_TIMEOUT_MS or the
 * boot stops with an error naming the host, reconnecting on its own afterwards, closed at shutdown (after the
 * sessions have ended). Every call goes through `call`, which fails at once with REGISTRY_UNAVAILABLE while the
 * connection is down and bounds each call by REDIS_COMMAND_TIMEOUT_MS. The URL and its password are never logged.
 */
@Injectable()
export class RedisConnection implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Redis');
  private client?: RegistryClient;
  /** Whether the connection was ever ready (before that, failures belong to the boot error). */
  private wasReady = false;
  /** Whether the loss of the connection was already said (once per outage, not once per retry). */
  private lostSaid = false;

  constructor(@InjectSettings(CLUSTER_SETTINGS) private readonly settings: Pick<ClusterSettings, 'redisUrl' | 'redisTarget' | 'connectTimeoutMs' | 'commandTimeoutMs'>) {}

  /** Whether REDIS_URL is set (the Redis registry), or not (the in-memory one). */
  get enabled(): boolean {
    return this.settings.redisUrl !== undefined;
  }

  /** host:port of REDIS_URL, the only part of it messages show. */
  get target(): string {
    return this.settings.redisTarget ?? '(no REDIS_URL)';
  }

  /** Whether commands can be sent now. */
  get ready(): boolean {
    return this.client?.isReady === true;
  }

  async onModuleInit(): Promise<void> {
    if (this.enabled) await this.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  /** Connects within REDIS_CONNECT_TIMEOUT_MS; throws a boot error naming the host (never the password) when it cannot. */
  async connect(): Promise<void> {
    const { redisUrl, connectTimeoutMs } = this.settings;
    if (redisUrl === undefined) throw new Error('REDIS_URL is not set: there is no Redis to connect to');
    if (this.client) return;
    const deadline = Date.now() + connectTimeoutMs;
    const client = createRegistryClient(redisUrl, connectTimeoutMs, (retries, cause) => {
      if (!this.wasReady) {
        // At boot: a refused password will not get better; anything else is retried until the deadline.
        const left = deadline - Date.now();
        if (cause instanceof ErrorReply || left <= 0) return cause;
        return Math.min(100 * 2 ** retries, 1_000, left);
      }
      return Math.min(50 * 2 ** retries, MAX_BACKOFF_MS) + Math.floor(Math.random() * 100);
    });
    let lastError: unknown;
    client.on('error', (e: unknown) => {
      lastError = e;
      this.onError(e);
    });
    client.on('ready', () => this.onReady());
    this.client = client;
    try {
      // The reconnection strategy gives up at the deadline with the last failure; this bounds a connect that hangs.
      await withTimeout(client.connect(), connectTimeoutMs + CONNECT_GRACE_MS, () => new Error(lastError === undefined ? `no answer within ${connectTimeoutMs} ms` : errorMessage(lastError)));
    } catch (e) {
      this.client = undefined;
      client.destroy();
      const cause = e instanceof ReconnectStrategyError ? e.originalError : e;
      throw new Error(
        `Cannot connect to Redis at ${this.target} (REDIS_URL) within REDIS_CONNECT_TIMEOUT_MS=${connectTimeoutMs} ms: ${this.redact(errorMessage(cause))}. ` +
          'Check that REDIS_URL names a reachable Redis and the right password, or leave REDIS_URL unset to keep sessions in this process.',
      );
    }
  }

  /** Closes the connection: politely (pending replies still arrive) for a moment, then at once. */
  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    if (!client.isReady) return client.destroy();
    await withTimeout(client.close(), CLOSE_TIMEOUT_MS, () => new Error('close timed out')).catch(() => client.destroy());
  }

  /**
   * Runs one call on Redis: at once REGISTRY_UNAVAILABLE while the connection is down, within
   * REDIS_COMMAND_TIMEOUT_MS (then REGISTRY_UNAVAILABLE; the change may still have been made), and any failure of
   * the connection or of Redis's availability as REGISTRY_UNAVAILABLE. A reply that says the command itself is
   * wrong (a bug) is thrown as it is.
   */
  async call<T>(work: (client: RegistryClient) => Promise<T>): Promise<T> {
    const client = this.client;
    const { commandTimeoutMs } = this.settings;
    if (!client?.isReady) throw new RegistryUnavailableError(this.target, 'the connection is down and the server is reconnecting');
    try {
      return await withTimeout(work(client), commandTimeoutMs, () => new RegistryUnavailableError(this.target, `no answer within ${commandTimeoutMs} ms (REDIS_COMMAND_TIMEOUT_MS)`));
    } catch (e) {
      if (e instanceof DomainError) throw e;
      if (e instanceof ErrorReply && !UNAVAILABLE_REPLY.test(e.message)) throw e;
      throw new RegistryUnavailableError(this.target, this.redact(errorMessage(e)), e);
    }
  }

  /** Why Redis cannot serve now (for readiness), or undefined when a PING answers in time. */
  async problem(): Promise<string | undefined> {
    if (!this.enabled) return undefined;
    try {
      await this.call((c) => c.ping());
      return undefined;
    } catch (e) {
      return e instanceof RegistryUnavailableError ? e.message : this.redact(errorMessage(e));
    }
  }

  private onReady(): void {
    if (!this.wasReady) this.logger.log(`Connected to Redis at ${this.target}`);
    else if (this.lostSaid) this.logger.log(`Redis at ${this.target} is reachable again`);
    this.wasReady = true;
    this.lostSaid = false;
  }

  /** node-redis reports every failed reconnection: said once per outage. A missing handler would end the process. */
  private onError(e: unknown): void {
    if (!this.wasReady || this.lostSaid) return;
    this.lostSaid = true;
    this.logger.warn(
      `Lost the connection to Redis at ${this.target}: ${this.redact(errorMessage(e))}. ` +
        'Registry calls fail with REGISTRY_UNAVAILABLE and /health/ready is not ready until it is back; reconnecting.',
    );
  }

  /** Drops REDIS_URL's password from a message, in case a library ever puts it there. */
  private redact(message: string): string {
    const url = this.settings.redisUrl;
    if (!url) return message;
    let out = message.split(url).join('(REDIS_URL)');
    try {
      const password = new URL(url).password;
      for (const p of [password, decodeURIComponent(password)]) if (p) out = out.split(p).join('***');
    } catch {
      // REDIS_URL was validated at boot; nothing more to hide
    }
    return out;
  }
}

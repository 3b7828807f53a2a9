import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { createClient, ErrorReply, ReconnectStrategyError, type RedisClientType } from 'redis';
import { withTimeout } from '../common/async';
import { DomainError, errorMessage } from '../common/domain-error';
import { InjectSettings } from '../config/config.module';
import { CLUSTER_SETTINGS, type ClusterSettings } from './cluster.settings';
import { RegistryUnavailableError } from './cluster.errors';
import { COMPUTER_CLAIM_SCRIPTS, type ComputerClaimScripts } from './computer-claims.scripts';
import { MCP_SESSION_REGISTRY_SCRIPTS, type McpSessionRegistryScripts } from './mcp-session-registry.scripts';
import { QUOTA_LEDGER_SCRIPTS, type QuotaLedgerScripts } from './quota-ledger.scripts';
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

/** The Lua scripts of the session registry, the MCP session registry, the replica directory, the computer claims and the quota ledger, by the name the client calls them. */
type ClusterScripts = SessionRegistryScripts & McpSessionRegistryScripts & ReplicaDirectoryScripts & ComputerClaimScripts & QuotaLedgerScripts;
const CLUSTER_SCRIPTS: ClusterScripts = { ...SESSION_REGISTRY_SCRIPTS, ...MCP_SESSION_REGISTRY_SCRIPTS, ...REPLICA_DIRECTORY_SCRIPTS, ...COMPUTER_CLAIM_SCRIPTS, ...QUOTA_LEDGER_SCRIPTS };

/** A client with the cluster's scripts (no modules, no functions, RESP3). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export type RegistryClient = RedisClientType<{}, {}, ClusterScripts>;

type Reconnect = (retries: number, cause: Error) => number | Error;

function createRegistryClient(url: string, connectTimeoutMs: number, reconnect: Reconnect): RegistryClient {
  return createClient({
    url,
    name: 'cua-mcp-server',
    // A command while the connection is down fails at once, never waits to run late against a Redis that came back empty.
    disableOfflineQueue: true,
    scripts: CLUSTER_SCRIPTS,
    socket: { connectTimeout: connectTimeoutMs, reconnectStrategy: reconnect },
  });
}

/** What `open` needs of a node-redis client, whatever its scripts. */
interface Connectable {
  on(event: 'error' | 'ready', listener: (e?: unknown) => void): unknown;
  connect(): Promise<unknown>;
  destroy(): void;
}

/** A subscription to a channel, on a connection of its own (RedisConnection.subscribe). */
export interface RedisSubscription {
  /** Whether its connection is up now (messages published while it is down never reach it). */
  readonly ready: boolean;
  /** Unsubscribes and closes its connection: politely for a moment, then at once. Idempotent. */
  close(): Promise<void>;
}

/**
 * The connection to Redis (REDIS_URL), when there is one: connected at boot within REDIS_CONNECT_TIMEOUT_MS or the
 * boot stops with an error naming the host, reconnecting on its own afterwards, closed at shutdown (after the
 * sessions have ended). Every call goes through `call`, which fails at once with REGISTRY_UNAVAILABLE while the
 * connection is down and bounds each call by REDIS_COMMAND_TIMEOUT_MS. Subscriptions (`subscribe`) each get a
 * connection of their own. The URL and its password are never logged.
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
    if (this.client) return;
    this.client = await this.open(
      (url, reconnect) => createRegistryClient(url, this.settings.connectTimeoutMs, reconnect),
      {
        ready: () => this.onReady(),
        error: (e) => this.onError(e),
        wasReady: () => this.wasReady,
      },
    );
  }

  /**
   * Subscribes `listener` to `channel` on a connection of its own (a subscribed connection carries nothing else),
   * connected within REDIS_CONNECT_TIMEOUT_MS or throwing like the boot. Afterwards it reconnects with backoff and
   * subscribes again by itself; messages published while it is away are lost (pub/sub keeps nothing). A lost
   * connection is said once per outage, with `lostMeans` saying what that costs. The listener must not throw.
   */
  async subscribe(channel: string, listener: (message: string) => void, lostMeans: string): Promise<RedisSubscription> {
    const { redisUrl, connectTimeoutMs } = this.settings;
    if (redisUrl === undefined) throw new Error('REDIS_URL is not set: there is no Redis to subscribe to');
    let wasReady = false;
    let lostSaid = false;
    const client = await this.open(
      (url, reconnect) => createClient({ url, name: 'cua-mcp-server-sub', disableOfflineQueue: true, socket: { connectTimeout: connectTimeoutMs, reconnectStrategy: reconnect } }),
      {
        ready: () => {
          if (lostSaid) this.logger.log(`The subscription to ${channel} on Redis at ${this.target} is back`);
          wasReady = true;
          lostSaid = false;
        },
        error: (e) => {
          if (!wasReady || lostSaid) return;
          lostSaid = true;
          this.logger.warn(`Lost the subscription to ${channel} on Redis at ${this.target}: ${this.redact(errorMessage(e))}. ${lostMeans} Reconnecting.`);
        },
        wasReady: () => wasReady,
      },
    );
    try {
      await withTimeout(client.subscribe(channel, (message) => listener(message)), connectTimeoutMs, () => new Error(`no answer to SUBSCRIBE within ${connectTimeoutMs} ms`));
    } catch (e) {
      client.destroy();
      throw new Error(`Cannot subscribe to ${channel} on Redis at ${this.target}: ${this.redact(errorMessage(e))}`);
    }
    let closed = false;
    return {
      get ready() {
        return !closed && client.isReady;
      },
      close: async () => {
        if (closed) return;
        closed = true;
        await closePolitely(client);
      },
    };
  }

  /**
   * A connected client from `create`: within REDIS_CONNECT_TIMEOUT_MS (a refused password at once) or a boot error
   * naming the host (never the password); afterwards it reconnects with backoff for as long as it takes. Its
   * `error` events (one per failed reconnection) go to `watch`: a client without a handler would end the process.
   */
  private async open<C extends Connectable>(create: (url: string, reconnect: Reconnect) => C, watch: { ready(): void; error(e: unknown): void; wasReady(): boolean }): Promise<C> {
    const { redisUrl, connectTimeoutMs } = this.settings;
    if (redisUrl === undefined) throw new Error('REDIS_URL is not set: there is no Redis to connect to');
    const deadline = Date.now() + connectTimeoutMs;
    const client = create(redisUrl, (retries, cause) => {
      if (!watch.wasReady()) {
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
      watch.error(e);
    });
    client.on('ready', () => watch.ready());
    try {
      // The reconnection strategy gives up at the deadline with the last failure; this bounds a connect that hangs.
      await withTimeout(client.connect(), connectTimeoutMs + CONNECT_GRACE_MS, () => new Error(lastError === undefined ? `no answer within ${connectTimeoutMs} ms` : errorMessage(lastError)));
      return client;
    } catch (e) {
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
    if (client) await closePolitely(client);
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

/** Closes a client: politely (pending replies still arrive) for a moment, at once when it is down or that takes too long. */
async function closePolitely(client: { isReady: boolean; close(): Promise<unknown>; destroy(): void }): Promise<void> {
  if (!client.isReady) return client.destroy();
  await withTimeout(client.close(), CLOSE_TIMEOUT_MS, () => new Error('close timed out')).then(
    () => undefined,
    () => client.destroy(),
  );
}

import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { checkCancelNotice, ClusterBus, deliver, parseCancelNotice, type CancelNotice } from './cluster-bus';
import { RedisConnection, type RedisSubscription } from './redis-connection';
import { REGISTRY_PREFIX } from './redis-session-registry';

/** The channel of cancel notices, under the registry's prefix (pub/sub channels are not keys: no slot, no TTL). */
export const CANCEL_CHANNEL = `${REGISTRY_PREFIX}cancel`;
/** A message longer than this is not a notice of ours: dropped unread. */
const MAX_MESSAGE_CHARS = 16_384;

/**
 * The bus on Redis pub/sub (REDIS_URL): notices are published on CANCEL_CHANNEL through the registry's connection
 * and heard on a subscribed connection of this replica's own, opened once the application has started and closed
 * at shutdown. While Redis is away, publishing fails with REGISTRY_UNAVAILABLE and notices published meanwhile do
 * not reach this replica; the subscription comes back by itself. What arrives is never trusted: a message that is
 * not a notice (bad JSON, wrong shape, too long) is dropped and counted.
 */
@Injectable()
export class RedisClusterBus extends ClusterBus implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ClusterBus');
  private readonly listeners = new Set<(notice: CancelNotice) => void>();
  private subscription?: RedisSubscription;
  /** Messages on the channel that were no notice, since start. */
  dropped = 0;

  constructor(private readonly redis: RedisConnection) {
    super();
  }

  /** Whether notices published by other replicas reach this one now. */
  get listening(): boolean {
    return this.subscription?.ready === true;
  }

  async onApplicationBootstrap(): Promise<void> {
    // After every module's init: the registry's connection to Redis is up by now.
    await this.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  /** Subscribes to the channel (once). */
  async start(): Promise<void> {
    if (this.subscription) return;
    this.subscription = await this.redis.subscribe(
      CANCEL_CHANNEL,
      (message) => this.receive(message),
      'Cancellations that clients send through other replicas do not stop calls running on this one until it is back.',
    );
  }

  /** Unsubscribes and closes the subscription's connection. Idempotent. */
  async stop(): Promise<void> {
    const s = this.subscription;
    this.subscription = undefined;
    await s?.close();
  }

  async publishCancel(notice: CancelNotice): Promise<void> {
    checkCancelNotice(notice);
    const { mcpSession, requestIds, principal, reason } = notice;
    const message = JSON.stringify({ mcpSession, requestIds, principal, ...(reason !== undefined && { reason }) });
    await this.redis.call((c) => c.publish(CANCEL_CHANNEL, message));
  }

  onCancel(listener: (notice: CancelNotice) => void): () => void {
    const own = (n: CancelNotice) => listener(n);
    this.listeners.add(own);
    return () => this.listeners.delete(own);
  }

  private receive(message: string): void {
    let notice: CancelNotice | undefined;
    if (message.length <= MAX_MESSAGE_CHARS) {
      try {
        notice = parseCancelNotice(JSON.parse(message));
      } catch {
        notice = undefined;
      }
    }
    if (!notice) {
      // Said for the first one, then every hundredth: someone else publishes on our channel.
      if (this.dropped++ % 100 === 0) this.logger.warn(`Dropped a message on ${CANCEL_CHANNEL} that is no cancel notice (${Math.min(message.length, 999_999)} characters); ${this.dropped} so far`);
      return;
    }
    deliver([...this.listeners], notice, this.logger);
  }
}

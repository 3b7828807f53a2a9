import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import { errorMessage } from '../common/domain-error';
import { packageVersion } from '../common/version';
import { InjectSettings } from '../config/config.module';
import { CLUSTER_SETTINGS, type ClusterSettings } from './cluster.settings';
import { ClusterListener } from './cluster-listener';
import { ownerToken, ReplicaDirectory, type ReplicaEntry } from './replica-directory';

/**
 * This process as one replica among those sharing the registry: it joins the ReplicaDirectory at start (a new
 * epoch, so what an earlier run of the same REPLICA_ID held is told apart), renews its lease every third of
 * REPLICA_LEASE_MS while it runs, and leaves once the shutdown has ended its sessions (SessionService.drainAll) or,
 * at the latest, when the application shuts down.
 *
 * If a renewal finds the lease lost (the process stalled, or Redis was away, for longer than the lease), the other
 * replicas have already counted this incarnation gone: its sessions lost, or taken over where their computers are
 * remote. It tells SessionService (onLeaseLost), which lets go of them, then joins again as a new incarnation.
 */
@Injectable()
export class ThisReplica implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Replica');
  private entry?: ReplicaEntry;
  private timer?: NodeJS.Timeout;
  private renewing = false;
  private left = false;
  /** Whether a failed renewal was already said (once per outage). */
  private failureSaid = false;
  /** Told when a renewal finds the lease lost, before this replica joins again (onLeaseLost). */
  private readonly leaseLostListeners: (() => Promise<void>)[] = [];

  constructor(
    private readonly directory: ReplicaDirectory,
    @InjectSettings(CLUSTER_SETTINGS) private readonly settings: ClusterSettings,
    /** Where this replica takes forwarded calls, registered with its lease (none without CLUSTER_PORT). */
    @Optional() private readonly listener?: ClusterListener,
  ) {}

  /** REPLICA_ID. */
  get id(): string {
    return this.settings.replicaId;
  }

  /** Settles with the owner token once this replica has joined (at application start). */
  private joinedAs!: (owner: string) => void;
  private readonly hasJoined = new Promise<string>((resolve) => (this.joinedAs = resolve));

  /** The owner token, once this replica has joined: for work that may begin before the application has started. */
  joined(): Promise<string> {
    return this.hasJoined;
  }

  /** The owner token session records name this incarnation by (`id@epoch`); only once it has joined. */
  get owner(): string {
    if (!this.entry) throw new Error('This replica has not joined the replica directory yet');
    return ownerToken(this.entry.id, this.entry.epoch);
  }

  async onApplicationBootstrap(): Promise<void> {
    // After every module's init: the connection to Redis, when there is one, is up by now.
    await this.join();
    const every = Math.max(100, Math.floor(this.settings.replicaLeaseMs / 3));
    this.timer = setInterval(() => void this.renew(), every);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.leave();
  }

  /**
   * `listener` runs when a renewal finds this incarnation's lease lost, before the replica joins again: the other
   * replicas have counted it gone, and what it held may be theirs now. The replica joins again once every listener
   * has settled.
   */
  onLeaseLost(listener: () => Promise<void>): void {
    this.leaseLostListeners.push(listener);
  }

  /** Gives up the lease: the other replicas count this one gone at once. Idempotent. */
  async leave(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const entry = this.entry;
    if (!entry || this.left) return;
    this.left = true;
    await this.directory.leave(entry.id, entry.epoch).catch((e: unknown) => this.logger.warn(`Could not leave the replica directory (${errorMessage(e)}); the lease runs out by itself.`));
  }

  private async join(): Promise<void> {
    const address = this.listener?.address();
    const entry = await this.directory.join({ id: this.settings.replicaId, startedAt: Date.now(), version: packageVersion(), ...(address && { address }) }, this.settings.replicaLeaseMs);
    this.entry = entry;
    this.joinedAs(ownerToken(entry.id, entry.epoch));
    if (this.left) {
      // leave() came while this join was under way: give this lease up too.
      await this.directory.leave(entry.id, entry.epoch).catch(() => undefined);
      return;
    }
    this.logger.log(`Replica ${entry.id} joined as ${ownerToken(entry.id, entry.epoch)} (lease ${this.settings.replicaLeaseMs} ms${address ? `, forwarded calls at ${address}` : ''})`);
  }

  /** One renewal; skipped while the previous one is still going. */
  private async renew(): Promise<void> {
    const entry = this.entry;
    if (this.renewing || this.left || !entry) return;
    this.renewing = true;
    try {
      if (await this.directory.renew(entry.id, entry.epoch, this.settings.replicaLeaseMs)) {
        this.failureSaid = false;
        return;
      }
      this.logger.warn(
        `Replica ${ownerToken(entry.id, entry.epoch)} lost its lease (it could not renew it within REPLICA_LEASE_MS=${this.settings.replicaLeaseMs} ms): ` +
          'the other replicas count its sessions lost. Joining again as a new incarnation.',
      );
      await Promise.allSettled(this.leaseLostListeners.map((listener) => listener()));
      if (!this.left) await this.join();
    } catch (e) {
      if (!this.failureSaid) this.logger.warn(`Could not renew this replica's lease: ${errorMessage(e)}. Retrying every ${Math.floor(this.settings.replicaLeaseMs / 3)} ms.`);
      this.failureSaid = true;
    } finally {
      this.renewing = false;
    }
  }
}

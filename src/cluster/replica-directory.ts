/** One running incarnation of a replica, as the directory holds it while its lease lasts. */
export interface ReplicaEntry {
  /** REPLICA_ID: the same across restarts of one pod or host. */
  readonly id: string;
  /** Fencing number of this incarnation: every join gets a higher one than any before, across all replicas. */
  readonly epoch: number;
  /** Milliseconds since the epoch when this incarnation joined. */
  readonly startedAt: number;
  /** The server's version, for operators reading the directory. */
  readonly version: string;
  /** host:port where it takes forwarded calls (CLUSTER_PORT); unset when it takes none. */
  readonly address?: string;
}

export type ReplicaJoin = Omit<ReplicaEntry, 'epoch'>;

/**
 * The name a session record gives its owner: one incarnation of one replica (`id@epoch`). A restarted replica
 * keeps its id but not its epoch, so the sessions of the process that died are told apart from its own.
 */
export function ownerToken(id: string, epoch: number): string {
  return `${id}@${epoch}`;
}

/** The replica and epoch of an owner token; undefined for a string that is not one. */
export function parseOwner(token: string): { id: string; epoch: number } | undefined {
  const at = token.lastIndexOf('@');
  const epoch = Number(token.slice(at + 1));
  if (at <= 0 || !/^\d+$/.test(token.slice(at + 1)) || !Number.isSafeInteger(epoch)) return undefined;
  return { id: token.slice(0, at), epoch };
}

/**
 * Which replicas of the server are alive (port): each joins with a lease it renews while it runs, and a replica
 * whose lease ran out (it crashed, was killed, or could not reach the directory for longer than its lease) is gone
 * for every other replica. Sessions name the incarnation that holds their computer (ownerToken); a session whose
 * owner is gone is lost (SESSION_LOST), not waited for.
 *
 * Backends: InMemoryReplicaDirectory (one process) and RedisReplicaDirectory (REDIS_URL, shared by the replicas).
 */
export abstract class ReplicaDirectory {
  /** Registers a new incarnation of `replica.id` for `leaseMs`, with an epoch higher than any before; an older incarnation of that id is gone from now on. */
  abstract join(replica: ReplicaJoin, leaseMs: number): Promise<ReplicaEntry>;

  /** Extends this incarnation's lease to `leaseMs` from now; false when it was already lost (ran out, or a newer incarnation joined). */
  abstract renew(id: string, epoch: number, leaseMs: number): Promise<boolean>;

  /** Gives up this incarnation's lease at once (it stops); nothing when the lease is no longer its own. */
  abstract leave(id: string, epoch: number): Promise<void>;

  /** The live incarnation of replica `id`, if its lease holds. */
  abstract get(id: string): Promise<ReplicaEntry | undefined>;

  /** Every replica whose lease holds, ordered by id. */
  abstract list(): Promise<ReplicaEntry[]>;

  /**
   * Notes that the replica incarnation `owner` serves `key` (e.g. a live view's id) for `ttlMs`, so that another
   * replica a request for it reaches can send it there. A later pin of the same key replaces it.
   */
  abstract pin(key: string, owner: string, ttlMs: number): Promise<void>;

  /** The owner token pinned to `key`, while its pin lasts. */
  abstract pinned(key: string): Promise<string | undefined>;

  /** Whether the incarnation an owner token names still holds its lease. */
  async holds(owner: string): Promise<boolean> {
    const parsed = parseOwner(owner);
    if (!parsed) return false;
    return (await this.get(parsed.id))?.epoch === parsed.epoch;
  }
}

/** Throws when a lease is not a sensible number: a programming error, not a user's. */
export function checkLease(leaseMs: number): void {
  if (!Number.isSafeInteger(leaseMs) || leaseMs < 1) throw new Error(`A replica's lease must be a whole number of milliseconds, at least 1, not ${leaseMs}`);
}

/**
 * The replica directory in this process's memory: the embedded default (no REDIS_URL), where the only replica is
 * this process. Tests give several in-memory session registries one of these to stand for replicas sharing a store.
 */
export class InMemoryReplicaDirectory extends ReplicaDirectory {
  private readonly leases = new Map<string, { entry: ReplicaEntry; until: number }>();
  private readonly pins = new Map<string, { owner: string; until: number }>();
  private lastEpoch = 0;

  constructor(private readonly now: () => number = Date.now) {
    super();
  }

  async join(replica: ReplicaJoin, leaseMs: number): Promise<ReplicaEntry> {
    checkLease(leaseMs);
    const entry: ReplicaEntry = { ...replica, epoch: ++this.lastEpoch };
    this.leases.set(replica.id, { entry, until: this.now() + leaseMs });
    return { ...entry };
  }

  async renew(id: string, epoch: number, leaseMs: number): Promise<boolean> {
    checkLease(leaseMs);
    const lease = this.live(id);
    if (lease?.entry.epoch !== epoch) return false;
    lease.until = this.now() + leaseMs;
    return true;
  }

  async leave(id: string, epoch: number): Promise<void> {
    if (this.live(id)?.entry.epoch === epoch) this.leases.delete(id);
  }

  async get(id: string): Promise<ReplicaEntry | undefined> {
    const lease = this.live(id);
    return lease && { ...lease.entry };
  }

  async list(): Promise<ReplicaEntry[]> {
    return [...this.leases.keys()].flatMap((id) => {
      const lease = this.live(id);
      return lease ? [{ ...lease.entry }] : [];
    }).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async pin(key: string, owner: string, ttlMs: number): Promise<void> {
    checkLease(ttlMs);
    const now = this.now();
    for (const [k, p] of this.pins) if (p.until <= now) this.pins.delete(k);
    this.pins.set(key, { owner, until: now + ttlMs });
  }

  async pinned(key: string): Promise<string | undefined> {
    const p = this.pins.get(key);
    return p && p.until > this.now() ? p.owner : undefined;
  }

  /** Synchronous form of holds(), for the in-memory session registry's atomic steps. */
  holdsNow(owner: string): boolean {
    const parsed = parseOwner(owner);
    return parsed !== undefined && this.live(parsed.id)?.entry.epoch === parsed.epoch;
  }

  private live(id: string): { entry: ReplicaEntry; until: number } | undefined {
    const lease = this.leases.get(id);
    if (lease && lease.until <= this.now()) {
      this.leases.delete(id);
      return undefined;
    }
    return lease;
  }
}

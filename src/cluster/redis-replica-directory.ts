import { Injectable } from '@nestjs/common';
import { RedisConnection } from './redis-connection';
import { REGISTRY_PREFIX } from './redis-session-registry';
import { checkLease, ReplicaDirectory, type ReplicaEntry, type ReplicaJoin } from './replica-directory';

const REPLICAS = `${REGISTRY_PREFIX}replicas`;
const EPOCH = `${REGISTRY_PREFIX}epoch`;
export const replicaKey = (id: string) => `${REGISTRY_PREFIX}replica:${id}`;
/** Who serves a key (ReplicaDirectory.pin): a string that expires with the pin. */
const pinKey = (key: string) => `${REGISTRY_PREFIX}pin:${key}`;

/**
 * The replica directory on Redis (REDIS_URL): each replica's lease is a hash that expires unless renewed, so a
 * replica that dies leaves it for Redis to drop; epochs come from one counter, so they only ever grow.
 */
@Injectable()
export class RedisReplicaDirectory extends ReplicaDirectory {
  constructor(private readonly redis: RedisConnection) {
    super();
  }

  async join(replica: ReplicaJoin, leaseMs: number): Promise<ReplicaEntry> {
    checkLease(leaseMs);
    const epoch = await this.redis.call((c) => c.replicaJoin([replicaKey(replica.id), REPLICAS, EPOCH], [replica.id, String(replica.startedAt), replica.version, String(leaseMs), replica.address ?? '']));
    return { ...replica, epoch };
  }

  async renew(id: string, epoch: number, leaseMs: number): Promise<boolean> {
    checkLease(leaseMs);
    return this.redis.call((c) => c.replicaRenew(replicaKey(id), [String(epoch), String(leaseMs)]));
  }

  async leave(id: string, epoch: number): Promise<void> {
    await this.redis.call((c) => c.replicaLeave([replicaKey(id), REPLICAS], [id, String(epoch)]));
  }

  async get(id: string): Promise<ReplicaEntry | undefined> {
    const fields = await this.redis.call((c) => c.hGetAll(replicaKey(id)));
    return Object.keys(fields).length ? toEntry(fields) : undefined;
  }

  async pin(key: string, owner: string, ttlMs: number): Promise<void> {
    checkLease(ttlMs);
    await this.redis.call((c) => c.set(pinKey(key), owner, { PX: ttlMs }));
  }

  async pinned(key: string): Promise<string | undefined> {
    return (await this.redis.call((c) => c.get(pinKey(key)))) ?? undefined;
  }

  async list(): Promise<ReplicaEntry[]> {
    const flats = await this.redis.call((c) => c.replicaList(REPLICAS, REGISTRY_PREFIX));
    return flats
      .map((flat) => {
        const fields: Record<string, string> = {};
        for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]] = flat[i + 1];
        return toEntry(fields);
      })
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}

function toEntry(f: Record<string, string>): ReplicaEntry {
  const num = (name: string) => {
    const n = Number(f[name]);
    if (!Number.isSafeInteger(n)) throw new Error(`The directory's entry of replica "${f.id}" has no whole number in ${name}`);
    return n;
  };
  return { id: f.id, epoch: num('epoch'), startedAt: num('startedAt'), version: f.version, ...(f.address ? { address: f.address } : {}) };
}

import { Injectable } from '@nestjs/common';
import { RedisConnection } from './redis-connection';
import { type Admission, type AdmissionResult, byAge, checkAdmission, type RegistrySessionKind, SessionRegistry, type SessionRecord } from './session-registry';
import type { FlatRecord } from './session-registry.scripts';

/** Every key of the registry starts with this; `{r}` is the hash tag that keeps them in one slot of a Redis Cluster. */
export const REGISTRY_PREFIX = 'cua:{r}:';
const KINDS: readonly RegistrySessionKind[] = ['named', 'minted', 'default'];

/**
 * The session registry on Redis (REDIS_URL): shared by every replica. Each change is one Lua script
 * (session-registry.scripts.ts), so admissions, touches, ends and sweeps of several replicas never interleave.
 * While Redis is away every method fails at once with REGISTRY_UNAVAILABLE (RedisConnection.call).
 */
@Injectable()
export class RedisSessionRegistry extends SessionRegistry {
  readonly shared = true;

  constructor(private readonly redis: RedisConnection) {
    super();
  }

  async admit(a: Admission): Promise<AdmissionResult> {
    checkAdmission(a);
    const { ref, record, principalSet } = keys(a.principal, a.id);
    const { maxSessions, maxSessionsPerPrincipal } = a.limits;
    const args = [ref, a.id, a.principal, a.kind, String(a.now), String(a.idleTimeoutMs), a.owner ?? '', String(maxSessions), String(maxSessionsPerPrincipal), REGISTRY_PREFIX];
    const outcome = await this.redis.call((c) => c.sessionAdmit([record, SESSIONS, principalSet], args));
    switch (outcome) {
      case 'admitted':
        return {
          admitted: true,
          record: { id: a.id, principal: a.principal, kind: a.kind, createdAt: a.now, lastActivityAt: a.now, idleTimeoutMs: a.idleTimeoutMs, ...(a.owner !== undefined && { owner: a.owner }) },
        };
      case 'exists':
        return { admitted: false, refused: 'exists' };
      case 'server':
        return { admitted: false, refused: 'server', max: maxSessions };
      case 'principal':
        return { admitted: false, refused: 'principal', max: maxSessionsPerPrincipal };
      default:
        throw new Error(`The admission script answered ${JSON.stringify(outcome)}`);
    }
  }

  async get(principal: string, id: string): Promise<SessionRecord | undefined> {
    const { record } = keys(principal, id);
    const fields = await this.redis.call((c) => c.hGetAll(record));
    return Object.keys(fields).length ? toRecord(fields) : undefined;
  }

  async touch(principal: string, id: string, now: number): Promise<SessionRecord | undefined> {
    const { ref, record } = keys(principal, id);
    return fromFlat(await this.redis.call((c) => c.sessionTouch([record, SESSIONS], [ref, String(now)])));
  }

  async end(principal: string, id: string): Promise<SessionRecord | undefined> {
    const { ref, record, principalSet } = keys(principal, id);
    return fromFlat(await this.redis.call((c) => c.sessionEnd([record, SESSIONS, principalSet], [ref, REGISTRY_PREFIX])));
  }

  async claimExpired(now: number, limit: number, sweeper?: string): Promise<SessionRecord[]> {
    if (limit <= 0) return [];
    const claimed = await this.redis.call((c) => c.sessionClaim(SESSIONS, [String(now), String(limit), REGISTRY_PREFIX, sweeper ?? '']));
    return claimed.map((flat) => fromFlat(flat)!);
  }

  async markLost(limit: number): Promise<SessionRecord[]> {
    if (limit <= 0) return [];
    const marked = await this.redis.call((c) => c.sessionMarkLost([OWNERS, SESSIONS], [REGISTRY_PREFIX, String(limit)]));
    return marked.map((flat) => fromFlat(flat)!);
  }

  async assign(principal: string, id: string, owner: string, computer: string | undefined): Promise<boolean> {
    const { ref, record } = keys(principal, id);
    return (await this.redis.call((c) => c.sessionAssign(record, [ref, owner, computer ?? '', REGISTRY_PREFIX]))) === 1;
  }

  async adopt(principal: string, id: string, owner: string): Promise<SessionRecord | undefined> {
    const { ref, record } = keys(principal, id);
    return fromFlat(await this.redis.call((c) => c.sessionAdopt(record, [ref, owner, REGISTRY_PREFIX])));
  }

  async list(principal: string): Promise<SessionRecord[]> {
    const flats = await this.redis.call((c) => c.sessionList(principalSetKey(principal), REGISTRY_PREFIX));
    return flats.map((flat) => fromFlat(flat)!).sort(byAge);
  }

  async listAll(limit: number): Promise<SessionRecord[]> {
    if (limit <= 0) return [];
    // Every session is in the sorted set (at most MAX_SESSIONS of them): read them all, then keep the oldest.
    const flats = await this.redis.call((c) => c.sessionListAll(SESSIONS, REGISTRY_PREFIX));
    return flats.map((flat) => fromFlat(flat)!).sort(byAge).slice(0, limit);
  }

  async count(): Promise<number> {
    return this.redis.call((c) => c.zCard(SESSIONS));
  }

  async countOf(principal: string): Promise<number> {
    return this.redis.call((c) => c.sCard(principalSetKey(principal)));
  }
}

const SESSIONS = `${REGISTRY_PREFIX}sessions`;
const OWNERS = `${REGISTRY_PREFIX}owners`;
const principalPart = (principal: string) => encodeURIComponent(principal);
const principalSetKey = (principal: string) => `${REGISTRY_PREFIX}p:${principalPart(principal)}`;

/** The keys of one session (see session-registry.scripts.ts). */
export function keys(principal: string, id: string) {
  const ref = `${principalPart(principal)}:${id}`;
  return { ref, record: `${REGISTRY_PREFIX}s:${ref}`, principalSet: principalSetKey(principal) };
}

function fromFlat(flat: FlatRecord): SessionRecord | undefined {
  if (flat.length === 0) return undefined;
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]] = flat[i + 1];
  return toRecord(fields);
}

function toRecord(f: Record<string, string>): SessionRecord {
  const num = (name: string) => {
    const n = Number(f[name]);
    if (!Number.isSafeInteger(n)) throw new Error(`The registry's record of session "${f.id}" has no whole number in ${name}`);
    return n;
  };
  const kind = f.kind as RegistrySessionKind;
  if (!KINDS.includes(kind)) throw new Error(`The registry's record of session "${f.id}" has an unknown kind "${f.kind}"`);
  return {
    id: f.id,
    principal: f.principal,
    kind,
    createdAt: num('createdAt'),
    lastActivityAt: num('lastActivityAt'),
    idleTimeoutMs: num('idleTimeoutMs'),
    ...(f.owner ? { owner: f.owner } : {}),
    ...(f.computer ? { computer: f.computer } : {}),
    ...(f.state === 'lost' ? { lost: true as const } : {}),
  };
}

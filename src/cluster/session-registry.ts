/** How a session came to be: named by its client, minted by create_session, or a connection's default one. */
export type RegistrySessionKind = 'named' | 'minted' | 'default';

/**
 * What the registry knows of one session: the part every replica may read. The session's live parts (its
 * computer's handle, running tasks, who controls its desktop) stay with the process that serves it.
 */
export interface SessionRecord {
  readonly id: string;
  readonly principal: string;
  readonly kind: RegistrySessionKind;
  /** Milliseconds since the epoch, as the admitting caller's clock said. */
  readonly createdAt: number;
  /** The latest `now` any touch brought (never moves back). */
  readonly lastActivityAt: number;
  /** Ended by the idle sweep once unused for longer than this. */
  readonly idleTimeoutMs: number;
  /**
   * The replica incarnation (ownerToken: `id@epoch`) that holds the session's computer; unset when any replica may
   * serve it.
   */
  readonly owner?: string;
  /**
   * Where the session's computer is when any replica can reach it (a remote computer's handle, named by its
   * provider: assign). A session with one is not lost with its owner: another replica adopts it (adopt).
   */
  readonly computer?: string;
  /**
   * Set once the owner is gone (markLost): the computer went with it. The record no longer counts against any cap
   * and stays only so that a call naming the session hears SESSION_LOST; it expires after the idle timeout.
   */
  readonly lost?: true;
}

export interface SessionLimits {
  /** MAX_SESSIONS: most sessions in all. */
  readonly maxSessions: number;
  /** MAX_SESSIONS_PER_PRINCIPAL: most sessions of one principal. */
  readonly maxSessionsPerPrincipal: number;
}

export interface Admission {
  readonly id: string;
  readonly principal: string;
  readonly kind: RegistrySessionKind;
  readonly idleTimeoutMs: number;
  readonly now: number;
  readonly owner?: string;
  readonly limits: SessionLimits;
}

export type AdmissionResult =
  | { readonly admitted: true; readonly record: SessionRecord }
  /** A cap is reached: the whole server's (MAX_SESSIONS) or the principal's; `max` is that cap. */
  | { readonly admitted: false; readonly refused: 'server' | 'principal'; readonly max: number }
  /** The principal already has a session of that id. */
  | { readonly admitted: false; readonly refused: 'exists' };

/**
 * The session registry (port): which sessions exist, whose they are, when they were last used, and the caps on
 * them. Every change is atomic, also between replicas sharing one registry: an admission checks both caps and
 * records the session in one step, so concurrent admissions never exceed a cap; each expired session is handed
 * to exactly one sweeper; each session is ended by exactly one caller.
 *
 * A session is known by its principal and its id together: another principal's session of the same id is
 * another session, and one principal never sees, touches or ends another's.
 *
 * Backends: InMemorySessionRegistry (one process) and RedisSessionRegistry (REDIS_URL, several replicas). A
 * backend that cannot be reached fails at once with REGISTRY_UNAVAILABLE, never queues a change for later.
 */
export abstract class SessionRegistry {
  /** Whether other replicas share this registry (Redis), so that a session may outlive this process. */
  abstract readonly shared: boolean;

  /** Records a new session when both caps allow it and the principal has none of that id. */
  abstract admit(admission: Admission): Promise<AdmissionResult>;

  /** The principal's session of that id, if it exists (a lost one too). Changes nothing. */
  abstract get(principal: string, id: string): Promise<SessionRecord | undefined>;

  /** Marks the session used at `now` (its idle time starts again); undefined when the principal has no such session, or it is lost. */
  abstract touch(principal: string, id: string, now: number): Promise<SessionRecord | undefined>;

  /** Removes the session (a lost one too); its record to the one caller that removed it, undefined to everyone else. */
  abstract end(principal: string, id: string): Promise<SessionRecord | undefined>;

  /**
   * Removes and returns up to `limit` sessions unused for longer than their idle timeout at `now`, the longest
   * expired first. Each expired session goes to exactly one caller, however many replicas sweep at once. A replica
   * sweeping passes its own owner token as `sweeper`, and gets only what it may end: its own sessions, ownerless
   * ones, and those of owners that are gone; another live replica's sessions are left for it to end.
   */
  abstract claimExpired(now: number, limit: number, sweeper?: string): Promise<SessionRecord[]>;

  /**
   * Marks up to `limit` sessions whose owner is gone (its lease in the ReplicaDirectory ran out, or it left) as
   * lost, and returns them. Their places count no more; their records stay, marked, for their idle timeout.
   * Sessions with a `computer` any replica can reach are not lost: they keep their places and wait to be adopted.
   */
  abstract markLost(limit: number): Promise<SessionRecord[]>;

  /**
   * Records where the session's computer is (a remote computer's handle), or that it has none any replica can reach
   * (`computer` undefined). Only while `owner` still holds the session; false otherwise (the record is gone, lost, or
   * another replica has adopted it).
   */
  abstract assign(principal: string, id: string, owner: string, computer: string | undefined): Promise<boolean>;

  /**
   * Takes over a session whose owner is gone and whose computer any replica can reach (it has `computer`): the
   * session is `owner`'s from now on. Its record as it is then; undefined when there is nothing to adopt (no such
   * session, a lost one, one without such a computer, or one whose owner is alive: another replica adopted it first).
   */
  abstract adopt(principal: string, id: string, owner: string): Promise<SessionRecord | undefined>;

  /** The principal's sessions, oldest first (not the lost ones). */
  abstract list(principal: string): Promise<SessionRecord[]>;

  /** Every principal's sessions, oldest first, at most `limit` of them (not the lost ones): what an operator lists. */
  abstract listAll(limit: number): Promise<SessionRecord[]>;

  /** How many sessions there are in all (not counting lost ones). */
  abstract count(): Promise<number>;

  /** How many sessions the principal has. */
  abstract countOf(principal: string): Promise<number>;
}

/** Throws when an admission's numbers cannot be right: a programming error, not a user's. */
export function checkAdmission(a: Admission): void {
  const { maxSessions, maxSessionsPerPrincipal } = a.limits;
  for (const [name, n] of [['maxSessions', maxSessions], ['maxSessionsPerPrincipal', maxSessionsPerPrincipal], ['idleTimeoutMs', a.idleTimeoutMs], ['now', a.now]] as const) {
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`Admission ${name} must be a whole number of at least 0, not ${n}`);
  }
  if (a.id === '' || a.principal === '') throw new Error('Admission needs an id and a principal');
}

/** Oldest first; ties by id, so every backend lists in the same order. */
export function byAge(a: SessionRecord, b: SessionRecord): number {
  return a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

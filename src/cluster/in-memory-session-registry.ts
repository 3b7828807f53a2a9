import type { InMemoryReplicaDirectory } from './replica-directory';
import { type Admission, type AdmissionResult, byAge, checkAdmission, SessionRegistry, type SessionRecord } from './session-registry';

/**
 * The session registry in this process's memory: the embedded default (no REDIS_URL), for one server. Every method
 * runs to completion without awaiting anything, so each change is atomic among this process's callers.
 *
 * Owners are judged by an in-memory replica directory when one is given (tests standing several replicas on one
 * store); without one every owner counts as alive: in one process the owner is this process. Not a Nest provider
 * by itself (ClusterModule builds it): `useClass` gets one without a directory.
 */
export class InMemorySessionRegistry extends SessionRegistry {
  readonly shared = false;
  /** Live records by `principal` then `id`. */
  private readonly byPrincipal = new Map<string, Map<string, SessionRecord>>();
  /** Lost records by `principal` then `id`, each with the time it expires. */
  private readonly lostByPrincipal = new Map<string, Map<string, { record: SessionRecord; until: number }>>();
  private total = 0;

  constructor(
    private readonly directory?: InMemoryReplicaDirectory,
    private readonly clock: () => number = Date.now,
  ) {
    super();
  }

  async admit(a: Admission): Promise<AdmissionResult> {
    checkAdmission(a);
    const mine = this.byPrincipal.get(a.principal);
    if (mine?.has(a.id) || this.lostRecord(a.principal, a.id)) return { admitted: false, refused: 'exists' };
    if (this.total >= a.limits.maxSessions) return { admitted: false, refused: 'server', max: a.limits.maxSessions };
    if ((mine?.size ?? 0) >= a.limits.maxSessionsPerPrincipal) return { admitted: false, refused: 'principal', max: a.limits.maxSessionsPerPrincipal };
    const record: SessionRecord = {
      id: a.id,
      principal: a.principal,
      kind: a.kind,
      createdAt: a.now,
      lastActivityAt: a.now,
      idleTimeoutMs: a.idleTimeoutMs,
      ...(a.owner !== undefined && { owner: a.owner }),
    };
    this.byPrincipal.set(a.principal, (mine ?? new Map<string, SessionRecord>()).set(a.id, record));
    this.total++;
    return { admitted: true, record: { ...record } };
  }

  async get(principal: string, id: string): Promise<SessionRecord | undefined> {
    const r = this.byPrincipal.get(principal)?.get(id) ?? this.lostRecord(principal, id);
    return r && { ...r };
  }

  async touch(principal: string, id: string, now: number): Promise<SessionRecord | undefined> {
    const mine = this.byPrincipal.get(principal);
    const r = mine?.get(id);
    if (!mine || !r) return undefined;
    const touched = now > r.lastActivityAt ? { ...r, lastActivityAt: now } : r;
    mine.set(id, touched);
    return { ...touched };
  }

  async end(principal: string, id: string): Promise<SessionRecord | undefined> {
    const lost = this.lostRecord(principal, id);
    if (lost) {
      this.forgetLost(principal, id);
      return { ...lost };
    }
    return this.remove(principal, id);
  }

  async claimExpired(now: number, limit: number, sweeper?: string): Promise<SessionRecord[]> {
    const expired: SessionRecord[] = [];
    for (const mine of this.byPrincipal.values()) for (const r of mine.values()) if (expiry(r) < now && this.mayEnd(r, sweeper)) expired.push(r);
    expired.sort((a, b) => expiry(a) - expiry(b));
    return expired.slice(0, Math.max(0, limit)).map((r) => this.remove(r.principal, r.id)!);
  }

  async markLost(limit: number): Promise<SessionRecord[]> {
    for (const [principal, ofPrincipal] of this.lostByPrincipal) for (const id of ofPrincipal.keys()) this.lostRecord(principal, id); // drops expired ones
    const orphans: SessionRecord[] = [];
    for (const mine of this.byPrincipal.values()) {
      for (const r of mine.values()) if (r.owner !== undefined && r.computer === undefined && !this.alive(r.owner)) orphans.push(r);
    }
    return orphans.slice(0, Math.max(0, limit)).map((r) => {
      this.remove(r.principal, r.id);
      const lost: SessionRecord = { ...r, lost: true };
      const ofPrincipal = this.lostByPrincipal.get(r.principal) ?? new Map<string, { record: SessionRecord; until: number }>();
      this.lostByPrincipal.set(r.principal, ofPrincipal.set(r.id, { record: lost, until: this.clock() + r.idleTimeoutMs }));
      return { ...lost };
    });
  }

  async assign(principal: string, id: string, owner: string, computer: string | undefined): Promise<boolean> {
    const mine = this.byPrincipal.get(principal);
    const r = mine?.get(id);
    if (!mine || !r || r.owner !== owner) return false;
    const { computer: _, ...rest } = r;
    mine.set(id, computer === undefined ? rest : { ...rest, computer });
    return true;
  }

  async adopt(principal: string, id: string, owner: string): Promise<SessionRecord | undefined> {
    const mine = this.byPrincipal.get(principal);
    const r = mine?.get(id);
    if (!mine || !r || r.computer === undefined || (r.owner !== undefined && this.alive(r.owner))) return undefined;
    const adopted = { ...r, owner };
    mine.set(id, adopted);
    return { ...adopted };
  }

  /** The live session whose record names that computer (ComputerClaims asks, in the same process). */
  sessionOn(computer: string): SessionRecord | undefined {
    for (const mine of this.byPrincipal.values()) for (const r of mine.values()) if (r.computer === computer) return { ...r };
    return undefined;
  }

  async list(principal: string): Promise<SessionRecord[]> {
    return [...(this.byPrincipal.get(principal)?.values() ?? [])].map((r) => ({ ...r })).sort(byAge);
  }

  async listAll(limit: number): Promise<SessionRecord[]> {
    const all: SessionRecord[] = [];
    for (const mine of this.byPrincipal.values()) for (const r of mine.values()) all.push({ ...r });
    return all.sort(byAge).slice(0, Math.max(0, limit));
  }

  async count(): Promise<number> {
    return this.total;
  }

  async countOf(principal: string): Promise<number> {
    return this.byPrincipal.get(principal)?.size ?? 0;
  }

  private alive(owner: string): boolean {
    return this.directory ? this.directory.holdsNow(owner) : true;
  }

  /** Whether a sweeper may end this record: its own, an ownerless one, or one whose owner is gone. */
  private mayEnd(r: SessionRecord, sweeper: string | undefined): boolean {
    return sweeper === undefined || r.owner === undefined || r.owner === sweeper || !this.alive(r.owner);
  }

  private lostRecord(principal: string, id: string): SessionRecord | undefined {
    const entry = this.lostByPrincipal.get(principal)?.get(id);
    if (entry && entry.until <= this.clock()) {
      this.forgetLost(principal, id);
      return undefined;
    }
    return entry?.record;
  }

  private forgetLost(principal: string, id: string): void {
    const ofPrincipal = this.lostByPrincipal.get(principal);
    ofPrincipal?.delete(id);
    if (ofPrincipal?.size === 0) this.lostByPrincipal.delete(principal);
  }

  private remove(principal: string, id: string): SessionRecord | undefined {
    const mine = this.byPrincipal.get(principal);
    const r = mine?.get(id);
    if (!mine || !r) return undefined;
    mine.delete(id);
    if (mine.size === 0) this.byPrincipal.delete(principal);
    this.total--;
    return { ...r };
  }
}

const expiry = (r: SessionRecord) => r.lastActivityAt + r.idleTimeoutMs;

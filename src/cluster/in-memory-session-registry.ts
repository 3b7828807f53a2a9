import { Injectable } from '@nestjs/common';
import { type Admission, type AdmissionResult, byAge, checkAdmission, SessionRegistry, type SessionRecord } from './session-registry';

/**
 * The session registry in this process's memory: the embedded default (no REDIS_URL), for one server. Every method
 * runs to completion without awaiting anything, so each change is atomic among this process's callers.
 */
@Injectable()
export class InMemorySessionRegistry extends SessionRegistry {
  /** Records by `principal` then `id`. */
  private readonly byPrincipal = new Map<string, Map<string, SessionRecord>>();
  private total = 0;

  async admit(a: Admission): Promise<AdmissionResult> {
    checkAdmission(a);
    const mine = this.byPrincipal.get(a.principal);
    if (mine?.has(a.id)) return { admitted: false, refused: 'exists' };
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
    const r = this.byPrincipal.get(principal)?.get(id);
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
    return this.remove(principal, id);
  }

  async claimExpired(now: number, limit: number): Promise<SessionRecord[]> {
    const expired: SessionRecord[] = [];
    for (const mine of this.byPrincipal.values()) for (const r of mine.values()) if (expiry(r) < now) expired.push(r);
    expired.sort((a, b) => expiry(a) - expiry(b));
    return expired.slice(0, Math.max(0, limit)).map((r) => this.remove(r.principal, r.id)!);
  }

  async list(principal: string): Promise<SessionRecord[]> {
    return [...(this.byPrincipal.get(principal)?.values() ?? [])].map((r) => ({ ...r })).sort(byAge);
  }

  async count(): Promise<number> {
    return this.total;
  }

  async countOf(principal: string): Promise<number> {
    return this.byPrincipal.get(principal)?.size ?? 0;
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

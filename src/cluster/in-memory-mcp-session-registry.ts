import { Injectable } from '@nestjs/common';
import {
  checkOpening,
  McpSessionRegistry,
  mcpSessionExpiry,
  type McpSessionAdmission,
  type McpSessionChanges,
  type McpSessionOpening,
  type McpSessionRecord,
} from './mcp-session-registry';

/**
 * The MCP session records in this process's memory: the embedded default, for one server. Every method runs to
 * completion without awaiting anything, so each change is atomic among this process's callers.
 */
@Injectable()
export class InMemoryMcpSessionRegistry extends McpSessionRegistry {
  private readonly records = new Map<string, McpSessionRecord>();
  private readonly perPrincipal = new Map<string, number>();

  async open(opening: McpSessionOpening): Promise<McpSessionAdmission> {
    checkOpening(opening);
    const { record: r, limits } = opening;
    if (this.records.has(r.id)) throw new Error(`MCP session ${r.id} exists already: ids must be unique`);
    const mine = this.perPrincipal.get(r.principal) ?? 0;
    if (mine >= limits.maxSessionsPerPrincipal) return { admitted: false, refused: 'principal', max: limits.maxSessionsPerPrincipal };
    if (this.records.size >= limits.maxSessions) return { admitted: false, refused: 'server', max: limits.maxSessions };
    const record: McpSessionRecord = { ...r, lastActivityAt: r.createdAt };
    this.records.set(r.id, record);
    this.perPrincipal.set(r.principal, mine + 1);
    return { admitted: true, record: { ...record } };
  }

  async get(id: string): Promise<McpSessionRecord | undefined> {
    const r = this.records.get(id);
    return r && { ...r };
  }

  async touch(id: string, now: number): Promise<McpSessionRecord | undefined> {
    const r = this.records.get(id);
    if (!r) return undefined;
    const touched = now > r.lastActivityAt ? { ...r, lastActivityAt: now } : r;
    this.records.set(id, touched);
    return { ...touched };
  }

  async update(id: string, changes: McpSessionChanges): Promise<McpSessionRecord | undefined> {
    const r = this.records.get(id);
    if (!r) return undefined;
    const updated = { ...r, ...changes };
    this.records.set(id, updated);
    return { ...updated };
  }

  async end(id: string): Promise<McpSessionRecord | undefined> {
    return this.remove(id);
  }

  async claimExpired(now: number, limit: number): Promise<McpSessionRecord[]> {
    const expired = [...this.records.values()].filter((r) => mcpSessionExpiry(r) < now);
    expired.sort((a, b) => mcpSessionExpiry(a) - mcpSessionExpiry(b));
    return expired.slice(0, Math.max(0, limit)).map((r) => this.remove(r.id)!);
  }

  async soonestExpiry(principal?: string): Promise<number | undefined> {
    let soonest: number | undefined;
    for (const r of this.records.values()) {
      if (principal !== undefined && r.principal !== principal) continue;
      soonest = Math.min(soonest ?? Infinity, mcpSessionExpiry(r));
    }
    return soonest;
  }

  async count(): Promise<number> {
    return this.records.size;
  }

  async countOf(principal: string): Promise<number> {
    return this.perPrincipal.get(principal) ?? 0;
  }

  private remove(id: string): McpSessionRecord | undefined {
    const r = this.records.get(id);
    if (!r) return undefined;
    this.records.delete(id);
    const n = (this.perPrincipal.get(r.principal) ?? 0) - 1;
    if (n > 0) this.perPrincipal.set(r.principal, n);
    else this.perPrincipal.delete(r.principal);
    return { ...r };
  }
}

import { Injectable } from '@nestjs/common';
import {
  checkOpening,
  McpSessionRegistry,
  type JsonValue,
  type McpSessionAdmission,
  type McpSessionChanges,
  type McpSessionOpening,
  type McpSessionRecord,
} from './mcp-session-registry';
import type { FlatRecord } from './session-registry.scripts';
import { RedisConnection } from './redis-connection';
import { REGISTRY_PREFIX } from './redis-session-registry';

const SESSIONS = `${REGISTRY_PREFIX}mcp:sessions`;
export const mcpRecordKey = (id: string) => `${REGISTRY_PREFIX}mcp:s:${id}`;
export const mcpPrincipalKey = (principal: string) => `${REGISTRY_PREFIX}mcp:p:${principal}`;

/**
 * The records of 2025-era MCP sessions on Redis (REDIS_URL), shared by every replica: an `Mcp-Session-Id` minted on
 * one is served by any. Each change is one Lua script (mcp-session-registry.scripts.ts): an opening checks both caps
 * and records the session at once, the sweep's claim hands each expired record to one replica. While Redis is away
 * every method fails at once with REGISTRY_UNAVAILABLE (RedisConnection.call).
 */
@Injectable()
export class RedisMcpSessionRegistry extends McpSessionRegistry {
  constructor(private readonly redis: RedisConnection) {
    super();
  }

  async open(opening: McpSessionOpening): Promise<McpSessionAdmission> {
    checkOpening(opening);
    const { record: r, limits } = opening;
    const record: McpSessionRecord = { ...r, lastActivityAt: r.createdAt };
    const keys: [string, string, string] = [mcpRecordKey(r.id), SESSIONS, mcpPrincipalKey(r.principal)];
    const args = [String(limits.maxSessions), String(limits.maxSessionsPerPrincipal), ...toFields(record)];
    const outcome = await this.redis.call((c) => c.mcpSessionOpen(keys, args));
    switch (outcome) {
      case 'admitted':
        return { admitted: true, record };
      case 'principal':
        return { admitted: false, refused: 'principal', max: limits.maxSessionsPerPrincipal };
      case 'server':
        return { admitted: false, refused: 'server', max: limits.maxSessions };
      case 'exists':
        throw new Error(`MCP session ${r.id} exists already: ids must be unique`);
      default:
        throw new Error(`The MCP session opening script answered ${JSON.stringify(outcome)}`);
    }
  }

  async get(id: string): Promise<McpSessionRecord | undefined> {
    const fields = await this.redis.call((c) => c.hGetAll(mcpRecordKey(id)));
    return Object.keys(fields).length ? toRecord(fields) : undefined;
  }

  async touch(id: string, now: number): Promise<McpSessionRecord | undefined> {
    return this.change(id, String(now), []);
  }

  async update(id: string, changes: McpSessionChanges): Promise<McpSessionRecord | undefined> {
    const fields: string[] = [];
    if (changes.logLevel !== undefined) fields.push('logLevel', changes.logLevel);
    if (changes.defaultSession !== undefined) fields.push('defaultSession', changes.defaultSession);
    if (changes.idleTimeoutMs !== undefined) {
      if (!Number.isSafeInteger(changes.idleTimeoutMs) || changes.idleTimeoutMs < 0) throw new Error(`MCP session idleTimeoutMs must be a whole number of at least 0, not ${changes.idleTimeoutMs}`);
      fields.push('idleTimeoutMs', String(changes.idleTimeoutMs));
    }
    return this.change(id, '', fields);
  }

  async end(id: string): Promise<McpSessionRecord | undefined> {
    return fromFlat(await this.redis.call((c) => c.mcpSessionEnd([mcpRecordKey(id), SESSIONS], [REGISTRY_PREFIX, id])));
  }

  async claimExpired(now: number, limit: number): Promise<McpSessionRecord[]> {
    if (limit <= 0) return [];
    const claimed = await this.redis.call((c) => c.mcpSessionClaim(SESSIONS, [String(now), String(limit), REGISTRY_PREFIX]));
    return claimed.map((flat) => fromFlat(flat)!);
  }

  async soonestExpiry(principal?: string): Promise<number | undefined> {
    const first = await this.redis.call((c) => c.zRangeWithScores(principal === undefined ? SESSIONS : mcpPrincipalKey(principal), 0, 0));
    return first[0]?.score;
  }

  async count(): Promise<number> {
    return this.redis.call((c) => c.zCard(SESSIONS));
  }

  async countOf(principal: string): Promise<number> {
    return this.redis.call((c) => c.zCard(mcpPrincipalKey(principal)));
  }

  private async change(id: string, now: string, fields: string[]): Promise<McpSessionRecord | undefined> {
    return fromFlat(await this.redis.call((c) => c.mcpSessionChange([mcpRecordKey(id), SESSIONS], [REGISTRY_PREFIX, now, ...fields])));
  }
}

/** A record as the hash's fields and values (what HSET takes). */
function toFields(r: McpSessionRecord): string[] {
  return [
    'id',
    r.id,
    'principal',
    r.principal,
    'protocolVersion',
    r.protocolVersion,
    'clientInfo',
    JSON.stringify(r.clientInfo),
    'clientCapabilities',
    JSON.stringify(r.clientCapabilities),
    'createdAt',
    String(r.createdAt),
    'lastActivityAt',
    String(r.lastActivityAt),
    'idleTimeoutMs',
    String(r.idleTimeoutMs),
    ...(r.logLevel !== undefined ? ['logLevel', r.logLevel] : []),
    ...(r.defaultSession !== undefined ? ['defaultSession', r.defaultSession] : []),
  ];
}

function fromFlat(flat: FlatRecord): McpSessionRecord | undefined {
  if (flat.length === 0) return undefined;
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]] = flat[i + 1];
  return toRecord(fields);
}

/** A hash read back; a field that cannot be right is a broken store, said with the record's id. */
function toRecord(f: Record<string, string>): McpSessionRecord {
  const broken = (what: string) => new Error(`The registry's record of MCP session "${f.id}" ${what}`);
  const num = (name: string) => {
    const n = Number(f[name]);
    if (!Number.isSafeInteger(n)) throw broken(`has no whole number in ${name}`);
    return n;
  };
  const object = (name: string): { [key: string]: JsonValue } => {
    let v: unknown;
    try {
      v = JSON.parse(f[name] ?? '');
    } catch {
      throw broken(`has no JSON in ${name}`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw broken(`has no JSON object in ${name}`);
    return v as { [key: string]: JsonValue };
  };
  if (!f.id || !f.principal) throw broken('names no id or principal');
  return {
    id: f.id,
    principal: f.principal,
    protocolVersion: f.protocolVersion ?? '',
    clientInfo: object('clientInfo'),
    clientCapabilities: object('clientCapabilities'),
    ...(f.logLevel !== undefined && { logLevel: f.logLevel }),
    ...(f.defaultSession !== undefined && { defaultSession: f.defaultSession }),
    createdAt: num('createdAt'),
    lastActivityAt: num('lastActivityAt'),
    idleTimeoutMs: num('idleTimeoutMs'),
  };
}

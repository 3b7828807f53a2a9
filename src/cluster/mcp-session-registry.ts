/** A value as JSON carries it: what a client declared about itself, kept as it came. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * What the server keeps of one 2025-era MCP session (the one an `initialize` opened and its `Mcp-Session-Id` names)
 * between the requests of its client: a plain record, so whichever server process (or replica) a request reaches can
 * serve it. The 2026-07-28 protocol has no such session.
 */
export interface McpSessionRecord {
  /** The minted Mcp-Session-Id. */
  readonly id: string;
  /** Who opened it: to anyone else it does not exist. */
  readonly principal: string;
  /** The protocol version `initialize` agreed on. */
  readonly protocolVersion: string;
  /** What the client said of itself in `initialize` (name, version). */
  readonly clientInfo: { readonly [key: string]: JsonValue };
  /** The capabilities the client declared in `initialize`. */
  readonly clientCapabilities: { readonly [key: string]: JsonValue };
  /** The level logging/setLevel set, if any. */
  readonly logLevel?: string;
  /** The session its id-less tool calls use, once one was made. */
  readonly defaultSession?: string;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  /** The latest `now` any touch brought (never moves back). */
  readonly lastActivityAt: number;
  /** Claimed by the idle sweep once unused for longer than this. */
  readonly idleTimeoutMs: number;
}

export interface McpSessionLimits {
  /** MCP_MAX_CONNECTIONS: most MCP sessions in all. */
  readonly maxSessions: number;
  /** MCP_MAX_CONNECTIONS_PER_PRINCIPAL: most MCP sessions of one principal. */
  readonly maxSessionsPerPrincipal: number;
}

/** A new record, and the caps it must fit under. */
export interface McpSessionOpening {
  readonly record: Omit<McpSessionRecord, 'lastActivityAt'>;
  readonly limits: McpSessionLimits;
}

export type McpSessionAdmission =
  | { readonly admitted: true; readonly record: McpSessionRecord }
  /** A cap is reached: the whole server's (MCP_MAX_CONNECTIONS) or the principal's; `max` is that cap. */
  | { readonly admitted: false; readonly refused: 'server' | 'principal'; readonly max: number };

/** What may change on a record after `initialize`. */
export type McpSessionChanges = Partial<Pick<McpSessionRecord, 'logLevel' | 'defaultSession' | 'idleTimeoutMs'>>;

/**
 * The records of 2025-era MCP sessions (port), and the caps on them. Every change is atomic, also between replicas
 * sharing one store: an opening checks both caps and records the session in one step; each expired record goes to
 * exactly one sweeper; each record is ended by exactly one caller. Ids are minted unguessable and unique, so a
 * record is found by its id alone; the caller checks its principal.
 *
 * Backends: InMemoryMcpSessionRegistry (one process) and RedisMcpSessionRegistry (REDIS_URL). A backend that cannot be reached fails at once with
 * REGISTRY_UNAVAILABLE, never queues a change for later.
 */
export abstract class McpSessionRegistry {
  /** Records a new MCP session when both caps allow it; the principal's cap is said first when both are reached. */
  abstract open(opening: McpSessionOpening): Promise<McpSessionAdmission>;

  /** The record of that id, if it exists. Changes nothing. */
  abstract get(id: string): Promise<McpSessionRecord | undefined>;

  /** Marks the record used at `now` (its idle time starts again); undefined when there is none. */
  abstract touch(id: string, now: number): Promise<McpSessionRecord | undefined>;

  /** Changes a record (log level, default session, idle timeout); undefined when there is none. */
  abstract update(id: string, changes: McpSessionChanges): Promise<McpSessionRecord | undefined>;

  /** Removes the record; its record to the one caller that removed it, undefined to everyone else. */
  abstract end(id: string): Promise<McpSessionRecord | undefined>;

  /**
   * Removes and returns up to `limit` records unused for longer than their idle timeout at `now`, the longest
   * expired first. Each expired record goes to exactly one caller, however many replicas sweep at once.
   */
  abstract claimExpired(now: number, limit: number): Promise<McpSessionRecord[]>;

  /** When the first of the principal's records (or of all, without one) expires: its last use plus its idle timeout. */
  abstract soonestExpiry(principal?: string): Promise<number | undefined>;

  /** How many records there are in all. */
  abstract count(): Promise<number>;

  /** How many records the principal has. */
  abstract countOf(principal: string): Promise<number>;
}

/** Throws when an opening's numbers cannot be right: a programming error, not a user's. */
export function checkOpening({ record, limits }: McpSessionOpening): void {
  const numbers = [
    ['maxSessions', limits.maxSessions],
    ['maxSessionsPerPrincipal', limits.maxSessionsPerPrincipal],
    ['idleTimeoutMs', record.idleTimeoutMs],
    ['createdAt', record.createdAt],
  ] as const;
  for (const [name, n] of numbers) {
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`MCP session opening ${name} must be a whole number of at least 0, not ${n}`);
  }
  if (record.id === '' || record.principal === '') throw new Error('MCP session opening needs an id and a principal');
}

export const mcpSessionExpiry = (r: McpSessionRecord) => r.lastActivityAt + r.idleTimeoutMs;

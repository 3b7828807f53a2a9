import { defineScript, type CommandParser, type RedisScripts } from 'redis';
import type { FlatRecord } from './session-registry.scripts';

/**
 * The changes to 2025-era MCP session records on Redis, one Lua script each (atomic on the server, sent with
 * EVALSHA and loaded again after a Redis restart emptied the script cache; see session-registry.scripts.ts).
 *
 * Keys, under the registry's prefix and hash tag (docs/design/replicas-research.md 5.2):
 *   {prefix}mcp:s:{id}         hash: id, principal, protocolVersion, clientInfo and clientCapabilities (JSON),
 *                              createdAt, lastActivityAt, idleTimeoutMs, and logLevel, defaultSession once set
 *   {prefix}mcp:sessions       sorted set: id → expiry (lastActivityAt + idleTimeoutMs); its size is the count in
 *                              all (MCP_MAX_CONNECTIONS), its order the idle sweep's
 *   {prefix}mcp:p:{principal}  sorted set: the principal's ids, scored the same; its size is the principal's count
 *                              (MCP_MAX_CONNECTIONS_PER_PRINCIPAL), its first the principal's next expiry
 * The principal stands in the key as it is: it ends the key, so nothing needs escaping. Nothing here has a TTL:
 * the idle sweep (claim) removes a record with its index entries, and hands it to the one sweeper that ends what
 * it held.
 */

const strings = (reply: unknown): string[] => (Array.isArray(reply) ? reply.map(String) : []);
const nested = (reply: unknown): FlatRecord[] => (Array.isArray(reply) ? reply.map(strings) : []);

/** Lua: removes one record and its index entries; returns what it held (empty when there was none). */
const REMOVE = `
local function remove(prefix, sessions, key, id)
  local rec = redis.call('HGETALL', key)
  if #rec == 0 then return rec end
  redis.call('ZREM', prefix .. 'mcp:p:' .. redis.call('HGET', key, 'principal'), id)
  redis.call('ZREM', sessions, id)
  redis.call('DEL', key)
  return rec
end
`;

/**
 * KEYS: record, sessions, the principal's set. ARGV: maxSessions, maxPerPrincipal, then the record's fields and
 * values. The principal's cap is said first when both are reached.
 */
const OPEN = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 'exists' end
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[2]) then return 'principal' end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[1]) then return 'server' end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
local id = redis.call('HGET', KEYS[1], 'id')
local expiry = tonumber(redis.call('HGET', KEYS[1], 'lastActivityAt')) + tonumber(redis.call('HGET', KEYS[1], 'idleTimeoutMs'))
redis.call('ZADD', KEYS[2], expiry, id)
redis.call('ZADD', KEYS[3], expiry, id)
return 'admitted'`;

/**
 * KEYS: record, sessions. ARGV: prefix, now (or '' for none), then fields and values to set (or none). Marks use
 * (activity never moves back) and applies the changes, re-scoring the record's expiry in both indexes. The record
 * after it, or empty when there is none.
 */
const CHANGE = `
local last = redis.call('HGET', KEYS[1], 'lastActivityAt')
if not last then return {} end
if ARGV[2] ~= '' and tonumber(ARGV[2]) > tonumber(last) then redis.call('HSET', KEYS[1], 'lastActivityAt', ARGV[2]) end
if #ARGV > 2 then redis.call('HSET', KEYS[1], unpack(ARGV, 3)) end
local id = redis.call('HGET', KEYS[1], 'id')
local expiry = tonumber(redis.call('HGET', KEYS[1], 'lastActivityAt')) + tonumber(redis.call('HGET', KEYS[1], 'idleTimeoutMs'))
redis.call('ZADD', KEYS[2], expiry, id)
redis.call('ZADD', ARGV[1] .. 'mcp:p:' .. redis.call('HGET', KEYS[1], 'principal'), expiry, id)
return redis.call('HGETALL', KEYS[1])`;

/** KEYS: record, sessions. ARGV: prefix, id. The removed record, or empty: only one caller removes it. */
const END = REMOVE + `
return remove(ARGV[1], KEYS[2], KEYS[1], ARGV[2])`;

/**
 * KEYS: sessions. ARGV: now, limit, prefix. Removes and returns up to limit records whose expiry is before now,
 * the longest expired first.
 */
const CLAIM = REMOVE + `
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))) do
  local rec = remove(ARGV[3], KEYS[1], ARGV[3] .. 'mcp:s:' .. id, id)
  if #rec > 0 then out[#out + 1] = rec else redis.call('ZREM', KEYS[1], id) end
end
return out`;

type Script<Args extends unknown[], Reply> = RedisScripts[string] & {
  parseCommand(this: void, parser: CommandParser, ...args: Args): void;
  transformReply(this: void, reply: unknown): Reply;
};

export type McpOpenOutcome = 'admitted' | 'exists' | 'server' | 'principal';

/** The scripts, by the name the client calls them (client.mcpSessionOpen(...)). */
export interface McpSessionRegistryScripts extends RedisScripts {
  mcpSessionOpen: Script<[keys: [record: string, sessions: string, principalSet: string], args: string[]], McpOpenOutcome>;
  mcpSessionChange: Script<[keys: [record: string, sessions: string], args: string[]], FlatRecord>;
  mcpSessionEnd: Script<[keys: [record: string, sessions: string], args: [prefix: string, id: string]], FlatRecord>;
  mcpSessionClaim: Script<[sessions: string, args: [now: string, limit: string, prefix: string]], FlatRecord[]>;
}

function withKeys(parser: CommandParser, keys: string | readonly string[], args: readonly string[]): void {
  for (const k of typeof keys === 'string' ? [keys] : keys) parser.pushKey(k);
  parser.push(...args);
}

export const MCP_SESSION_REGISTRY_SCRIPTS: McpSessionRegistryScripts = {
  mcpSessionOpen: defineScript({
    SCRIPT: OPEN,
    NUMBER_OF_KEYS: 3,
    parseCommand: (parser: CommandParser, keys: [string, string, string], args: string[]) => withKeys(parser, keys, args),
    transformReply: (reply: unknown) => String(reply) as McpOpenOutcome,
  }),
  mcpSessionChange: defineScript({
    SCRIPT: CHANGE,
    NUMBER_OF_KEYS: 2,
    parseCommand: (parser: CommandParser, keys: [string, string], args: string[]) => withKeys(parser, keys, args),
    transformReply: strings,
  }),
  mcpSessionEnd: defineScript({
    SCRIPT: END,
    NUMBER_OF_KEYS: 2,
    parseCommand: (parser: CommandParser, keys: [string, string], args: [string, string]) => withKeys(parser, keys, args),
    transformReply: strings,
  }),
  mcpSessionClaim: defineScript({
    SCRIPT: CLAIM,
    NUMBER_OF_KEYS: 1,
    parseCommand: (parser: CommandParser, sessions: string, args: [string, string, string]) => withKeys(parser, sessions, args),
    transformReply: nested,
  }),
};

import { defineScript, type CommandParser, type RedisScripts } from 'redis';

/**
 * The session registry's changes on Redis, each one Lua script (atomic on the server: no lock, no retry loop),
 * sent with EVALSHA by node-redis, which loads the script again after a Redis restart emptied its cache.
 *
 * Keys (docs/design/replicas-research.md 5.2), all under one hash tag so every script's keys share a slot:
 *   {prefix}s:{ref}   hash: id, principal, kind, createdAt, lastActivityAt, idleTimeoutMs, owner ('' = none)
 *   {prefix}sessions  sorted set: ref → expiry (lastActivityAt + idleTimeoutMs); its size is the global count
 *   {prefix}p:{pp}    set: the principal's refs; its size is the per-principal count
 * where ref = pp + ':' + id and pp = the principal, URI-encoded (so it holds no ':' and a ref names one pair).
 * claim and list derive keys from the refs they read (same prefix, same hash tag, so the same slot).
 */

/** A reply of HGETALL inside Lua: field, value, field, value … (empty when the key does not exist). */
export type FlatRecord = string[];

const strings = (reply: unknown): string[] => (Array.isArray(reply) ? reply.map(String) : []);
const nested = (reply: unknown): FlatRecord[] => (Array.isArray(reply) ? reply.map(strings) : []);

/** KEYS: record, sessions, principal's set. ARGV: ref, id, principal, kind, now, idleTimeoutMs, owner, maxSessions, maxPerPrincipal. */
const ADMIT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 'exists' end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[8]) then return 'server' end
if redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[9]) then return 'principal' end
redis.call('HSET', KEYS[1], 'id', ARGV[2], 'principal', ARGV[3], 'kind', ARGV[4], 'createdAt', ARGV[5],
  'lastActivityAt', ARGV[5], 'idleTimeoutMs', ARGV[6], 'owner', ARGV[7])
redis.call('ZADD', KEYS[2], tonumber(ARGV[5]) + tonumber(ARGV[6]), ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
return 'admitted'`;

/** KEYS: record, sessions. ARGV: ref, now. The record after the touch, or nil. Activity never moves back. */
const TOUCH = `
local last = redis.call('HGET', KEYS[1], 'lastActivityAt')
if not last then return nil end
local now = tonumber(ARGV[2])
if now > tonumber(last) then
  redis.call('HSET', KEYS[1], 'lastActivityAt', ARGV[2])
  redis.call('ZADD', KEYS[2], now + tonumber(redis.call('HGET', KEYS[1], 'idleTimeoutMs')), ARGV[1])
end
return redis.call('HGETALL', KEYS[1])`;

/** KEYS: record, sessions, principal's set. ARGV: ref. The removed record, or nil: only one caller removes it. */
const END = `
local rec = redis.call('HGETALL', KEYS[1])
if #rec == 0 then return nil end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
return rec`;

/** KEYS: sessions. ARGV: now, limit, prefix. Removes and returns the records expired before now, longest expired first. */
const CLAIM = `
local refs = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, ref in ipairs(refs) do
  redis.call('ZREM', KEYS[1], ref)
  local key = ARGV[3] .. 's:' .. ref
  local rec = redis.call('HGETALL', key)
  if #rec > 0 then
    redis.call('DEL', key)
    redis.call('SREM', ARGV[3] .. 'p:' .. string.match(ref, '^([^:]*):'), ref)
    out[#out + 1] = rec
  end
end
return out`;

/** KEYS: principal's set. ARGV: prefix. The principal's records, in no order. */
const LIST = `
local out = {}
for _, ref in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local rec = redis.call('HGETALL', ARGV[1] .. 's:' .. ref)
  if #rec > 0 then out[#out + 1] = rec end
end
return out`;

/** One script as node-redis sees it: its arguments after the parser, and what its reply becomes. */
type Script<Args extends unknown[], Reply> = RedisScripts[string] & {
  parseCommand(this: void, parser: CommandParser, ...args: Args): void;
  transformReply(this: void, reply: unknown): Reply;
};

export type AdmitOutcome = 'admitted' | 'exists' | 'server' | 'principal';

/** The scripts, by the name the client calls them (client.sessionAdmit(...)); written out so declarations name only public types. */
export interface SessionRegistryScripts extends RedisScripts {
  sessionAdmit: Script<[keys: [string, string, string], args: string[]], AdmitOutcome>;
  sessionTouch: Script<[keys: [string, string], args: [ref: string, now: string]], FlatRecord>;
  sessionEnd: Script<[keys: [string, string, string], ref: string], FlatRecord>;
  sessionClaim: Script<[sessions: string, args: [now: string, limit: string, prefix: string]], FlatRecord[]>;
  sessionList: Script<[principalSet: string, prefix: string], FlatRecord[]>;
}

export const SESSION_REGISTRY_SCRIPTS: SessionRegistryScripts = {
  sessionAdmit: defineScript({
    SCRIPT: ADMIT,
    NUMBER_OF_KEYS: 3,
    parseCommand(parser: CommandParser, keys: [string, string, string], args: string[]) {
      for (const k of keys) parser.pushKey(k);
      parser.push(...args);
    },
    transformReply: (reply: unknown) => String(reply) as AdmitOutcome,
  }),
  sessionTouch: defineScript({
    SCRIPT: TOUCH,
    NUMBER_OF_KEYS: 2,
    parseCommand(parser: CommandParser, keys: [string, string], args: [ref: string, now: string]) {
      for (const k of keys) parser.pushKey(k);
      parser.push(...args);
    },
    transformReply: strings,
  }),
  sessionEnd: defineScript({
    SCRIPT: END,
    NUMBER_OF_KEYS: 3,
    parseCommand(parser: CommandParser, keys: [string, string, string], ref: string) {
      for (const k of keys) parser.pushKey(k);
      parser.push(ref);
    },
    transformReply: strings,
  }),
  sessionClaim: defineScript({
    SCRIPT: CLAIM,
    NUMBER_OF_KEYS: 1,
    parseCommand(parser: CommandParser, sessions: string, args: [now: string, limit: string, prefix: string]) {
      parser.pushKey(sessions);
      parser.push(...args);
    },
    transformReply: nested,
  }),
  sessionList: defineScript({
    SCRIPT: LIST,
    NUMBER_OF_KEYS: 1,
    parseCommand(parser: CommandParser, principalSet: string, prefix: string) {
      parser.pushKey(principalSet);
      parser.push(prefix);
    },
    transformReply: nested,
  }),
};

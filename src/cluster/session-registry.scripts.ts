import { defineScript, type CommandParser, type RedisScripts } from 'redis';

/**
 * The session registry's changes on Redis, each one Lua script (atomic on the server: no lock, no retry loop),
 * sent with EVALSHA by node-redis, which loads the script again after a Redis restart emptied its cache.
 *
 * Keys (docs/design/replicas-research.md 5.2), all under one hash tag so every script's keys share a slot:
 *   {prefix}s:{ref}   hash: id, principal, kind, createdAt, lastActivityAt, idleTimeoutMs, owner ('' = none),
 *                     and state = 'lost' once its owner is gone (then it expires after its idle timeout)
 *   {prefix}sessions  sorted set: ref → expiry (lastActivityAt + idleTimeoutMs); its size is the global count
 *   {prefix}p:{pp}    set: the principal's refs; its size is the per-principal count
 *   {prefix}o:{owner} set: the refs an owner (a replica's incarnation, id@epoch) holds the computers of
 *   {prefix}owners    set: the owners that hold any
 *   {prefix}cs:{computer}  string: the ref of the session whose record names that computer (field `computer`, a
 *                     remote computer's handle); ComputerClaims reads it (computer-claims.scripts.ts)
 * where ref = pp + ':' + id and pp = the principal, URI-encoded (so it holds no ':' and a ref names one pair).
 * Scripts derive keys from the refs and owners they read (same prefix, same hash tag, so the same slot).
 * An owner is alive while the replica directory's hash {prefix}replica:{id} names its epoch
 * (replica-directory.scripts.ts).
 */

/** Lua: whether an owner token (id@epoch) names a replica incarnation whose lease holds. */
export const ALIVE = `
local function alive(prefix, owner)
  local id, epoch = string.match(owner, '^(.+)@(%d+)$')
  if not id then return false end
  return redis.call('HGET', prefix .. 'replica:' .. id, 'epoch') == epoch
end
local function unbind(prefix, computer, ref)
  if computer and computer ~= '' and redis.call('GET', prefix .. 'cs:' .. computer) == ref then redis.call('DEL', prefix .. 'cs:' .. computer) end
end
local function disown(prefix, owner, ref)
  if not owner or owner == '' then return end
  redis.call('SREM', prefix .. 'o:' .. owner, ref)
  if redis.call('SCARD', prefix .. 'o:' .. owner) == 0 then redis.call('SREM', prefix .. 'owners', owner) end
end
`;

/** A reply of HGETALL inside Lua: field, value, field, value … (empty when the key does not exist). */
export type FlatRecord = string[];

const strings = (reply: unknown): string[] => (Array.isArray(reply) ? reply.map(String) : []);
const nested = (reply: unknown): FlatRecord[] => (Array.isArray(reply) ? reply.map(strings) : []);

/**
 * KEYS: record, sessions, principal's set. ARGV: ref, id, principal, kind, now, idleTimeoutMs, owner, maxSessions,
 * maxPerPrincipal, prefix. A lost session's record counts as existing: its id answers SESSION_LOST until ended.
 */
const ADMIT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 'exists' end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[8]) then return 'server' end
if redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[9]) then return 'principal' end
redis.call('HSET', KEYS[1], 'id', ARGV[2], 'principal', ARGV[3], 'kind', ARGV[4], 'createdAt', ARGV[5],
  'lastActivityAt', ARGV[5], 'idleTimeoutMs', ARGV[6], 'owner', ARGV[7])
redis.call('ZADD', KEYS[2], tonumber(ARGV[5]) + tonumber(ARGV[6]), ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
if ARGV[7] ~= '' then
  redis.call('SADD', ARGV[10] .. 'o:' .. ARGV[7], ARGV[1])
  redis.call('SADD', ARGV[10] .. 'owners', ARGV[7])
end
return 'admitted'`;

/** KEYS: record, sessions. ARGV: ref, now. The record after the touch, or nil (none, or lost). Activity never moves back. */
const TOUCH = `
local last = redis.call('HGET', KEYS[1], 'lastActivityAt')
if not last or redis.call('HGET', KEYS[1], 'state') == 'lost' then return nil end
local now = tonumber(ARGV[2])
if now > tonumber(last) then
  redis.call('HSET', KEYS[1], 'lastActivityAt', ARGV[2])
  redis.call('ZADD', KEYS[2], now + tonumber(redis.call('HGET', KEYS[1], 'idleTimeoutMs')), ARGV[1])
end
return redis.call('HGETALL', KEYS[1])`;

/** KEYS: record, sessions, principal's set. ARGV: ref, prefix. The removed record (a lost one too), or nil: only one caller removes it. */
const END = ALIVE + `
local rec = redis.call('HGETALL', KEYS[1])
if #rec == 0 then return nil end
disown(ARGV[2], redis.call('HGET', KEYS[1], 'owner'), ARGV[1])
unbind(ARGV[2], redis.call('HGET', KEYS[1], 'computer'), ARGV[1])
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
return rec`;

/**
 * KEYS: sessions. ARGV: now, limit, prefix, sweeper (an owner token, or '' for any). Removes and returns up to limit
 * records expired before now, longest expired first, that the sweeper may end: its own, ownerless ones, and those
 * of owners that are gone; another live owner's are left to it.
 */
const CLAIM = ALIVE + `
local refs = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
local out = {}
for _, ref in ipairs(refs) do
  if #out >= tonumber(ARGV[2]) then break end
  local key = ARGV[3] .. 's:' .. ref
  local owner = redis.call('HGET', key, 'owner')
  if ARGV[4] == '' or not owner or owner == '' or owner == ARGV[4] or not alive(ARGV[3], owner) then
    redis.call('ZREM', KEYS[1], ref)
    local rec = redis.call('HGETALL', key)
    if #rec > 0 then
      disown(ARGV[3], owner, ref)
      unbind(ARGV[3], redis.call('HGET', key, 'computer'), ref)
      redis.call('DEL', key)
      redis.call('SREM', ARGV[3] .. 'p:' .. string.match(ref, '^([^:]*):'), ref)
      out[#out + 1] = rec
    end
  end
end
return out`;

/**
 * KEYS: owners, sessions. ARGV: prefix, limit. Marks up to limit sessions of owners that are gone as lost: their
 * places are freed at once (out of the count and the principal's set), their records stay, marked, for their idle
 * timeout so that a call naming them hears SESSION_LOST. Returns the marked records.
 */
const MARK_LOST = ALIVE + `
local out = {}
for _, owner in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if #out >= tonumber(ARGV[2]) then break end
  if not alive(ARGV[1], owner) then
    for _, ref in ipairs(redis.call('SMEMBERS', ARGV[1] .. 'o:' .. owner)) do
      if #out >= tonumber(ARGV[2]) then break end
      local key = ARGV[1] .. 's:' .. ref
      redis.call('SREM', ARGV[1] .. 'o:' .. owner, ref)
      local timeout = redis.call('HGET', key, 'idleTimeoutMs')
      local computer = redis.call('HGET', key, 'computer')
      -- A session whose computer any replica can reach is not lost: it keeps its place and waits to be adopted.
      if timeout and not computer then
        redis.call('HSET', key, 'state', 'lost')
        redis.call('PEXPIRE', key, math.max(1, tonumber(timeout)))
        redis.call('ZREM', KEYS[2], ref)
        redis.call('SREM', ARGV[1] .. 'p:' .. string.match(ref, '^([^:]*):'), ref)
        out[#out + 1] = redis.call('HGETALL', key)
      end
    end
    if redis.call('SCARD', ARGV[1] .. 'o:' .. owner) == 0 then redis.call('SREM', KEYS[1], owner) end
  end
end
return out`;

/**
 * KEYS: record. ARGV: ref, owner, computer ('' = none), prefix. Records where the session's computer is while `owner`
 * holds it (and it is not lost). 1 when recorded, 0 otherwise.
 */
const ASSIGN = ALIVE + `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[2] or redis.call('HGET', KEYS[1], 'state') == 'lost' then return 0 end
unbind(ARGV[4], redis.call('HGET', KEYS[1], 'computer'), ARGV[1])
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], 'computer')
else
  redis.call('HSET', KEYS[1], 'computer', ARGV[3])
  redis.call('SET', ARGV[4] .. 'cs:' .. ARGV[3], ARGV[1])
end
return 1`;

/**
 * KEYS: record. ARGV: ref, owner, prefix. Hands a session whose owner is gone and which names a computer to `owner`;
 * its record after that, or nil.
 */
const ADOPT = ALIVE + `
local computer = redis.call('HGET', KEYS[1], 'computer')
if not computer or redis.call('HGET', KEYS[1], 'state') == 'lost' then return nil end
local old = redis.call('HGET', KEYS[1], 'owner')
if old and old ~= '' and alive(ARGV[3], old) then return nil end
disown(ARGV[3], old, ARGV[1])
redis.call('HSET', KEYS[1], 'owner', ARGV[2])
redis.call('SADD', ARGV[3] .. 'o:' .. ARGV[2], ARGV[1])
redis.call('SADD', ARGV[3] .. 'owners', ARGV[2])
return redis.call('HGETALL', KEYS[1])`;

/** KEYS: principal's set. ARGV: prefix. The principal's records, in no order. */
const LIST = `
local out = {}
for _, ref in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local rec = redis.call('HGETALL', ARGV[1] .. 's:' .. ref)
  if #rec > 0 then out[#out + 1] = rec end
end
return out`;

/** KEYS: sessions. ARGV: prefix. Every principal's records (not the lost ones, which are out of the sorted set), in no order. */
const LIST_ALL = `
local out = {}
for _, ref in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
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
  sessionEnd: Script<[keys: [string, string, string], args: [ref: string, prefix: string]], FlatRecord>;
  sessionClaim: Script<[sessions: string, args: [now: string, limit: string, prefix: string, sweeper: string]], FlatRecord[]>;
  sessionMarkLost: Script<[keys: [owners: string, sessions: string], args: [prefix: string, limit: string]], FlatRecord[]>;
  sessionAssign: Script<[record: string, args: [ref: string, owner: string, computer: string, prefix: string]], number>;
  sessionAdopt: Script<[record: string, args: [ref: string, owner: string, prefix: string]], FlatRecord>;
  sessionList: Script<[principalSet: string, prefix: string], FlatRecord[]>;
  sessionListAll: Script<[sessions: string, prefix: string], FlatRecord[]>;
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
    parseCommand(parser: CommandParser, keys: [string, string, string], args: [ref: string, prefix: string]) {
      for (const k of keys) parser.pushKey(k);
      parser.push(...args);
    },
    transformReply: strings,
  }),
  sessionClaim: defineScript({
    SCRIPT: CLAIM,
    NUMBER_OF_KEYS: 1,
    parseCommand(parser: CommandParser, sessions: string, args: [now: string, limit: string, prefix: string, sweeper: string]) {
      parser.pushKey(sessions);
      parser.push(...args);
    },
    transformReply: nested,
  }),
  sessionMarkLost: defineScript({
    SCRIPT: MARK_LOST,
    NUMBER_OF_KEYS: 2,
    parseCommand(parser: CommandParser, keys: [owners: string, sessions: string], args: [prefix: string, limit: string]) {
      for (const k of keys) parser.pushKey(k);
      parser.push(...args);
    },
    transformReply: nested,
  }),
  sessionAssign: defineScript({
    SCRIPT: ASSIGN,
    NUMBER_OF_KEYS: 1,
    parseCommand(parser: CommandParser, record: string, args: [ref: string, owner: string, computer: string, prefix: string]) {
      parser.pushKey(record);
      parser.push(...args);
    },
    transformReply: (reply: unknown) => Number(reply),
  }),
  sessionAdopt: defineScript({
    SCRIPT: ADOPT,
    NUMBER_OF_KEYS: 1,
    parseCommand(parser: CommandParser, record: string, args: [ref: string, owner: string, prefix: string]) {
      parser.pushKey(record);
      parser.push(...args);
    },
    transformReply: strings,
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
  sessionListAll: defineScript({
    SCRIPT: LIST_ALL,
    NUMBER_OF_KEYS: 1,
    parseCommand(parser: CommandParser, sessions: string, prefix: string) {
      parser.pushKey(sessions);
      parser.push(prefix);
    },
    transformReply: nested,
  }),
};

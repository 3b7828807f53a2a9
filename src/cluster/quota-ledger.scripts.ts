import { defineScript, type CommandParser, type RedisScripts } from 'redis';

/**
 * The quota ledger's changes on Redis, each one Lua script (atomic on the server), sent with EVALSHA by node-redis.
 *
 * Keys, under the registry's hash tag (redis-session-registry.ts REGISTRY_PREFIX) so every script's keys share a slot:
 *   {prefix}q:steps:h:{i}, q:tokens:h:{i}   sorted sets: principal → its steps / tokens in hour number i (since the epoch, UTC)
 *   {prefix}q:steps:d:{i}, q:tokens:d:{i}   the same for day number i
 *   {prefix}q:sum:h:{i}, q:sum:d:{i}        hashes: steps, tokens of all principals in that hour / day
 *   {prefix}q:t:{pp}                        sorted set: the principal's running task ids → lease expiry
 *   {prefix}q:tasks                         sorted set: pp ':' id → lease expiry, every principal's
 * where pp is the principal URI-encoded (so it holds no ':'). A window's keys expire WINDOW_GRACE_MS after the
 * window ends (the TTL each write sets); task sets expire a lease after their last write.
 */

const strings = (reply: unknown): string[] => (Array.isArray(reply) ? reply.map(String) : []);
const nested = (reply: unknown): string[][] => (Array.isArray(reply) ? reply.map(strings) : []);

/** Lua: drops the principal's tasks whose lease ran out by `now` from both task sets. */
const DROP_EXPIRED = `
local function dropExpired(mine, all, pp, now)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', mine, '-inf', now)) do
    redis.call('ZREM', mine, id)
    redis.call('ZREM', all, pp .. ':' .. id)
  end
end
`;

/**
 * KEYS: steps day, tokens day, steps hour, tokens hour (the order limits are checked in), sum day, sum hour.
 * ARGV: principal, the four limits in the same order (-1: none), ttl day, ttl hour (ms).
 * {} when the step is counted; {i, used, limit} when limit i is reached (nothing counted).
 */
const RESERVE_STEP = `
for i = 1, 4 do
  local limit = tonumber(ARGV[i + 1])
  if limit >= 0 then
    local used = tonumber(redis.call('ZSCORE', KEYS[i], ARGV[1]) or '0')
    if used >= limit then return {tostring(i), tostring(used), tostring(limit)} end
  end
end
redis.call('ZINCRBY', KEYS[1], 1, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('ZINCRBY', KEYS[3], 1, ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[7])
redis.call('HINCRBY', KEYS[5], 'steps', 1)
redis.call('PEXPIRE', KEYS[5], ARGV[6])
redis.call('HINCRBY', KEYS[6], 'steps', 1)
redis.call('PEXPIRE', KEYS[6], ARGV[7])
return {}`;

/** KEYS: tokens day, tokens hour, sum day, sum hour. ARGV: principal, tokens, ttl day, ttl hour. */
const ADD_TOKENS = `
redis.call('ZINCRBY', KEYS[1], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZINCRBY', KEYS[2], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('HINCRBY', KEYS[3], 'tokens', ARGV[2])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
redis.call('HINCRBY', KEYS[4], 'tokens', ARGV[2])
redis.call('PEXPIRE', KEYS[4], ARGV[4])
return 1`;

/**
 * KEYS: the principal's tasks, all tasks. ARGV: now, lease expiry, max (-1: none), lease ms, pp, ids…
 * {1, running} when all ids were recorded, {0, running} when they would be too many (nothing recorded).
 */
const START_TASKS = DROP_EXPIRED + `
dropExpired(KEYS[1], KEYS[2], ARGV[5], ARGV[1])
local running = redis.call('ZCARD', KEYS[1])
local max = tonumber(ARGV[3])
if max >= 0 and running + #ARGV - 5 > max then return {0, running} end
for i = 6, #ARGV do
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[i])
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[5] .. ':' .. ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return {1, redis.call('ZCARD', KEYS[1])}`;

/** KEYS: the principal's tasks, all tasks. ARGV: lease expiry, lease ms, pp, ids… Only tasks still recorded are renewed. */
const RENEW_TASKS = `
for i = 4, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', ARGV[1], ARGV[i])
  redis.call('ZADD', KEYS[2], 'XX', ARGV[1], ARGV[3] .. ':' .. ARGV[i])
end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return 1`;

/** KEYS: the principal's tasks, all tasks. ARGV: pp, ids… */
const END_TASKS = `
for i = 2, #ARGV do
  redis.call('ZREM', KEYS[1], ARGV[i])
  redis.call('ZREM', KEYS[2], ARGV[1] .. ':' .. ARGV[i])
end
return 1`;

/**
 * KEYS: steps day, tokens day, steps hour, tokens hour, the principal's tasks, all tasks. ARGV: principal, now, pp.
 * {steps day, tokens day, steps hour, tokens hour, running tasks}.
 */
const USAGE = DROP_EXPIRED + `
dropExpired(KEYS[5], KEYS[6], ARGV[3], ARGV[2])
local out = {}
for i = 1, 4 do out[i] = redis.call('ZSCORE', KEYS[i], ARGV[1]) or '0' end
out[5] = tostring(redis.call('ZCARD', KEYS[5]))
return out`;

/**
 * KEYS: steps day, tokens day, steps hour, tokens hour, sum day, sum hour, all tasks. ARGV: n, now, prefix.
 * {the top n of each count as member, score, … (4 lists)}, {steps day, tokens day, steps hour, tokens hour of all},
 * {every running task as pp:id}; tasks whose lease ran out are dropped first.
 */
const TOP = `
local out = {}
local n = tonumber(ARGV[1])
for i = 1, 4 do
  if n > 0 then out[i] = redis.call('ZREVRANGE', KEYS[i], 0, n - 1, 'WITHSCORES') else out[i] = {} end
end
out[5] = {
  redis.call('HGET', KEYS[5], 'steps') or '0', redis.call('HGET', KEYS[5], 'tokens') or '0',
  redis.call('HGET', KEYS[6], 'steps') or '0', redis.call('HGET', KEYS[6], 'tokens') or '0',
}
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[7], '-inf', ARGV[2])) do
  local pp, id = string.match(member, '^([^:]*):(.*)$')
  redis.call('ZREM', KEYS[7], member)
  if pp then redis.call('ZREM', ARGV[3] .. 'q:t:' .. pp, id) end
end
out[6] = redis.call('ZRANGE', KEYS[7], 0, -1)
return out`;

/** One script as node-redis sees it: its arguments after the parser, and what its reply becomes. */
type Script<Args extends unknown[], Reply> = RedisScripts[string] & {
  parseCommand(this: void, parser: CommandParser, ...args: Args): void;
  transformReply(this: void, reply: unknown): Reply;
};

/** The scripts, by the name the client calls them (client.quotaReserveStep(...)); written out so declarations name only public types. */
export interface QuotaLedgerScripts extends RedisScripts {
  quotaReserveStep: Script<[keys: string[], args: string[]], string[]>;
  quotaAddTokens: Script<[keys: string[], args: string[]], string[]>;
  quotaStartTasks: Script<[keys: string[], args: string[]], string[]>;
  quotaRenewTasks: Script<[keys: string[], args: string[]], string[]>;
  quotaEndTasks: Script<[keys: string[], args: string[]], string[]>;
  quotaUsage: Script<[keys: string[], args: string[]], string[]>;
  quotaTop: Script<[keys: string[], args: string[]], string[][]>;
}

/** A script over `keys` keys whose reply is `transform`ed. */
function script<Reply>(SCRIPT: string, NUMBER_OF_KEYS: number, transformReply: (reply: unknown) => Reply) {
  return defineScript({
    SCRIPT,
    NUMBER_OF_KEYS,
    parseCommand(parser: CommandParser, keys: string[], args: string[]) {
      if (keys.length !== NUMBER_OF_KEYS) throw new Error(`this script takes ${NUMBER_OF_KEYS} keys, not ${keys.length}`);
      for (const k of keys) parser.pushKey(k);
      parser.push(...args);
    },
    transformReply,
  });
}

export const QUOTA_LEDGER_SCRIPTS: QuotaLedgerScripts = {
  quotaReserveStep: script(RESERVE_STEP, 6, strings),
  quotaAddTokens: script(ADD_TOKENS, 4, strings),
  quotaStartTasks: script(START_TASKS, 2, strings),
  quotaRenewTasks: script(RENEW_TASKS, 2, strings),
  quotaEndTasks: script(END_TASKS, 2, strings),
  quotaUsage: script(USAGE, 6, strings),
  quotaTop: script(TOP, 7, nested),
};

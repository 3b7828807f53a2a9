import { defineScript, type CommandParser, type RedisScripts } from 'redis';
import type { FlatRecord } from './session-registry.scripts';

/**
 * The replica directory's changes on Redis, one Lua script each (see session-registry.scripts.ts for why).
 *
 * Keys, under the registry's prefix and hash tag:
 *   {prefix}replica:{id}  hash: id, epoch, startedAt, version, address; expires with the replica's lease (PEXPIRE)
 *   {prefix}replicas      set: the ids that joined (an id whose hash expired is dropped when listed)
 *   {prefix}epoch         counter: the last epoch handed out (INCR: every join gets a higher one)
 */

const strings = (reply: unknown): string[] => (Array.isArray(reply) ? reply.map(String) : []);
const nested = (reply: unknown): FlatRecord[] => (Array.isArray(reply) ? reply.map(strings) : []);

/** KEYS: replica hash, replicas set, epoch counter. ARGV: id, startedAt, version, leaseMs, address ('' = none). The new epoch. */
const JOIN = `
local epoch = redis.call('INCR', KEYS[3])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'epoch', epoch, 'startedAt', ARGV[2], 'version', ARGV[3], 'address', ARGV[5])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
redis.call('SADD', KEYS[2], ARGV[1])
return epoch`;

/** KEYS: replica hash. ARGV: epoch, leaseMs. 1 when the lease was this incarnation's and is extended, else 0. */
const RENEW = `
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1`;

/** KEYS: replica hash, replicas set. ARGV: id, epoch. Removes the lease only when it is this incarnation's. */
const LEAVE = `
if redis.call('HGET', KEYS[1], 'epoch') == ARGV[2] then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[2], ARGV[1])
end
return 0`;

/** KEYS: replicas set. ARGV: prefix. The live replicas' hashes; ids whose lease ran out leave the set. */
const LIST = `
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local rec = redis.call('HGETALL', ARGV[1] .. 'replica:' .. id)
  if #rec == 0 then redis.call('SREM', KEYS[1], id) else out[#out + 1] = rec end
end
return out`;

type Script<Args extends unknown[], Reply> = RedisScripts[string] & {
  parseCommand(this: void, parser: CommandParser, ...args: Args): void;
  transformReply(this: void, reply: unknown): Reply;
};

export interface ReplicaDirectoryScripts extends RedisScripts {
  replicaJoin: Script<[keys: [string, string, string], args: [id: string, startedAt: string, version: string, leaseMs: string, address: string]], number>;
  replicaRenew: Script<[replica: string, args: [epoch: string, leaseMs: string]], boolean>;
  replicaLeave: Script<[keys: [string, string], args: [id: string, epoch: string]], void>;
  replicaList: Script<[replicas: string, prefix: string], FlatRecord[]>;
}

function withKeys(parser: CommandParser, keys: string | readonly string[], args: readonly string[]): void {
  for (const k of typeof keys === 'string' ? [keys] : keys) parser.pushKey(k);
  parser.push(...args);
}

export const REPLICA_DIRECTORY_SCRIPTS: ReplicaDirectoryScripts = {
  replicaJoin: defineScript({
    SCRIPT: JOIN,
    NUMBER_OF_KEYS: 3,
    parseCommand: (parser: CommandParser, keys: [string, string, string], args: [string, string, string, string, string]) => withKeys(parser, keys, args),
    transformReply: (reply: unknown) => Number(reply),
  }),
  replicaRenew: defineScript({
    SCRIPT: RENEW,
    NUMBER_OF_KEYS: 1,
    parseCommand: (parser: CommandParser, replica: string, args: [string, string]) => withKeys(parser, replica, args),
    transformReply: (reply: unknown) => Number(reply) === 1,
  }),
  replicaLeave: defineScript({
    SCRIPT: LEAVE,
    NUMBER_OF_KEYS: 2,
    parseCommand: (parser: CommandParser, keys: [string, string], args: [string, string]) => withKeys(parser, keys, args),
    transformReply: () => undefined,
  }),
  replicaList: defineScript({
    SCRIPT: LIST,
    NUMBER_OF_KEYS: 1,
    parseCommand: (parser: CommandParser, replicas: string, prefix: string) => withKeys(parser, replicas, [prefix]),
    transformReply: nested,
  }),
};

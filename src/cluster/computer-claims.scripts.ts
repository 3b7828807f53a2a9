import { defineScript, type CommandParser, type RedisScripts } from 'redis';
import { ALIVE } from './session-registry.scripts';

/**
 * ComputerClaims on Redis, each change one Lua script. Keys, under the registry's prefix and hash tag:
 *   {prefix}c:{handle}   hash: holder (an owner token, id@epoch), state (the provider's note, optional)
 * and it reads the registry's {prefix}cs:{handle} (the ref of the session whose record names the computer),
 * {prefix}s:{ref} and the replica directory's leases (session-registry.scripts.ts).
 */

/**
 * KEYS: claim. ARGV: holder, prefix, handle, adopting ('1' or '0'). Replies {'taken'} (free, or already the
 * holder's), {'taken', previous holder[, its state]} (from a holder that is gone), or {'held', holder}.
 */
const TAKE = ALIVE + `
local cur = redis.call('HGET', KEYS[1], 'holder')
if not cur or cur == ARGV[1] then
  redis.call('HSET', KEYS[1], 'holder', ARGV[1])
  return {'taken'}
end
if alive(ARGV[2], cur) then return {'held', cur} end
if ARGV[4] ~= '1' then
  local ref = redis.call('GET', ARGV[2] .. 'cs:' .. ARGV[3])
  if ref then
    local rec = ARGV[2] .. 's:' .. ref
    if redis.call('HGET', rec, 'computer') == ARGV[3] and redis.call('HGET', rec, 'state') ~= 'lost' then return {'held', cur} end
  end
end
redis.call('HSET', KEYS[1], 'holder', ARGV[1])
local state = redis.call('HGET', KEYS[1], 'state')
if state then return {'taken', cur, state} end
return {'taken', cur}`;

/** KEYS: claim. ARGV: holder, state. 1 when kept, 0 when the holder does not hold it. */
const KEEP = `
if redis.call('HGET', KEYS[1], 'holder') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2])
return 1`;

/** KEYS: claim. ARGV: holder. 1 when freed, 0 when the holder did not hold it. */
const RELEASE = `
if redis.call('HGET', KEYS[1], 'holder') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1`;

type Script<Args extends unknown[], Reply> = RedisScripts[string] & {
  parseCommand(this: void, parser: CommandParser, ...args: Args): void;
  transformReply(this: void, reply: unknown): Reply;
};

export interface ComputerClaimScripts extends RedisScripts {
  computerTake: Script<[claim: string, args: [holder: string, prefix: string, handle: string, adopting: string]], string[]>;
  computerKeep: Script<[claim: string, args: [holder: string, state: string]], number>;
  computerRelease: Script<[claim: string, holder: string], number>;
}

export const COMPUTER_CLAIM_SCRIPTS: ComputerClaimScripts = {
  computerTake: defineScript({
    SCRIPT: TAKE,
    NUMBER_OF_KEYS: 1,
    parseCommand(parser: CommandParser, claim: string, args: [holder: string, prefix: string, handle: string, adopting: string]) {
      parser.pushKey(claim);
      parser.push(...args);
    },
    transformReply: (reply: unknown) => (Array.isArray(reply) ? reply.map(String) : []),
  }),
  computerKeep: defineScript({
    SCRIPT: KEEP,
    NUMBER_OF_KEYS: 1,
    parseCommand(parser: CommandParser, claim: string, args: [holder: string, state: string]) {
      parser.pushKey(claim);
      parser.push(...args);
    },
    transformReply: (reply: unknown) => Number(reply),
  }),
  computerRelease: defineScript({
    SCRIPT: RELEASE,
    NUMBER_OF_KEYS: 1,
    parseCommand(parser: CommandParser, claim: string, holder: string) {
      parser.pushKey(claim);
      parser.push(holder);
    },
    transformReply: (reply: unknown) => Number(reply),
  }),
};

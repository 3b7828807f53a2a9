// Scratch: cost of one registry round trip (EVALSHA "touch" of a session record) on loopback, sequential.
import { createClient, defineScript } from 'redis';
const touch = defineScript({
  NUMBER_OF_KEYS: 2,
  SCRIPT: `local p = redis.call('HGET', KEYS[1], 'principal')
    if not p then return {err='SESSION_NOT_FOUND'} end
    if p ~= ARGV[1] then return {err='SESSION_NOT_FOUND'} end
    redis.call('HSET', KEYS[1], 'lastActivity', ARGV[2])
    redis.call('ZADD', KEYS[2], tonumber(ARGV[2]) + tonumber(redis.call('HGET', KEYS[1], 'idleMs')), ARGV[3])
    return redis.call('HGET', KEYS[1], 'owner')`,
  parseCommand(parser, rec, idx, principal, now, sid) { parser.pushKey(rec); parser.pushKey(idx); parser.push(principal, String(now), sid); },
  transformReply: undefined,
});
const c = createClient({ url: `redis://127.0.0.1:${process.argv[2]}`, scripts: { touch } });
await c.connect();
await c.hSet('cua:s:s1', { principal: 'alice', idleMs: '600000', owner: 'r1' });
console.log('touch returns owner:', await c.touch('cua:s:s1', 'cua:expiry', 'alice', Date.now(), 's1'), '; expiry index:', await c.zRangeWithScores('cua:expiry', 0, -1));
const n = 5000, t = [];
for (let i = 0; i < 200; i++) await c.touch('cua:s:s1', 'cua:expiry', 'alice', Date.now(), 's1');
for (let i = 0; i < n; i++) { const s = process.hrtime.bigint(); await c.touch('cua:s:s1', 'cua:expiry', 'alice', Date.now(), 's1'); t.push(Number(process.hrtime.bigint() - s) / 1000); }
t.sort((a, b) => a - b);
console.log(`touch script, ${n} sequential calls: p50 ${t[n / 2].toFixed(0)} µs, p99 ${t[Math.floor(n * 0.99)].toFixed(0)} µs`);
const m = new Map([['s1', { principal: 'alice' }]]), u = [];
for (let i = 0; i < n; i++) { const s = process.hrtime.bigint(); const r = m.get('s1'); r.lastActivity = Date.now(); u.push(Number(process.hrtime.bigint() - s) / 1000); }
u.sort((a, b) => a - b);
console.log(`in-memory Map touch: p50 ${u[n / 2].toFixed(2)} µs`);
await c.close();

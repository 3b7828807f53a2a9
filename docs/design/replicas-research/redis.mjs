// Scratch: node-redis 6.4 against a local redis-server 7.0: Lua script, WATCH/MULTI, pub/sub, server loss and return.
import { createClient, defineScript, WatchError } from 'redis';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

const port = Number(readFileSync('/tmp/redis-scratch/port', 'utf8'));
const t0 = Date.now();
const log = (...a) => console.log(`${String(Date.now() - t0).padStart(5)}ms`, ...a);

// Admit a session under a global and a per-principal cap, atomically. KEYS: all-set, principal-set, record. ARGV: id, principal, maxAll, maxPer, json
const admit = defineScript({
  NUMBER_OF_KEYS: 3,
  SCRIPT: `
    if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[3]) then return {err='SESSION_LIMIT global'} end
    if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[4]) then return {err='SESSION_LIMIT principal'} end
    redis.call('SADD', KEYS[1], ARGV[1]); redis.call('SADD', KEYS[2], ARGV[1])
    redis.call('HSET', KEYS[3], 'id', ARGV[1], 'principal', ARGV[2], 'record', ARGV[5])
    return redis.call('SCARD', KEYS[1])`,
  parseCommand(parser, all, per, rec, id, principal, maxAll, maxPer, json) {
    parser.pushKey(all); parser.pushKey(per); parser.pushKey(rec);
    parser.push(id, principal, String(maxAll), String(maxPer), json);
  },
  transformReply: undefined,
});

const client = createClient({ url: `redis://127.0.0.1:${port}`, scripts: { admit }, socket: { connectTimeout: 2000, reconnectStrategy: (n) => Math.min(2 ** n * 50, 500) } });
let rec = 0; for (const ev of ['connect', 'ready', 'end']) client.on(ev, () => log(`event ${ev}`)); client.on('reconnecting', () => { if (rec++ < 3) log('event reconnecting'); });
let errors = 0; client.on('error', (e) => { if (errors++ < 3) log(`event error: ${e.constructor.name}: ${e.message}`); });
await client.connect();
await client.flushAll();

// 1. Lua script through EVALSHA (node-redis sends EVALSHA and falls back to EVAL on NOSCRIPT)
for (let i = 1; i <= 4; i++) {
  try { log(`admit s${i}:`, await client.admit('cua:sessions', 'cua:principal:alice:sessions', `cua:session:s${i}`, `s${i}`, 'alice', 10, 3, '{}')); }
  catch (e) { log(`admit s${i} refused: ${e.constructor.name}: ${e.message}`); }
}
log('SCRIPT EXISTS for the admit script:', await client.sendCommand(['SCRIPT', 'EXISTS', admit.SHA1]), 'sha', admit.SHA1.slice(0, 12));

// 2. WATCH/MULTI optimistic transaction on an isolated connection; a concurrent write aborts it
const iso = client.duplicate();
iso.on('error', () => {});
await iso.connect();
await iso.watch('cua:session:s1');
await client.hSet('cua:session:s1', 'owner', 'replica-b'); // the concurrent writer
try { await iso.multi().hSet('cua:session:s1', 'owner', 'replica-a').exec(); log('MULTI committed (unexpected)'); }
catch (e) { log(`MULTI aborted: ${e instanceof WatchError ? 'WatchError' : e.constructor.name}: ${e.message}`); }
log('owner now:', await client.hGet('cua:session:s1', 'owner'));
await iso.close();

// 3. Pub/sub on a duplicate connection (cancellation fan-out)
const sub = client.duplicate();
sub.on('error', () => {});
sub.on('ready', () => log('sub event ready'));
await sub.connect();
await sub.subscribe('cua:cancel:replica-a', (msg) => log(`sub got: ${msg}`));
log('published to', await client.publish('cua:cancel:replica-a', JSON.stringify({ mcpSession: 'm1', requestId: 7 })), 'subscriber(s)');
await new Promise((r) => setTimeout(r, 100));

// 4. The server goes away (SIGKILL), then comes back on the same port
const noQueue = createClient({ url: `redis://127.0.0.1:${port}`, disableOfflineQueue: true });
noQueue.on('error', () => {});
await noQueue.connect();
const pid = Number(readFileSync('/tmp/redis-scratch/pid', 'utf8'));
process.kill(pid, 'SIGKILL');
log('redis-server killed');
await new Promise((r) => setTimeout(r, 300));
const pending = client.get('cua:session:s1').then((v) => log(`queued GET resolved after return: ${v}`), (e) => log(`queued GET rejected: ${e.constructor.name}: ${e.message}`));
await noQueue.get('x').then(() => log('noQueue GET ok?'), (e) => log(`GET with disableOfflineQueue rejected at once: ${e.constructor.name}: ${e.message}`));
log('client.isReady =', client.isReady, 'isOpen =', client.isOpen);
await new Promise((r) => setTimeout(r, 2500));
const again = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', '/tmp/redis-scratch'], { stdio: 'ignore', detached: false });
log(`redis-server restarted, pid ${again.pid}`);
await pending;
await new Promise((r) => setTimeout(r, 2500));
log('after restart: client.isReady =', client.isReady, 'data survived?', await client.exists('cua:sessions'));
log('admit after restart (script cache was lost too):', await client.admit('cua:sessions', 'cua:principal:bob:sessions', 'cua:session:t1', 't1', 'bob', 10, 3, '{}'));
log('publish after restart reaches', await client.publish('cua:cancel:replica-a', 'after-restart'), 'subscriber(s)');
await new Promise((r) => setTimeout(r, 200));
await sub.close(); await client.close(); await noQueue.close().catch(() => {});
again.kill('SIGTERM');

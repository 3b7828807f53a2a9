/*
 * Scale: up to 1,000 concurrent MCP sessions on the fake provider, each with its own computer,
 * held open while calls arrive at a fixed total rate spread over all of them. The server runs in
 * this process (its heap and RSS are measured here, after a GC when run with --expose-gc); the
 * clients run in a child process.
 */
import { NestFactory } from '@nestjs/core';
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { AppModule } from '../src/app.module';
import { Settings } from '../src/config/config.module';
import { percentile, table } from './stats';

const STEPS = (process.env.SCALE_STEPS ?? '10,100,1000').split(',').map(Number);
const RPS = Number(process.env.RPS ?? 50);
const MEASURE_MS = Number(process.env.MEASURE_MS ?? 5000);
const W = process.env.SCREEN_WIDTH ?? '320';
const H = process.env.SCREEN_HEIGHT ?? '240';

function memory() {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed / 1048576, rss: m.rss / 1048576 };
}

export async function main() {
  const max = Math.max(...STEPS);
  const config = Settings.load({
    ...process.env,
    COMPUTER_PROVIDER: 'fake',
    SCREEN_WIDTH: W,
    SCREEN_HEIGHT: H,
    MAX_SESSIONS: String(max + 10),
    POOL_MAX_SIZE: String(max + 10),
    // Every client is the anonymous principal: let it hold them all.
    MCP_MAX_CONNECTIONS: String(max + 10),
    MCP_MAX_CONNECTIONS_PER_PRINCIPAL: String(max + 10),
    POOL_MIN_WARM: '0',
    LOG_LEVEL: 'error',
  });
  const app = await NestFactory.create(AppModule.forRoot({ settings: config }), { bodyParser: false, logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  const url = `${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/mcp`;
  const child = fork(join(__dirname, 'scale-client.js'), [url], { stdio: 'inherit' });
  const replies: ((m: unknown) => void)[] = [];
  child.on('message', (m) => replies.shift()?.(m));
  const ask = <T>(msg: object) => new Promise<T>((resolve) => (replies.push(resolve as (m: unknown) => void), child.send(msg)));
  const base = memory();
  const rows: (string | number)[][] = [];
  let p99First = NaN;
  try {
    for (const n of STEPS) {
      const t0 = Date.now();
      await ask({ cmd: 'grow', to: n });
      process.stderr.write(`${n} sessions open (${Date.now() - t0} ms)\n`);
      const mem = memory();
      const { lat } = await ask<{ lat: number[] }>({ cmd: 'measure', rps: RPS, ms: MEASURE_MS });
      const p99 = percentile(lat, 0.99);
      if (n === STEPS[0]) p99First = p99;
      rows.push([String(n), percentile(lat, 0.5), p99, p99 / p99First, ((mem.heap - base.heap) / n) * 1024, ((mem.rss - base.rss) / n) * 1024, mem.heap, mem.rss]);
    }
  } finally {
    child.send({ cmd: 'stop' });
    await app.close();
  }
  console.log(`\nScale: open MCP sessions (each with a fake ${W}x${H} computer), ${RPS} calls/s spread over all of them for ${MEASURE_MS} ms (computer cursor_position)`);
  console.log(`heap ${(globalThis as { gc?: unknown }).gc ? 'after a forced GC' : 'without --expose-gc (noisier)'}; per-session figures are growth from the empty server divided by sessions\n`);
  table(['sessions', 'p50 ms', 'p99 ms', `p99 / p99 at ${STEPS[0]}`, 'heap KiB/session', 'RSS KiB/session', 'heap MiB', 'RSS MiB'], rows);
  console.log(`\ngoal: p99 at ${max} within 3x of p99 at ${STEPS[0]}\n`);
}

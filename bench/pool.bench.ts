/*
 * Warm vs cold session starts: N clients each open a session at the same moment and take a first
 * screenshot through MCP, against a pool that keeps N computers in stock (warm) and against one
 * that keeps none (cold). Run on the fake provider with a realistic start delay and on real Xvfb
 * desktops, all in one run.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../src/app.module';
import { Settings } from '../src/config/config.module';
import { ComputerPool } from '../src/pool/pool.module';
import { percentile, table } from './stats';

const N = Number(process.env.SESSIONS ?? 4);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const FAKE_DELAY = process.env.FAKE_CREATE_DELAY_MS ?? '500';

async function boot(env: Record<string, string>): Promise<{ app: INestApplication; url: URL }> {
  const config = Settings.load({ ...process.env, LOG_LEVEL: 'error', POOL_MAX_SIZE: String(N), MAX_SESSIONS: String(N), ...env });
  const app = await NestFactory.create(AppModule.forRoot({ settings: config }), { bodyParser: false, logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  return { app, url: new URL(`${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/mcp`) };
}

/** One round: N clients start sessions together; returns each one's time to first screenshot (ms). */
async function round(env: Record<string, string>, warm: boolean): Promise<number[]> {
  const { app, url } = await boot({ ...env, POOL_MIN_WARM: warm ? String(N) : '0' });
  try {
    const pool = app.get(ComputerPool);
    const deadline = Date.now() + 60_000;
    while (warm && pool.stats().idle < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const clients = await Promise.all(
      Array.from({ length: N }, async () => {
        const c = new Client({ name: 'bench', version: '1' });
        await c.connect(new StreamableHTTPClientTransport(url));
        return c;
      }),
    );
    const times = await Promise.all(
      clients.map(async (c) => {
        const t = process.hrtime.bigint();
        const r = (await c.callTool({ name: 'screenshot_cua', arguments: {} })) as { isError?: boolean };
        if (r.isError) throw new Error(`screenshot failed: ${JSON.stringify(r)}`);
        return Number(process.hrtime.bigint() - t) / 1e6;
      }),
    );
    await Promise.all(clients.map((c) => c.close()));
    return times;
  } finally {
    await app.close();
  }
}

export async function main() {
  const setups: [string, Record<string, string>][] = [
    [`fake, ${FAKE_DELAY} ms start`, { COMPUTER_PROVIDER: 'fake', FAKE_CREATE_DELAY_MS: FAKE_DELAY }],
    ['xvfb (real desktops)', { COMPUTER_PROVIDER: 'xvfb' }],
  ];
  const rows: (string | number)[][] = [];
  for (const [name, env] of setups) {
    const cold: number[] = [];
    const warm: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      cold.push(...(await round(env, false)));
      warm.push(...(await round(env, true)));
    }
    rows.push([name, percentile(cold, 0.5), percentile(cold, 0.95), percentile(warm, 0.5), percentile(warm, 0.95), percentile(cold, 0.5) / percentile(warm, 0.5)]);
  }
  console.log(`\n${N} sessions started together, time to first screenshot through MCP, ${ROUNDS} rounds (ms)\n`);
  table(['provider', 'cold p50', 'cold p95', 'warm p50', 'warm p95', 'cold / warm (p50)'], rows);
  console.log('\ngoal: warm at least 10x faster than cold on real desktops\n');
}

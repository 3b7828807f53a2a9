/*
 * Tasks: (1) run_multi_cua_tasks with 8 tasks on the scripted model with a fixed model latency,
 * concurrent=true against concurrent=false, pool of 8; (2) SIGTERM while 20 tasks run, against the
 * built server as its own process: results delivered, aborted, time to exit.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { NestFactory } from '@nestjs/core';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { AppModule } from '../src/app.module';
import { Settings } from '../src/config/config.module';
import { median, table } from './stats';

const STEP_MS = Number(process.env.STEP_MS ?? 100);

async function connect(url: URL | string) {
  const c = new Client({ name: 'bench', version: '1' });
  await c.connect(new StreamableHTTPClientTransport(new URL(url)));
  return c;
}

async function concurrency() {
  const config = Settings.load({
    ...process.env,
    COMPUTER_PROVIDER: 'fake',
    CUA_MODEL_NAME: 'scripted/bench',
    SCRIPTED_MODEL_STEP_MS: String(STEP_MS),
    POOL_MAX_SIZE: '8',
    POOL_MIN_WARM: '8',
    LOG_LEVEL: 'error',
  });
  const app = await NestFactory.create(AppModule.forRoot({ settings: config }), { bodyParser: false, logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  const url = new URL(`${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/mcp`);
  const tasks = Array.from({ length: 8 }, (_, i) => `task ${i}`);
  const times: Record<'seq' | 'conc', number[]> = { seq: [], conc: [] };
  try {
    for (let round = 0; round < 3; round++) {
      for (const concurrent of [false, true]) {
        const c = await connect(url);
        await c.callTool({ name: 'screenshot_cua', arguments: {} });
        await new Promise((r) => setTimeout(r, 200)); // let the stock refill
        const t = Date.now();
        const r = (await c.callTool({ name: 'run_multi_cua_tasks', arguments: { tasks, concurrent } }, undefined, { timeout: 120_000 })) as { isError?: boolean };
        if (r.isError) throw new Error(JSON.stringify(r).slice(0, 500));
        times[concurrent ? 'conc' : 'seq'].push(Date.now() - t);
        // End the MCP session (DELETE) so its computer goes back before the next round.
        await (c.transport as StreamableHTTPClientTransport).terminateSession();
        await c.close();
        await new Promise((r2) => setTimeout(r2, 300));
      }
    }
  } finally {
    await app.close();
  }
  const seq = median(times.seq);
  const conc = median(times.conc);
  console.log(`\nrun_multi_cua_tasks, 8 tasks, scripted model with ${STEP_MS} ms per step (4 steps), pool of 8, median of 3 (ms)\n`);
  table(['concurrent=false', 'concurrent=true', 'speed-up'], [[seq, conc, `${(seq / conc).toFixed(2)}x`]]);
  console.log('\ngoal: at least 6x\n');
}

async function drain() {
  const rows: (string | number)[][] = [];
  for (const [label, stepMs, graceMs] of [
    ['tasks shorter than the grace period', 400, 10_000],
    ['tasks longer than the grace period', 5_000, 1_000],
  ] as const) {
    const { CONTAINER_NAME: _c, ...env } = process.env;
    const proc = spawn(process.execPath, [join(__dirname, '..', '..', 'dist', 'main.js')], {
      env: { ...env, PORT: '0', COMPUTER_PROVIDER: 'fake', CUA_MODEL_NAME: 'scripted/bench', SCRIPTED_MODEL_STEP_MS: String(stepMs), SHUTDOWN_GRACE_MS: String(graceMs), MAX_SESSIONS: '20', POOL_MAX_SIZE: '21', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = once(proc, 'exit');
    let m: RegExpExecArray | null = null;
    for (let i = 0; i < 200 && !(m = /MCP endpoint: (\S+)/.exec(out)); i++) await new Promise((r) => setTimeout(r, 50));
    if (!m) throw new Error(`server did not start (run npm run build first):\n${out}`);
    const clients = await Promise.all(Array.from({ length: 20 }, () => connect(m[1])));
    const results = clients.map((c, i) =>
      (c.callTool({ name: 'run_cua_task', arguments: { task: `job ${i}` } }, undefined, { timeout: 120_000 }) as Promise<{ isError?: boolean }>).then(
        (r) => (r.isError ? 'error' : 'done'),
        () => 'lost',
      ),
    );
    // SIGTERM only once all 20 are running (every session is this principal's, so stats see them all).
    const watcher = await connect(m[1]);
    for (let i = 0; i < 200; i++) {
      const stats = (await watcher.callTool({ name: 'get_session_stats', arguments: {} })).structuredContent as { sessions: Record<string, { active_tasks: number }> };
      if (Object.values(stats.sessions).reduce((n, x) => n + x.active_tasks, 0) >= 20) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await watcher.close();
    const t0 = Date.now();
    proc.kill('SIGTERM');
    const outcome = await Promise.all(results);
    const [code] = (await exited) as [number | null];
    const exitMs = Date.now() - t0;
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    const released = [...out.matchAll(/(\d+) computer\(s\) released/g)].reduce((n, x) => n + Number(x[1]), 0);
    const count = (k: string) => outcome.filter((o) => o === k).length;
    rows.push([label, 20, count('done'), count('error'), count('lost'), exitMs, String(code), released]);
  }
  console.log('\nSIGTERM during 20 running tasks (built server, fake computers)\n');
  table(['case', 'tasks', 'finished', 'aborted (error result)', 'lost (no result)', 'exit ms', 'exit code', 'computers released'], rows);
  console.log('\ngoal: 0 lost results, every computer released\n');
}

export async function main() {
  await concurrency();
  await drain();
}

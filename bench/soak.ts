/*
 * Soak: sessions churn at a steady rate (connect, screenshot, act, a scripted task, cleanup,
 * disconnect) for SOAK_MS (default 10 minutes) while the server's RSS, heap, open file
 * descriptors, child processes and X displays are sampled. Ends with a verdict on growth and
 * exits 1 if anything grows. COMPUTER_PROVIDER defaults to xvfb (real desktops).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { NestFactory } from '@nestjs/core';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { AppModule } from '../src/app.module';
import { Settings } from '../src/config/config.module';
import { COMPUTER_SETTINGS } from '../src/computer/computer.settings';
import { median, table } from './stats';

const SOAK_MS = Number(process.env.SOAK_MS ?? 600_000);
const SAMPLE_MS = Number(process.env.SAMPLE_MS ?? Math.max(1000, SOAK_MS / 30));
const WORKERS = Number(process.env.WORKERS ?? 2);

function children(): number {
  let n = 0;
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid) n++;
    } catch {
      // gone
    }
  }
  return n;
}

function sample() {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return {
    rss: m.rss / 1048576,
    heap: m.heapUsed / 1048576,
    fds: readdirSync('/proc/self/fd').length,
    children: children(),
    displays: existsSync('/tmp/.X11-unix') ? readdirSync('/tmp/.X11-unix').length : 0,
  };
}

export async function main() {
  const config = Settings.load({ COMPUTER_PROVIDER: 'xvfb', CUA_MODEL_NAME: 'scripted/soak', LOG_LEVEL: 'error', ...process.env, POOL_MIN_WARM: process.env.POOL_MIN_WARM ?? '1' });
  const app = await NestFactory.create(AppModule.forRoot({ settings: config }), { bodyParser: false, logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  const url = new URL(`${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/mcp`);
  const end = Date.now() + SOAK_MS;
  let cycles = 0;
  let failures = 0;
  const reasons = new Set<string>();
  const worker = async (w: number) => {
    while (Date.now() < end) {
      const c = new Client({ name: `soak-${w}`, version: '1' });
      try {
        await c.connect(new StreamableHTTPClientTransport(url));
        const sid = `soak-${w}-${cycles}`;
        const results = [
          await c.callTool({ name: 'screenshot_cua', arguments: { session_id: sid } }),
          await c.callTool({ name: 'computer', arguments: { action: 'type', text: 'echo soak', session_id: sid, screenshot: false } }),
          await c.callTool({ name: 'run_cua_task', arguments: { task: 'soak task', session_id: sid } }),
          await c.callTool({ name: 'cleanup_session', arguments: { session_id: sid } }),
        ] as { isError?: boolean }[];
        const failed = results.find((r) => r.isError) as { content?: { text?: string }[] } | undefined;
        if (failed) {
          failures++;
          if (reasons.size < 5) reasons.add(failed.content?.[0]?.text?.slice(0, 200) ?? 'error');
        }
        cycles++;
      } catch (e) {
        failures++;
        if (reasons.size < 5) reasons.add(`client error: ${(e as Error).message.slice(0, 200)}`);
      } finally {
        // A well-behaved client ends its MCP session (DELETE); vanished ones are swept when idle.
        await (c.transport as StreamableHTTPClientTransport | undefined)?.terminateSession().catch(() => undefined);
        await c.close().catch(() => undefined);
      }
    }
  };
  const samples: ReturnType<typeof sample>[] = [sample()];
  const timer = setInterval(() => {
    samples.push(sample());
    const s = samples[samples.length - 1];
    process.stderr.write(`${Math.round((SOAK_MS - (end - Date.now())) / 1000)} s: ${cycles} cycles, rss ${s.rss.toFixed(0)} MiB, heap ${s.heap.toFixed(1)} MiB, fds ${s.fds}, children ${s.children}, displays ${s.displays}\n`);
  }, SAMPLE_MS);
  await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  clearInterval(timer);
  await new Promise((r) => setTimeout(r, 1000));
  samples.push(sample());
  await app.close();
  const after = sample();

  // Compare the middle third with the last third (the first third is warm-up).
  const third = Math.max(1, Math.floor(samples.length / 3));
  const mid = samples.slice(third, 2 * third);
  const last = samples.slice(-third);
  const rows: (string | number)[][] = [];
  let growing = false;
  for (const key of ['rss', 'heap', 'fds', 'children', 'displays'] as const) {
    const a = median(mid.map((s) => s[key]));
    const b = median(last.map((s) => s[key]));
    const limit = key === 'rss' || key === 'heap' ? a * 1.1 + 5 : a + 2;
    const grows = b > limit;
    growing ||= grows;
    rows.push([key, samples[0][key], a, b, grows ? 'GROWING' : 'flat']);
  }
  console.log(`\nSoak: ${WORKERS} workers, ${cycles} session cycles (${failures} failed) in ${Math.round(SOAK_MS / 1000)} s on ${config.get(COMPUTER_SETTINGS).provider}; ${samples.length} samples\n`);
  table(['measure', 'start', 'middle third (median)', 'last third (median)', 'verdict'], rows);
  console.log(`\nafter shutdown: children ${after.children}, displays ${after.displays}, fds ${after.fds}`);
  for (const r of reasons) console.log(`failure: ${r}`);
  console.log(`verdict: ${growing || failures ? 'NOT FLAT' : 'FLAT'}\n`);
  if (growing || failures) process.exitCode = 1;
}

/*
 * Benchmark of real desktops (COMPUTER_PROVIDER=xvfb), everything measured on the same display in
 * one run:
 *   - a screenshot as an MCP client sees it (screenshot_cua through the full server and a real SDK
 *     Client over Streamable HTTP), against the pipeline a user would script
 *     (`xwd -root | convert xwd:- png:-`) and against the raw in-process capture + PNG encode;
 *   - input through XTEST against `xdotool` with its default delays;
 *   - start to first screenshot for 8 computers started together.
 * Needs xwd (Debian x11-apps) and the real ImageMagick (Debian imagemagick: /usr/bin/convert).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { NestFactory } from '@nestjs/core';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { AppModule } from '../src/app.module';
import { AppConfig } from '../src/config/config.module';
import { ScreenshotService } from '../src/computer/computer.module';
import { XvfbComputer, XvfbComputerProvider } from '../src/computer/xvfb/xvfb-computer.module';
import { median, percentile, sample, table } from './stats';

const W = Number(process.env.SCREEN_WIDTH ?? 1280);
const H = Number(process.env.SCREEN_HEIGHT ?? 800);
const RUNS = Number(process.env.RUNS ?? 30);
const CONVERT = '/usr/bin/convert';

function sh(command: string, env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', ['-c', command], { env, encoding: 'buffer', maxBuffer: 64 << 20 }, (err, stdout) => {
      if (err) reject(new Error(`${command} failed: ${err.message}`));
      else resolve(stdout.length);
    });
  });
}

export async function main() {
  const missing = [!existsSync(CONVERT) && 'imagemagick', !existsSync('/usr/bin/xwd') && 'x11-apps', !existsSync('/usr/bin/xdotool') && 'xdotool'].filter(Boolean);
  if (missing.length) throw new Error(`The baselines need: apt-get install -y --no-install-recommends ${missing.join(' ')}`);

  const config = AppConfig.fromEnv({ ...process.env, COMPUTER_PROVIDER: 'xvfb', SCREEN_WIDTH: String(W), SCREEN_HEIGHT: String(H), LOG_LEVEL: 'error' });
  const app = await NestFactory.create(AppModule.forRoot({ config }), { bodyParser: false, logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  const url = new URL(`${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/mcp`);
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(url));
  const rows: (string | number)[][] = [];
  try {
    await client.callTool({ name: 'screenshot_cua', arguments: {} }); // leases the session's computer
    const [computer] = app.get(XvfbComputerProvider).openComputers();
    const env = { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', DISPLAY: `:${computer.display}`, XAUTHORITY: computer.xauthorityFile! };
    const screenshots = app.get(ScreenshotService);

    const xwd = await sample(RUNS, () => sh(`xwd -root -silent | ${CONVERT} xwd:- png:-`, env));
    const mcp = await sample(RUNS, () => client.callTool({ name: 'screenshot_cua', arguments: {} }));
    const raw = await sample(RUNS, () => screenshots.take(computer, 'png'));
    const row = (what: string, ms: number[]) => [what, median(ms), percentile(ms, 0.95), median(xwd) / median(ms), median(ms) / median(raw)];
    rows.push(row('xwd -root | convert xwd:- png:-', xwd), row('screenshot_cua through MCP (HTTP, SDK Client)', mcp), row('in-process capture + PNG encode', raw));
    console.log(`\nScreenshot ${W}x${H} PNG, same display, ${RUNS} runs each (ms)\n`);
    table(['path', 'p50', 'p95', 'xwd / this', 'this / raw'], rows);
    console.log('\ngoals: MCP at least 4x faster than xwd|convert; MCP within 1.5x of raw capture+encode');

    await inputBench(computer, env);
  } finally {
    await client.close();
    await app.close();
  }
  await startBench(config);
}

async function inputBench(c: XvfbComputer, env: Record<string, string>) {
  const xdo = (args: string) => sh(`xdotool ${args}`, env);
  let i = 0;
  const next = () => ({ x: Math.min(W - 1, 1000 + (i++ % 50)), y: Math.min(H - 1, 600) });
  const rows: (string | number)[][] = [];
  const row = async (what: string, base: () => Promise<unknown>, ours: () => Promise<unknown>, pauseMs = 0) => {
    const b = median(await sample(RUNS, base, pauseMs));
    const o = median(await sample(RUNS, ours, pauseMs));
    rows.push([what, b, o, b / o]);
  };
  await row('mouse move', () => xdo(`mousemove ${1000 + (i++ % 50)} 600`), () => c.moveMouse(next()));
  // Our click spaces out clicks closer than the double-click time; pause so neither side waits on that.
  await row('left click', () => xdo('click 1'), () => c.click(next(), 'left', 1), 600);
  await row('key chord ctrl+e', () => xdo('key ctrl+e'), () => c.pressKeys(['Control_L', 'e']));
  await row('type "hello"', () => xdo('type hello'), () => c.typeText('hello'));
  await row('type "é€中" (outside the keymap)', () => xdo('type é€中'), () => c.typeText('é€中'));
  await c.pressKeys(['Control_L', 'u']);
  console.log(`\nInput, ${RUNS} runs each, median ms (xdotool with its default delays vs XTEST in-process)\n`);
  table(['action', 'xdotool', 'XTEST', 'speed-up'], rows);
}

async function startBench(config: AppConfig) {
  const n = Number(process.env.START_COUNT ?? 8);
  const provider = new XvfbComputerProvider(config);
  const screenshots = new ScreenshotService(config);
  const t0 = Date.now();
  const started: XvfbComputer[] = [];
  const times = await Promise.all(
    Array.from({ length: n }, async () => {
      const t = Date.now();
      const c = await provider.create({});
      started.push(c);
      await screenshots.take(c, 'png');
      return Date.now() - t;
    }),
  );
  const wall = Date.now() - t0;
  await Promise.all(started.map((c) => c.close()));
  console.log(`\nStart → first screenshot, ${n} computers started together on ${cpus().length} cores (ms)\n`);
  table(['computers', 'p50', 'max', 'all done'], [[String(n), median(times), Math.max(...times), wall]]);
  console.log('\ngoal: under 1000 ms for 8 computers\n');
}

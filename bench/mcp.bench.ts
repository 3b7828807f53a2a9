/*
 * MCP overhead: the same tool calls through the full server and through a minimal server built
 * with the bare MCP SDK, with the same client (this process), in the same run. Every server runs in
 * its own process (bench/mcp-server.ts says exactly what each does); the client alternates between
 * them in short blocks so drift on a shared machine hits all alike. Calls: a trivial one
 * (list_sessions vs a tool returning the same text, same empty input schema) and a screenshot of a
 * fake 1280x800 screen (same capture and encode). Both sides answer in SSE mode (the SDK default;
 * no enableJsonResponse), and log nothing at LOG_LEVEL=error.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { BENCH_API_KEY, type ServerKind } from './mcp-server';
import { percentile, table } from './stats';

const BLOCKS = Number(process.env.BLOCKS ?? 20);
const BLOCK = Number(process.env.BLOCK ?? 50);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 8);
const WINDOWS = Number(process.env.WINDOWS ?? 6);
const WINDOW_MS = Number(process.env.WINDOW_MS ?? 1000);

const SERVERS: { kind: ServerKind; what: string }[] = [
  { kind: 'bare', what: 'bare SDK' },
  { kind: 'ours', what: 'ours' },
  { kind: 'ours-json', what: 'ours, LOG_FORMAT=json' },
  { kind: 'ours-keys', what: 'ours, API_KEYS set' },
  { kind: 'ours-traced', what: 'ours, tracing on (OTLP/HTTP)' },
];

/** Where `ours-traced` sends its spans: an OTLP/HTTP receiver in this process that answers 200 and keeps nothing. */
async function otlpSink(): Promise<{ url: string; close: () => void }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

async function start(kind: ServerKind, sink: string): Promise<{ url: URL; proc: ChildProcess }> {
  const { CONTAINER_NAME: _c, ...env } = process.env;
  const proc = fork(join(__dirname, 'mcp-server.js'), [kind, sink], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [msg] = (await once(proc, 'message')) as [{ port: number }];
  return { url: new URL(`http://127.0.0.1:${msg.port}/mcp`), proc };
}

/** The server process's CPU time so far (µs). */
async function cpuOf(proc: ChildProcess): Promise<number> {
  const reply = once(proc, 'message') as Promise<[{ cpu: number }]>;
  proc.send('cpu');
  return (await reply)[0].cpu;
}

async function connect(url: URL) {
  // Every client sends the key; only the ours-keys server checks it.
  const c = new Client({ name: 'bench', version: '1' });
  await c.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers: { Authorization: `Bearer ${BENCH_API_KEY}` } } }));
  return c;
}

const rotate = <T>(xs: T[], by: number) => xs.map((_, i) => xs[(i + by) % xs.length]);

/** Sequential latency: one client per server, BLOCKS blocks of BLOCK calls, servers taking turns. */
async function latency(urls: URL[], tool: string): Promise<number[][]> {
  const clients = await Promise.all(urls.map(connect));
  const call = (c: Client) => c.callTool({ name: tool, arguments: {} });
  for (const c of clients) for (let i = 0; i < 30; i++) await call(c); // warm-up (and the session's computer)
  const lat: number[][] = urls.map(() => []);
  for (let b = 0; b < BLOCKS; b++) {
    for (const i of rotate([...urls.keys()], b)) {
      for (let k = 0; k < BLOCK; k++) {
        const t = process.hrtime.bigint();
        await call(clients[i]);
        lat[i].push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    }
  }
  await Promise.all(clients.map((c) => c.close()));
  return lat;
}

/** Throughput: CONCURRENCY clients per server calling back to back, WINDOWS windows each, servers taking turns. */
async function throughput(urls: URL[], tool: string): Promise<number[]> {
  const pools = await Promise.all(urls.map(async (u) => Promise.all(Array.from({ length: CONCURRENCY }, () => connect(u)))));
  for (const pool of pools) await Promise.all(pool.map((c) => c.callTool({ name: tool, arguments: {} })));
  const rps: number[][] = urls.map(() => []);
  for (let w = 0; w < WINDOWS; w++) {
    for (const i of rotate([...urls.keys()], w)) {
      let done = 0;
      const until = Date.now() + WINDOW_MS;
      await Promise.all(
        pools[i].map(async (c) => {
          while (Date.now() < until) {
            await c.callTool({ name: tool, arguments: {} });
            done++;
          }
        }),
      );
      rps[i].push(done / (WINDOW_MS / 1000));
    }
  }
  await Promise.all(pools.flat().map((c) => c.close()));
  return rps.map((xs) => percentile(xs, 0.5));
}

export async function main() {
  const sink = await otlpSink();
  const servers = await Promise.all(SERVERS.map((s) => start(s.kind, sink.url)));
  const urls = servers.map((s) => s.url);
  const rows: (string | number)[][] = [];
  try {
    for (const tool of ['list_sessions', 'screenshot_cua']) {
      const cpu0 = await Promise.all(servers.map((s) => cpuOf(s.proc)));
      const lat = await latency(urls, tool);
      const cpu = await Promise.all(servers.map(async (s, i) => ((await cpuOf(s.proc)) - cpu0[i]) / lat[i].length));
      const rps = await throughput(urls, tool);
      const p50 = lat.map((l) => percentile(l, 0.5));
      const p99 = lat.map((l) => percentile(l, 0.99));
      const what = tool === 'list_sessions' ? 'trivial call' : 'screenshot 1280x800 (fake)';
      SERVERS.forEach((s, i) => rows.push([what, s.what, p50[i], p99[i], cpu[i], rps[i], p50[i] / p50[0], p99[i] / p99[0], cpu[i] / cpu[0], rps[0] / rps[i]]));
    }
  } finally {
    for (const s of servers) s.proc.disconnect();
    sink.close();
  }
  console.log(
    `\nMCP overhead: each server in its own process, one client process, Streamable HTTP (SSE answers); ${BLOCKS}x${BLOCK} sequential calls ` +
      `in turns, then ${CONCURRENCY} clients in ${WINDOWS} windows of ${WINDOW_MS} ms in turns (ms; server CPU per sequential call in us, idle timers included; calls/s; x = this / bare, throughput bare / this)\n`,
  );
  table(['call', 'server', 'p50', 'p99', 'server CPU us/call', 'calls/s', 'p50 x', 'p99 x', 'CPU x', 'calls/s x'], rows);
  console.log('\ngoal: within 1.25x of the bare SDK\n');
}

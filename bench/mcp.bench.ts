/*
 * MCP overhead: the same tool calls through the full server and through a minimal server built
 * with the bare MCP SDK (one McpServer + Streamable HTTP transport per session, as the SDK
 * requires), with the same client, in the same run. Calls: a trivial one (list_sessions vs a tool
 * returning the same text) and a screenshot of a fake 1280x800 screen (same capture and encode).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { NestFactory } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { AppModule } from '../src/app.module';
import { AppConfig } from '../src/config/config.module';
import { FakeComputer, ScreenshotService } from '../src/computer/computer.module';
import { percentile, table } from './stats';

const CALLS = Number(process.env.CALLS ?? 400);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 8);
const THROUGHPUT_MS = Number(process.env.THROUGHPUT_MS ?? 3000);

/** The bare-SDK baseline: the least a correct multi-session Streamable HTTP server can do. */
async function bareServer(config: AppConfig): Promise<{ url: URL; close: () => Promise<void> }> {
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const shots = new ScreenshotService(config);
  const readBody = (req: IncomingMessage) =>
    new Promise<unknown>((resolve) => {
      let data = '';
      req.on('data', (d: Buffer) => (data += d.toString()));
      req.on('end', () => resolve(data ? JSON.parse(data) : undefined));
    });
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = req.method === 'POST' ? await readBody(req) : undefined;
      const sid = req.headers['mcp-session-id'] as string | undefined;
      let transport = sid ? transports.get(sid) : undefined;
      if (!transport) {
        const computer = new FakeComputer('bare', { width: config.computer.screenWidth, height: config.computer.screenHeight });
        const mcp = new McpServer({ name: 'bare', version: '1' });
        mcp.registerTool('list_sessions', { description: 'trivial' }, async () => ({ content: [{ type: 'text', text: 'You have no sessions.' }] }));
        mcp.registerTool('screenshot_cua', { description: 'screenshot' }, async () => {
          const shot = await shots.take(computer, 'png');
          return { content: [{ type: 'image', data: shot.data.toString('base64'), mimeType: shot.mimeType }, { type: 'text', text: 'session x: shot' }] };
        });
        const id = randomUUID();
        transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => id, onsessioninitialized: () => void transports.set(id, transport!) });
        await mcp.connect(transport);
      }
      await transport.handleRequest(req, res, body);
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: new URL(`http://127.0.0.1:${port}/mcp`), close: () => new Promise((r) => server.close(() => r())) };
}

async function measure(url: URL, tool: string) {
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(url));
  const call = () => client.callTool({ name: tool, arguments: {} });
  for (let i = 0; i < 20; i++) await call(); // warm-up (and the session's computer)
  const lat: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const t = process.hrtime.bigint();
    await call();
    lat.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  await client.close();
  // Throughput: CONCURRENCY clients calling back to back for THROUGHPUT_MS.
  const clients = await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      const c = new Client({ name: 'bench', version: '1' });
      await c.connect(new StreamableHTTPClientTransport(url));
      await c.callTool({ name: tool, arguments: {} });
      return c;
    }),
  );
  let done = 0;
  const until = Date.now() + THROUGHPUT_MS;
  await Promise.all(clients.map(async (c) => { while (Date.now() < until) { await c.callTool({ name: tool, arguments: {} }); done++; } }));
  await Promise.all(clients.map((c) => c.close()));
  return { p50: percentile(lat, 0.5), p99: percentile(lat, 0.99), rps: done / (THROUGHPUT_MS / 1000) };
}

export async function main() {
  const config = AppConfig.fromEnv({ ...process.env, COMPUTER_PROVIDER: 'fake', POOL_MIN_WARM: '0', MAX_SESSIONS: '100', POOL_MAX_SIZE: '100', LOG_LEVEL: 'error' });
  const app = await NestFactory.create(AppModule.forRoot({ config }), { bodyParser: false, logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  const ours = new URL(`${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/mcp`);
  const bare = await bareServer(config);
  const rows: (string | number)[][] = [];
  try {
    for (const tool of ['list_sessions', 'screenshot_cua']) {
      // Interleave so drift on a shared machine hits both sides alike.
      const b1 = await measure(bare.url, tool);
      const o1 = await measure(ours, tool);
      const b2 = await measure(bare.url, tool);
      const o2 = await measure(ours, tool);
      const b = { p50: (b1.p50 + b2.p50) / 2, p99: (b1.p99 + b2.p99) / 2, rps: (b1.rps + b2.rps) / 2 };
      const o = { p50: (o1.p50 + o2.p50) / 2, p99: (o1.p99 + o2.p99) / 2, rps: (o1.rps + o2.rps) / 2 };
      const what = tool === 'list_sessions' ? 'trivial call' : `screenshot ${config.computer.screenWidth}x${config.computer.screenHeight} (fake)`;
      rows.push([what, b.p50, o.p50, o.p50 / b.p50, b.p99, o.p99, o.p99 / b.p99, b.rps, o.rps, b.rps / o.rps]);
    }
  } finally {
    await bare.close();
    await app.close();
  }
  console.log(`\nMCP overhead: full server vs bare SDK, Streamable HTTP, ${CALLS} sequential calls, then ${CONCURRENCY} clients for ${THROUGHPUT_MS} ms (ms, calls/s)\n`);
  table(['call', 'bare p50', 'ours p50', 'x', 'bare p99', 'ours p99', 'x', 'bare/s', 'ours/s', 'x'], rows);
  console.log('\ngoal: within 1.25x of the bare SDK\n');
}

/*
 * A server for the MCP overhead benchmark, in its own process (forked by mcp.bench.ts), so the
 * client's work and each server's (and their process-wide costs, such as Node 20's promise hooks
 * for AsyncLocalStorage) stay apart. argv[2] names it:
 *
 * - `bare`: a minimal multi-session Streamable HTTP server on the bare SDK (one McpServer +
 *   transport per session, as the SDK requires; body read by hand and JSON.parse'd), with the same
 *   two tools, the same input schema and the same screenshot code; no auth, no logs, no metrics.
 * - `ours`: the full server (AppModule) with its production logger at LOG_LEVEL=error, pretty lines.
 * - `ours-json`: the same with LOG_FORMAT=json (JSON lines carry the request's ids: log context on).
 * - `ours-keys`: the same as `ours` with API_KEYS set (every call checks a Bearer key).
 * - `ours-traced`: the same as `ours` with tracing on: spans of every call exported over OTLP/HTTP to the
 *   sink whose URL is argv[3] (a receiver in the parent that answers 200 and keeps nothing).
 *
 * It sends `{ port }` to its parent once listening, `{ cpu }` (its CPU time in µs) when asked with
 * 'cpu', and exits when the parent disconnects.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { NestFactory } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import * as z from 'zod';
import { AppModule } from '../src/app.module';
import { AppLogger } from '../src/common/logger';
import { Settings } from '../src/config/config.module';
import { COMPUTER_SETTINGS } from '../src/computer/computer.settings';
import { LOG_SETTINGS } from '../src/common/log.settings';
import { FakeComputer, ScreenshotService } from '../src/computer/computer.module';

export const BENCH_API_KEY = 'bench-key-0123456789abcdef';
export type ServerKind = 'bare' | 'ours' | 'ours-json' | 'ours-keys' | 'ours-traced';

function configFor(kind: ServerKind, otlpSink?: string): Settings {
  return Settings.load({
    ...process.env,
    COMPUTER_PROVIDER: 'fake',
    POOL_MIN_WARM: '0',
    MAX_SESSIONS: '100',
    POOL_MAX_SIZE: '100',
    LOG_LEVEL: 'error',
    LOG_FORMAT: kind === 'ours-json' ? 'json' : 'pretty',
    ...(kind === 'ours-keys' ? { API_KEYS: `${BENCH_API_KEY}:bench` } : {}),
    ...(kind === 'ours-traced' && otlpSink ? { OTEL_EXPORTER_OTLP_ENDPOINT: otlpSink } : {}),
  });
}

async function bare(config: Settings): Promise<number> {
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const shots = new ScreenshotService(config.get(COMPUTER_SETTINGS));
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
        const computer = new FakeComputer('bare', { width: config.get(COMPUTER_SETTINGS).screenWidth, height: config.get(COMPUTER_SETTINGS).screenHeight });
        const mcp = new McpServer({ name: 'bare', version: '1' });
        const noArgs = z.object({}).strict();
        mcp.registerTool('list_sessions', { description: 'trivial', inputSchema: noArgs }, async () => ({ content: [{ type: 'text', text: 'You have no sessions.' }] }));
        mcp.registerTool('screenshot_cua', { description: 'screenshot', inputSchema: noArgs }, async () => {
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
  return (server.address() as AddressInfo).port;
}

async function ours(config: Settings): Promise<number> {
  const app = await NestFactory.create(AppModule.forRoot({ settings: config }), { bodyParser: false, logger: new AppLogger(config.get(LOG_SETTINGS).level, false, config.get(LOG_SETTINGS).format) });
  await app.listen(0, '127.0.0.1');
  return (app.getHttpServer().address() as AddressInfo).port;
}

async function serve() {
  const kind = process.argv[2] as ServerKind;
  const config = configFor(kind, process.argv[3]);
  const port = kind === 'bare' ? await bare(config) : await ours(config);
  process.send?.({ port });
  // The parent asks for this process's CPU time (user + system, µs) around its measurements.
  process.on('message', (m) => m === 'cpu' && process.send?.({ cpu: process.cpuUsage().user + process.cpuUsage().system }));
  process.on('disconnect', () => process.exit(0));
}

if (require.main === module) {
  serve().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}

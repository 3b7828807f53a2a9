import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import sharp from 'sharp';
import { WebSocket } from 'ws';
import { AppModule } from '../../src/app.module';
import { Settings } from '../../src/config/config.module';
import { LOG_SETTINGS } from '../../src/common/log.settings';
import { AppLogger } from '../../src/common/logger';
import { decodeFakeText, FakeComputerProvider } from '../../src/computer/computer.module';

export interface TestApp {
  app: INestApplication;
  url: string;
  fake: FakeComputerProvider;
  clients: Client[];
  /** A new MCP client over Streamable HTTP; with `key`, it sends that API key as its principal's. */
  connect(name?: string, key?: string): Promise<Client>;
  close(): Promise<void>;
}

/**
 * Boots the real app (fake computers and the scripted model unless env says otherwise) on a free loopback port (or env.PORT).
 * `overrides` replace providers by their token, e.g. a registry several apps share, as replicas share one.
 */
export async function startApp(env: Record<string, string> = {}, imports: ModuleMetadata['imports'] = [], overrides: [token: unknown, value: unknown][] = []): Promise<TestApp> {
  // No warm stock unless a test asks for it, so counts of computers are exact. No desktop network
  // unless a test asks for it either: no test's desktop may reach past this machine.
  const settings = Settings.load({ COMPUTER_PROVIDER: 'fake', COMPUTER_NETWORK: 'off', CUA_MODEL_NAME: 'scripted/demo', POOL_MIN_WARM: '0', SCREEN_WIDTH: '640', SCREEN_HEIGHT: '400', LOG_LEVEL: 'error', ...env });
  let builder = Test.createTestingModule({ imports: [AppModule.forRoot({ settings, imports })] });
  for (const [token, value] of overrides) builder = builder.overrideProvider(token).useValue(value);
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication({ bodyParser: false, logger: new AppLogger(settings.get(LOG_SETTINGS).level, true) });
  await app.listen(Number(env.PORT ?? 0), '127.0.0.1'); // PORT: tests that must know the address before the start (OAuth's resource)
  const url = `${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/mcp`;
  const clients: Client[] = [];
  let closed = false;
  return {
    app,
    url,
    fake: app.get(FakeComputerProvider),
    clients,
    async connect(name = 'e2e', key?: string) {
      const client = new Client({ name, version: '1.0.0' });
      const headers = key ? { Authorization: `Bearer ${key}` } : undefined;
      await client.connect(new StreamableHTTPClientTransport(new URL(url), headers ? { requestInit: { headers } } : undefined));
      clients.push(client);
      return client;
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await app.close();
    },
  };
}

export function textOf(r: CallToolResult | { content?: unknown }): string {
  return ((r.content ?? []) as CallToolResult['content'])
    .filter((c) => c.type === 'text')
    .map((c) => (c as { text: string }).text)
    .join('\n');
}

export function imagesOf(r: CallToolResult | { content?: unknown }) {
  return ((r.content ?? []) as CallToolResult['content']).filter((c) => c.type === 'image') as { type: 'image'; data: string; mimeType: string }[];
}

/** Decodes the text a fake computer's screen shows, from a tool result's first image. */
export async function fakeScreenText(r: CallToolResult | { content?: unknown }): Promise<string> {
  const img = imagesOf(r)[0];
  if (!img) throw new Error(`no image in result: ${textOf(r)}`);
  const { data, info } = await sharp(Buffer.from(img.data, 'base64')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return decodeFakeText(data, info.width, info.height);
}

/** The session id a screenshot_cua / computer result names ("session ses_...: ..."). */
export function sessionIdOf(r: CallToolResult | { content?: unknown }): string {
  const m = /session (\S+?)[:)]/.exec(textOf(r));
  if (!m) throw new Error(`no session id in: ${textOf(r)}`);
  return m[1];
}

export async function call(client: Client, name: string, args: Record<string, unknown> = {}, options?: Parameters<Client['callTool']>[2]) {
  return (await client.callTool({ name, arguments: args }, undefined, options)) as CallToolResult;
}

/** The HTTP status a WebSocket upgrade to `url` gets with these headers (101: accepted). */
export function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', (e) => reject(e));
  });
}

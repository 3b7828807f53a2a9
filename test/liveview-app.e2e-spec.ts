import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { WebSocket } from 'ws';
import { call, startApp, type TestApp, textOf } from './support/app';

const KEY_ALICE = 'key-alice-0123456789abcdef';
const KEY_BOB = 'key-bob-fedcba9876543210';
const APP_MIME = 'text/html;profile=mcp-app';
const APP_META = 'cua-mcp-server/live-view';

interface AppTicket {
  token: string;
  websocket: string;
  expires_at: string;
}

/**
 * The live view for a view outside this server's origin (a chat host's frame): its WebSocket
 * opens with a token of its own from the live_view result, once and from any Origin, and its
 * buttons are live_view_control calls over the principal's own MCP connection.
 */
describe('Live view as an MCP App', () => {
  let t: TestApp;
  afterEach(async () => t?.close());

  async function boot() {
    t = await startApp({ COMPUTER_PROVIDER: 'xvfb', DESKTOP_PROFILE: 'minimal', SCREEN_WIDTH: '800', SCREEN_HEIGHT: '600', API_KEYS: `${KEY_ALICE}:alice,${KEY_BOB}:bob` });
  }

  /** An MCP client that says it supports MCP Apps, as a chat host's would. */
  async function hostClient(key: string): Promise<Client> {
    const client = new Client({ name: 'test-host', version: '1.0.0' }, { capabilities: { extensions: { 'io.modelcontextprotocol/ui': { mimeTypes: [APP_MIME] } } } });
    await client.connect(new StreamableHTTPClientTransport(new URL(t.url), { requestInit: { headers: { Authorization: `Bearer ${key}` } } }));
    t.clients.push(client);
    return client;
  }

  const ticketOf = (r: CallToolResult) => (r._meta as Record<string, AppTicket>)[APP_META];

  it('a token works once on the WebSocket, from any Origin; the view reconnects with a new one until its session ends', async () => {
    await boot();
    const client = await hostClient(KEY_ALICE);
    const first = ticketOf(await call(client, 'live_view', { session_id: 'desk' }));
    // The app's frame has the host's sandbox origin, or an opaque one: either is accepted with a good token, once.
    expect(await upgradeStatus(`${first.websocket}?token=${first.token}`, { Origin: 'https://sandbox.host.example' })).toBe(101);
    expect(await upgradeStatus(`${first.websocket}?token=${first.token}`, { Origin: 'https://sandbox.host.example' })).toBe(403);
    // Without a token it is the page's WebSocket: its cookie and this server's own Origin, as before.
    expect(await upgradeStatus(first.websocket, { Origin: 'null' })).toBe(403);
    expect(await upgradeStatus(`${first.websocket}?token=made-up`, { Origin: 'null' })).toBe(403);

    // Another principal who learns the token cannot press the view's buttons with it.
    const bob = await hostClient(KEY_BOB);
    expect(textOf(await call(bob, 'live_view_control', { token: first.token, action: 'take' }))).toMatch(/^\[INVALID_ARGUMENT\] No live view goes by that token/);

    // The view, named by the token it opened with, gets a new one to reconnect with.
    const renewed = await call(client, 'live_view_control', { token: first.token, action: 'reconnect' });
    expect(renewed.structuredContent).toEqual({ session_id: 'desk', control: 'agent', running_tasks: 0, ended: false });
    const next = ticketOf(renewed);
    expect(next.token).not.toBe(first.token);
    expect(await upgradeStatus(`${next.websocket}?token=${next.token}`, { Origin: 'null' })).toBe(101);

    // Once the session has ended, the view is gone: no state, no new token.
    await call(client, 'cleanup_session', { session_id: 'desk' });
    const after = await call(client, 'live_view_control', { token: next.token, action: 'reconnect' });
    expect(textOf(after)).toMatch(/^\[INVALID_ARGUMENT\] No live view goes by that token/);
  });
});

/** The HTTP status a WebSocket upgrade to `url` gets with these headers (101: accepted). */
function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
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

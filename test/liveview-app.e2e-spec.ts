import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { chromium, type Browser, type FrameLocator, type Page } from 'playwright-core';
import { call, startApp, type TestApp, textOf, upgradeStatus } from './support/app';
import { startMcpAppHost, type McpAppHost } from './support/mcp-app-host';
import { findWord, readWords } from './support/ocr';
import { waitFor } from './support/wait-for';

const KEY_ALICE = 'key-alice-0123456789abcdef';
const KEY_BOB = 'key-bob-fedcba9876543210';
const APP_URI = 'ui://cua-mcp-server/live-view.html';
const APP_MIME = 'text/html;profile=mcp-app';
const APP_META = 'cua-mcp-server/live-view';

interface AppTicket {
  token: string;
  websocket: string;
  expires_at: string;
}

/**
 * The live view as an MCP App, in a real browser (Debian's chromium, driven by playwright-core)
 * against a real Xvfb desktop: `live_view` declares its `ui://` resource, the resource declares the
 * origins its page reaches, and a host page built on the extension's own AppBridge renders it in a
 * sandboxed frame at an opaque origin, under a policy made from those declarations alone. The app
 * shows the desktop, takes control and hands it back through the host, asks the host for
 * fullscreen, and its token works once.
 */
describe('Live view as an MCP App', () => {
  let t: TestApp;
  let host: McpAppHost;
  let browser: Browser;

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    host = await startMcpAppHost();
  });
  afterAll(async () => {
    await browser?.close();
    await host?.close();
  });
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

  const origin = () => new URL(t.url).origin;
  const ticketOf = (r: CallToolResult) => (r._meta as Record<string, AppTicket>)[APP_META];

  it('declares the UI of live_view and serves its resource with the MIME type and the origins the page reaches', async () => {
    await boot();
    const client = await hostClient(KEY_ALICE);

    const { tools } = await client.listTools();
    const liveView = tools.find((x) => x.name === 'live_view');
    expect(liveView?._meta).toMatchObject({ ui: { resourceUri: APP_URI } });
    // The view's buttons: a tool for the app, hidden from the model.
    expect(tools.find((x) => x.name === 'live_view_control')?._meta).toEqual({ ui: { resourceUri: APP_URI, visibility: ['app'] } });

    const csp = { resourceDomains: [origin()], connectDomains: [origin().replace(/^http/, 'ws')] };
    const { resources } = await client.listResources();
    expect(resources.find((r) => r.uri === APP_URI)).toMatchObject({ mimeType: APP_MIME, _meta: { ui: { csp } } });
    const { contents } = await client.readResource({ uri: APP_URI });
    expect(contents).toHaveLength(1);
    expect(contents[0]).toMatchObject({ uri: APP_URI, mimeType: APP_MIME, _meta: { ui: { csp, prefersBorder: true } } });
    const html = (contents[0] as { text: string }).text;
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).toContain(`<script type="module" src="${origin()}/live/assets/app.js"></script>`);
  });

  it('renders in a host, shows the desktop, takes control and hands it back through the host, and goes fullscreen; its token works once', async () => {
    await boot();
    const client = await hostClient(KEY_ALICE);
    const { contents } = await client.readResource({ uri: APP_URI });
    const resource = contents[0] as unknown as { text: string; _meta: { ui: { csp: unknown } } };

    // The model calls live_view; the host calls the tool and renders the app with its result.
    const toolInput = { session_id: 'desk' };
    const result = await call(client, 'live_view', toolInput);
    expect(result.isError).toBeFalsy();
    const ticket = ticketOf(result);
    expect(ticket.websocket).toMatch(new RegExp(`^${origin().replace(/^http/, 'ws')}/live/[A-Za-z0-9_-]{16}/ws$`));
    const link = (result.structuredContent as { url: string }).url;
    expect(link).not.toContain(ticket.token); // the app's token is its own: the link stays the person's

    const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('response', (r) => r.status() >= 400 && errors.push(`${r.status()} ${r.url()}`));
    await page.exposeFunction('hostCallTool', (params: { name: string; arguments?: Record<string, unknown> }) => client.callTool(params));
    await page.goto(host.url);
    await waitFor('the host page', () => page.evaluate(() => (globalThis as { hostReady?: boolean }).hostReady === true));
    await page.evaluate((args) => (globalThis as unknown as { renderApp(a: unknown): Promise<void> }).renderApp(args), {
      html: resource.text,
      csp: resource._meta.ui.csp,
      toolInput,
      toolResult: result,
    });
    const app = page.frameLocator('#app');
    await waitFor('the app to watch', async () => (await status(app)).startsWith('Watching'), 20_000).catch((e: Error) => {
      throw new Error(`${e.message}\nbrowser errors: ${errors.join('\n')}`);
    });
    expect(await app.locator('#session').innerText()).toBe('Session desk');

    // What the agent types appears in the app.
    await call(client, 'computer', { session_id: 'desk', action: 'type', text: 'echo appmarker\n' });
    await waitFor('the typed word in the app', async () => findWord(await frameWords(page), 'appmarker'), 15_000);

    // The app's token was spent by its WebSocket: replayed, from the app's (opaque) origin or none, it opens nothing.
    expect(await upgradeStatus(`${ticket.websocket}?token=${ticket.token}`, { Origin: 'null' })).toBe(403);
    expect(await upgradeStatus(`${ticket.websocket}?token=${ticket.token}`, {})).toBe(403);

    // Take control with the app's button: the host passes the call to the server over its MCP connection.
    await press(page, app, '#take');
    await waitFor('the app to say the person has control', async () => (await status(app)).startsWith('You have control'));
    expect(textOf(await call(client, 'computer', { session_id: 'desk', action: 'type', text: 'x' }))).toMatch(/^\[SESSION_UNDER_HUMAN_CONTROL\]/);
    await press(page, app, '#screen canvas');
    await page.keyboard.press('Control+C');
    await page.keyboard.type('touch /tmp/fromapp\n');
    await press(page, app, '#release');
    await waitFor('the app to watch again', async () => (await status(app)).startsWith('Watching'));
    await waitFor("the person's file", () => fileExists(client, 'fromapp'), 10_000);
    expect((await call(client, 'computer', { session_id: 'desk', action: 'key', text: 'ctrl+l' })).isError).toBeFalsy();

    // Fullscreen is asked of the host, which fills its window with the app.
    await press(page, app, '#fullscreen');
    await waitFor('the app in fullscreen', async () => (await app.locator('body').getAttribute('data-mode')) === 'fullscreen');
    const box = await page.locator('#app').boundingBox();
    expect(box).toMatchObject({ x: 0, y: 0, width: 1000, height: 800 });
    const log = await page.evaluate(() => (globalThis as unknown as { hostLog: string[] }).hostLog);
    expect(log).toEqual(expect.arrayContaining(['initialized', 'tools/call live_view_control take', 'tools/call live_view_control release', 'display-mode fullscreen']));

    // The link in the text still works for a person in a browser: the app did not use it.
    const person = await browser.newPage();
    await person.goto(link);
    await waitFor('the page to watch', async () => (await person.locator('#status').innerText()).startsWith('Watching'), 15_000);

    // Ending the session ends the app's view.
    await call(client, 'cleanup_session', { session_id: 'desk' });
    await waitFor('the app to say the view ended', async () => /ended/.test(await status(app)), 10_000);
    expect(errors).toEqual([]);
    await person.close();
    await page.close();
  });

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

const status = (app: FrameLocator) => app.locator('#status').innerText();
/** The words on the app's frame as the person sees it (an element screenshot inside a frame of an opaque origin fails in playwright). */
const frameWords = async (page: Page) => readWords(await page.locator('#app').screenshot(), { scale: 2 });

/**
 * Clicks an element of the app with the mouse, where the person sees it: its place in the frame
 * plus the frame's place in the page. (Playwright's own click and boxes do not work inside a frame
 * of an opaque origin; the mouse, like a person's, does.)
 */
async function press(page: Page, app: FrameLocator, selector: string): Promise<void> {
  const target = app.locator(selector);
  await target.waitFor({ state: 'visible' });
  const inFrame = await target.evaluate((el) => {
    const r = el.getBoundingClientRect();
    return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
  });
  const frame = await page.locator('#app').boundingBox();
  if (!frame) throw new Error('the app frame has no box');
  await page.mouse.click(frame.x + inFrame.x, frame.y + inFrame.y);
}

/** Whether a file exists in the session's /tmp, through run_command. */
async function fileExists(client: Client, name: string): Promise<boolean> {
  const r = await call(client, 'run_command', { session_id: 'desk', command: `test -e /tmp/${name} && echo yes || echo no` });
  return (r.structuredContent as { stdout: string }).stdout.trim() === 'yes';
}


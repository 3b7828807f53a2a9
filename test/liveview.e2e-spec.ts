import { readlinkSync } from 'node:fs';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { call, imagesOf, startApp, type TestApp, textOf, upgradeStatus } from './support/app';
import { findWord, readWords } from './support/ocr';
import { pidsNamed, xvfbPids } from './support/processes';
import { waitFor } from './support/wait-for';

/**
 * The live view in a real browser (Debian's chromium, driven by playwright-core) against real
 * Xvfb desktops: the page shows the desktop and follows what the agent does; a viewer's input
 * reaches the desktop only while it holds control; links work once; the grant cookie, the
 * WebSocket's Origin and the session's end are enforced by the server.
 */
describe('Live view in a browser', () => {
  let t: TestApp;
  let browser: Browser;
  let client: Client;

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  });
  afterAll(async () => browser?.close());
  afterEach(async () => t?.close());

  async function boot(env: Record<string, string> = {}, key?: string) {
    t = await startApp({ COMPUTER_PROVIDER: 'xvfb', DESKTOP_PROFILE: 'minimal', SCREEN_WIDTH: '800', SCREEN_HEIGHT: '600', ...env });
    client = await t.connect('e2e', key);
  }

  async function link(args: Record<string, unknown> = {}) {
    const r = await call(client, 'live_view', { session_id: 'desk', ...args });
    expect(r.isError).toBeFalsy();
    return r.structuredContent as { url: string; expires_at: string; session_id: string; control: boolean };
  }

  const status = (page: Page) => page.locator('#status').innerText();
  const canvasWords = async (page: Page) => readWords(await page.locator('#screen canvas').screenshot(), { scale: 2 });

  /** Whether a file exists in the session's /tmp, through run_command. */
  const fileExists = async (name: string) =>
    ((await call(client, 'run_command', { session_id: 'desk', command: `test -e /tmp/${name} && echo yes || echo no` })).structuredContent as { stdout: string }).stdout.trim() === 'yes';

  it('shows the desktop live, drops a watcher\'s input, lets a person take control (the computer tool is refused meanwhile) and hand back', async () => {
    await boot();
    const { url, expires_at } = await link();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/live\/[A-Za-z0-9_-]{16}\/\?token=[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(expires_at) - Date.now()).toBeLessThanOrEqual(60_000);

    const page = await browser.newPage({ viewport: { width: 1000, height: 750 } });
    await page.goto(url);
    await waitFor('the page to watch', async () => (await status(page)).startsWith('Watching'), 15_000);
    // The token has left the address bar.
    expect(page.url()).not.toContain('token');

    // What the agent types appears on the page.
    await call(client, 'computer', { session_id: 'desk', action: 'type', text: 'echo livemarker\n' });
    await waitFor('the typed word on the page', async () => findWord(await canvasWords(page), 'livemarker'), 15_000);
    // The page shows what a screenshot through MCP shows: the canvas, scaled back to the screen's
    // size, differs from the MCP screenshot by a grey level or so on average (scaling; measured
    // 1.2), while a black screen differs from it by over 200.
    const shot = imagesOf(await call(client, 'screenshot_cua', { session_id: 'desk' }))[0];
    const mcp = await pixels(Buffer.from(shot.data, 'base64'));
    const canvas = await pixels(await page.locator('#screen canvas').screenshot());
    const blank = await pixels(await sharp({ create: { width: 800, height: 600, channels: 3, background: '#000000' } }).png().toBuffer());
    expect(meanDifference(canvas, mcp)).toBeLessThan(8);
    expect(meanDifference(blank, mcp)).toBeGreaterThan(100);

    // A watcher types: nothing reaches the desktop (the page sends nothing, the server would drop it).
    await page.locator('#screen canvas').click();
    await page.keyboard.type(' ; touch /tmp/watcher\n');
    // And a page that sends raw RFB input on its own WebSocket (same cookie, same origin): dropped by the server.
    await page.evaluate(rawKeys, 'touch /tmp/rawinput\n');

    // Take control with the button: now the person's keys reach the desktop.
    await page.locator('#take').click();
    await waitFor('the page to say the person has control', async () => (await status(page)).startsWith('You have control'));
    const refused = await call(client, 'computer', { session_id: 'desk', action: 'type', text: 'x' });
    expect(textOf(refused)).toMatch(/^\[SESSION_UNDER_HUMAN_CONTROL\]/);
    await page.locator('#screen canvas').click();
    await page.keyboard.press('Control+C');
    await page.keyboard.type('touch /tmp/person\n');

    await page.locator('#release').click();
    await waitFor('the page to watch again', async () => (await status(page)).startsWith('Watching'));
    await waitFor('the person\'s file', () => fileExists('person'), 10_000);
    expect(await fileExists('watcher')).toBe(false);
    expect(await fileExists('rawinput')).toBe(false);
    // The agent has its desktop back.
    expect((await call(client, 'computer', { session_id: 'desk', action: 'key', text: 'ctrl+l' })).isError).toBeFalsy();
    await page.close();
  });

  it('a person who types the moment control is theirs loses no key: every key goes as a keysym, presses and releases pair', async () => {
    // noVNC sent plain KeyEvents until the first update said the server takes QEMU extended key events,
    // then switched; a key pressed before the switch and released after stayed down in the X server, and
    // its next press was lost (about one page in ten). The server's filter now keeps noVNC on keysyms.
    await boot();
    for (let i = 0; i < 5; i++) {
      const page = await browser.newPage({ viewport: { width: 1000, height: 750 } });
      await page.addInitScript(recordKeyMessages);
      await page.goto((await link({ control: true })).url);
      await waitFor('control', async () => (await status(page)).startsWith('You have control'), 15_000);
      await page.locator('#screen canvas').focus();
      const typed = `touch /tmp/typed${i}\n`;
      await page.keyboard.type(typed, { delay: 40 });
      await page.locator('#release').click();
      await waitFor('the page to watch again', async () => (await status(page)).startsWith('Watching'));
      await waitFor(`the file typed on page ${i}`, () => fileExists(`typed${i}`), 10_000);
      const kinds = await page.evaluate(() => (globalThis as unknown as KeyLog).keyMessages);
      // Each key pressed and released, every one a KeyEvent.
      expect(kinds).toEqual(Array.from({ length: 2 * typed.length }, () => 4));
      await page.close();
    }
  });

  it("a running run_cua_task pauses while the person holds control from the page's button, and goes on when they hand it back", async () => {
    // Six scripted steps (click, type, Return, click, type, answer), slow enough to take over in between.
    await boot({ SCRIPTED_MODEL_STEPS: '6', SCRIPTED_MODEL_STEP_MS: '400', PROGRESS_HEARTBEAT_MS: '200' });
    const page = await browser.newPage();
    await page.goto((await link()).url);
    await waitFor('the page to watch', async () => (await status(page)).startsWith('Watching'), 15_000);

    const progress: string[] = [];
    const task = call(client, 'run_cua_task', { task: 'hello', session_id: 'desk' }, { onprogress: (p) => void progress.push(p.message ?? '') });
    await waitFor('the agent to take its first step', () => progress.some((m) => /^step 1: /.test(m)), 15_000);
    await page.locator('#take').click();
    await waitFor('the task to say it paused', () => progress.some((m) => /^paused at step \d+: a person \(anonymous \(live view [0-9a-f]+\)\) has taken control/.test(m)), 10_000);
    const pausedAt = progress.length;
    await waitFor('two heartbeats while paused', () => progress.slice(pausedAt).filter((m) => /^paused for \d+ s/.test(m)).length >= 2, 10_000);
    expect(progress.slice(pausedAt).some((m) => /^step \d+: /.test(m))).toBe(false);

    await page.locator('#release').click();
    const result = await task;
    expect(result.isError).toBeFalsy();
    expect(progress.filter((m) => /^resumed at step \d+: control of the desktop was handed back/.test(m))).toHaveLength(1);
    await page.close();
  });

  it('a link works once; another principal\'s cookie and a foreign Origin are refused; ending the session closes the view', async () => {
    await boot({ API_KEYS: 'key-alice-0123456789abcdef:alice,key-bob-fedcba9876543210:bob' }, 'key-alice-0123456789abcdef');
    const bob = await t.connect('e2e', 'key-bob-fedcba9876543210');
    const first = await link();
    const page = await browser.newPage();
    await page.goto(first.url);
    await waitFor('the page to watch', async () => (await status(page)).startsWith('Watching'), 15_000);

    // The same link again, in another browser context (no cookie): refused.
    const other = await browser.newContext();
    const reused = await other.newPage();
    const again = await reused.goto(first.url);
    expect(again?.status()).toBe(403);
    expect(await reused.locator('h1').innerText()).toBe('This link no longer works');

    // The page's own cookie, sent to the WebSocket from a foreign origin: refused before any WebSocket exists.
    const [cookie] = await page.context().cookies();
    expect(cookie).toMatchObject({ name: 'cua_view', httpOnly: true, secure: true, sameSite: 'Strict' });
    const wsUrl = new URL('ws', page.url()).toString().replace(/^http/, 'ws');
    expect(await upgradeStatus(wsUrl, { Cookie: `cua_view=${cookie.value}`, Origin: 'http://evil.example' })).toBe(403);
    expect(await upgradeStatus(wsUrl, { Cookie: `cua_view=${cookie.value}` })).toBe(403);
    expect(await upgradeStatus(wsUrl, { Cookie: 'cua_view=made-up', Origin: new URL(page.url()).origin })).toBe(403);
    expect(await upgradeStatus(wsUrl, { Cookie: `cua_view=${cookie.value}`, Origin: new URL(page.url()).origin })).toBe(101);

    // Another principal's grant, for a session of the same name, does not open this one.
    const second = (await call(bob, 'live_view', { session_id: 'desk' })).structuredContent as { url: string };
    const otherPage = await other.newPage();
    await otherPage.goto(second.url);
    const [otherCookie] = await other.cookies();
    expect(await upgradeStatus(wsUrl, { Cookie: `cua_view=${otherCookie.value}`, Origin: new URL(page.url()).origin })).toBe(403);
    const stolen = await fetch(page.url(), { headers: { Cookie: `cua_view=${otherCookie.value}` } });
    expect(stolen.status).toBe(403);

    // Ending the session closes the view, and stops its desktop's VNC server (bob's stays).
    await waitFor("alice's and bob's VNC servers (bob's starts with his link)", () => pidsNamed('X0tigervnc', process.pid).length === 2, 10_000);
    // Each VNC server shares memory with its X server (MIT-SHM): it is in an X server's IPC
    // namespace, its own one (the two differ), which no program of either desktop is in.
    const ipcOf = (pid: number) => readlinkSync(`/proc/${pid}/ns/ipc`);
    const vncNamespaces = pidsNamed('X0tigervnc', process.pid).map(ipcOf);
    const desktopPrograms = ['xterm', 'openbox', 'bash'].flatMap((name) => pidsNamed(name, process.pid)).map(ipcOf);
    expect(new Set(vncNamespaces).size).toBe(2);
    expect(desktopPrograms.length).toBeGreaterThan(0);
    for (const ns of vncNamespaces) {
      expect(xvfbPids().map(ipcOf)).toContain(ns);
      expect(desktopPrograms).not.toContain(ns);
    }
    await call(client, 'cleanup_session', { session_id: 'desk' });
    await waitFor("alice's VNC server to be gone", () => pidsNamed('X0tigervnc', process.pid).length === 1, 10_000);
    await waitFor('the page to say the session ended', async () => (await status(page)) === 'The session has ended.' || (await status(page)).startsWith('This live view has ended'), 10_000);
    expect(await upgradeStatus(wsUrl, { Cookie: `cua_view=${cookie.value}`, Origin: new URL(page.url()).origin })).toBe(403);
    await other.close();
    await page.close();
  });

  it('a link expires unused', async () => {
    await boot({ LIVE_VIEW_TOKEN_TTL_MS: '1000' });
    const { url, expires_at } = await link();
    await waitFor('the link to expire', () => Date.now() > Date.parse(expires_at) + 50, 5000);
    const page = await browser.newPage();
    expect((await page.goto(url))?.status()).toBe(403);
    await page.close();
  });
});

/** An image's pixels at the test desktop's 800x600, greyscale. */
async function pixels(png: Buffer): Promise<Buffer> {
  return sharp(png).resize(800, 600, { fit: 'fill' }).greyscale().raw().toBuffer();
}

/** The mean absolute difference of two greyscale images of the same size (0–255). */
function meanDifference(a: Buffer, b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

/** The little of a browser's WebSocket that rawKeys uses. */
interface BrowserSocket {
  binaryType: string;
  onmessage: (e: { data: unknown }) => void;
  onopen: (e: unknown) => void;
  send(data: ArrayBuffer | Uint8Array): void;
  close(): void;
}

/**
 * Runs in the page: opens its own WebSocket to the live view (the browser sends the page's cookie)
 * and sends an RFB handshake and KeyEvents for `text`, as a tampered page would.
 */
async function rawKeys(text: string): Promise<void> {
  // In the page: the browser's own location and WebSocket (this function is sent there as source text).
  const page = globalThis as unknown as { location: { protocol: string; host: string; pathname: string }; WebSocket: new (url: string, protocols: string[]) => BrowserSocket };
  const loc = page.location;
  const ws = new page.WebSocket(`${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}${loc.pathname}ws`, ['binary']);
  ws.binaryType = 'arraybuffer';
  const got: number[] = [];
  let waiter: (() => void) | undefined;
  ws.onmessage = (e: { data: unknown }) => {
    got.push(...new Uint8Array(e.data as ArrayBuffer));
    waiter?.();
  };
  const need = (n: number) => new Promise<void>((resolve) => {
    const check = () => (got.length >= n ? resolve() : (waiter = check));
    check();
  });
  await new Promise((resolve) => (ws.onopen = resolve));
  await need(12);
  ws.send(new TextEncoder().encode('RFB 003.008\n'));
  await need(12 + 2); // security types
  ws.send(new Uint8Array([1]));
  await need(12 + 2 + 4); // SecurityResult
  ws.send(new Uint8Array([1])); // ClientInit, shared
  await need(12 + 2 + 4 + 24);
  const keysym = (ch: string) => (ch === '\n' ? 0xff0d : ch.charCodeAt(0));
  for (const ch of text) {
    for (const down of [1, 0]) {
      const msg = new DataView(new ArrayBuffer(8));
      msg.setUint8(0, 4);
      msg.setUint8(1, down);
      msg.setUint32(4, keysym(ch));
      ws.send(msg.buffer);
    }
  }
  // A FramebufferUpdateRequest after the keys: once its answer arrives, the server has read them.
  const before = got.length;
  ws.send(new Uint8Array([3, 0, 0, 0, 0, 0, 0, 16, 0, 16]));
  await need(before + 4);
  ws.close();
}

/** What recordKeyMessages keeps in the page. */
type KeyLog = { keyMessages: number[] };

/**
 * In the page, before its scripts: notes the type of every key message it sends on a WebSocket — 4 (KeyEvent,
 * a keysym) or 255 (QEMU extended key event, a scancode). Sent there as source text.
 */
function recordKeyMessages(): void {
  type Sendable = ArrayBuffer | ArrayBufferView | string | Blob;
  const page = globalThis as unknown as KeyLog & { WebSocket: { prototype: { send(data: Sendable): void } } };
  page.keyMessages = [];
  const proto = page.WebSocket.prototype;
  const send = proto.send;
  proto.send = function (this: unknown, data: Sendable) {
    const u = data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : undefined;
    if (u && (u[0] === 4 || (u[0] === 255 && u[1] === 0))) page.keyMessages.push(u[0]);
    send.call(this, data);
  };
}

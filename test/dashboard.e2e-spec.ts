import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';
import { backgroundFor } from '../src/computer/computer.module';
import { call, startApp, type TestApp } from './support/app';
import { waitFor } from './support/wait-for';

const KEY_A = 'alice-key-0123456789';
const KEY_B = 'bob-key-0123456789ab';
const API_KEYS = `${KEY_A}:alice,${KEY_B}:bob`;

interface SessionListing {
  session_id: string;
  computer: string | null;
}

/**
 * The sessions dashboard in a real browser (Debian's chromium, driven by playwright-core): a
 * principal's page lists that principal's sessions alone, with thumbnails of their own desktops
 * that follow what happens on them, their running tasks and last actions; one click opens a
 * session's live view; another principal's cookie reads nothing; a link works once.
 */
describe('Sessions dashboard in a browser', () => {
  let t: TestApp;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  });
  afterAll(async () => browser?.close());
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()));
    await t?.close();
  });

  /** An MCP client that sends this API key. */
  const clientWith = (key: string): Promise<Client> => t.connect('e2e', key);

  async function dashboardLink(client: Client) {
    const r = await call(client, 'dashboard');
    expect(r.isError).toBeFalsy();
    return r.structuredContent as { url: string; expires_at: string };
  }

  /** A fresh browser (its own cookies) with the dashboard at `url` open. */
  async function openDashboard(url: string): Promise<Page> {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(url);
    await waitFor('the dashboard to load', async () => /^(\d+ sessions?|You have no sessions\.)$/.test(await page.locator('#status').innerText()));
    return page;
  }

  const cardIds = async (page: Page) => (await page.locator('.card .id').allInnerTexts()).sort();
  const card = (page: Page, sessionId: string) => page.locator(`.card[data-session-id="${sessionId}"]`);
  /** A card's last actions, newest first, as "by action outcome". */
  async function actionsOn(page: Page, sessionId: string): Promise<string[]> {
    const items = card(page, sessionId).locator('.actions li');
    const [by, what, outcome] = await Promise.all(['.by', '.what', '.outcome'].map((part) => items.locator(part).allInnerTexts()));
    return by.map((b, i) => `${b} ${what[i]} ${outcome[i]}`);
  }
  const viewIdOf = async (page: Page, sessionId: string) => (await card(page, sessionId).getAttribute('data-view-id'))!;

  /** Fetches a path of the dashboard from inside the page (with its cookie): status, content type and bytes. */
  const fetchInPage = (page: Page, path: string) =>
    page.evaluate(async (p) => {
      const r = await fetch(p);
      return { status: r.status, type: r.headers.get('content-type') ?? '', bytes: Array.from(new Uint8Array(await r.arrayBuffer())) };
    }, path);

  /** How many dark pixels (text typed on a fake screen) the thumbnail shown on a card has, inside its edges (blended with the card's frame). */
  async function darkPixels(page: Page, sessionId: string): Promise<number> {
    const shown = sharp(await card(page, sessionId).locator('img.thumb').screenshot());
    const { width, height } = await shown.metadata();
    const { data, info } = await shown
      .extract({ left: 3, top: 3, width: width - 6, height: height - 6 })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    let n = 0;
    for (let i = 0; i < info.width * info.height * 3; i += 3) if (data[i] + data[i + 1] + data[i + 2] < 150) n++;
    return n;
  }

  async function computersOf(client: Client): Promise<Map<string, string>> {
    const { sessions } = (await call(client, 'list_sessions')).structuredContent as { sessions: SessionListing[] };
    return new Map(sessions.map((s) => [s.session_id, s.computer!]));
  }

  it("lists only the caller's sessions, with thumbnails of their own desktops that follow them, running tasks and last actions", async () => {
    // Steps slow enough that the first ones are still among a card's last 10 actions when the page next refreshes (every 1.5 s).
    t = await startApp({ API_KEYS, SCRIPTED_MODEL_STEPS: '40', SCRIPTED_MODEL_STEP_MS: '400' });
    const alice = await clientWith(KEY_A);
    const bob = await clientWith(KEY_B);
    // Both principals have a session called a1: ids are per principal.
    for (const id of ['a1', 'a2']) expect((await call(alice, 'screenshot_cua', { session_id: id })).isError).toBeFalsy();
    expect((await call(bob, 'screenshot_cua', { session_id: 'a1' })).isError).toBeFalsy();
    expect((await call(bob, 'computer', { session_id: 'a1', action: 'left_click', coordinate: [20, 20] })).isError).toBeFalsy();
    expect((await call(alice, 'computer', { session_id: 'a1', action: 'key', text: 'nonsense+key' })).isError).toBe(true);
    const computers = await computersOf(alice);

    const { url, expires_at } = await dashboardLink(alice);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/live\/dashboard\/[A-Za-z0-9_-]{22}\/\?token=[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(expires_at) - Date.now()).toBeLessThanOrEqual(60_000);
    const page = await openDashboard(url);
    expect(page.url()).not.toContain('token');
    expect(await page.locator('#title').innerText()).toBe('Sessions of alice');
    expect(await cardIds(page)).toEqual(['a1', 'a2']);
    // Alice's own calls on a1, newest first: the refused key press, then the screenshot; nothing of bob's.
    expect(await actionsOn(page, 'a1')).toEqual(['tool computer INVALID_ARGUMENT', 'tool screenshot_cua ok']);

    // Each thumbnail is a small JPEG of that session's own desktop (a fake screen's colour is its computer's).
    const a1 = await fetchInPage(page, `thumb/${await viewIdOf(page, 'a1')}.jpg`);
    expect(a1).toMatchObject({ status: 200, type: 'image/jpeg' });
    const img = sharp(Buffer.from(a1.bytes));
    expect(await img.metadata()).toMatchObject({ format: 'jpeg', width: 320, height: 200 });
    const { data } = await img.removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const corner = [...data.subarray((190 * 320 + 300) * 3, (190 * 320 + 300) * 3 + 3)];
    backgroundFor(computers.get('a1')!).forEach((c, i) => expect(Math.abs(corner[i] - c)).toBeLessThanOrEqual(12));
    await waitFor('both thumbnails shown', async () => (await page.locator('img.thumb').evaluateAll((imgs) => imgs.map((i) => (i as unknown as { naturalWidth: number }).naturalWidth))).join() === '320,320');

    // What happens on a desktop shows on its card: text typed on a1 appears in its thumbnail.
    expect(await darkPixels(page, 'a1')).toBe(0);
    expect((await call(alice, 'computer', { session_id: 'a1', action: 'type', text: '\u7fff'.repeat(60) })).isError).toBeFalsy();
    await waitFor('the typed text in a1\'s thumbnail', async () => (await darkPixels(page, 'a1')) > 200, 10_000);
    expect(await darkPixels(page, 'a2')).toBe(0);

    // A running task, and its agent's steps as they happen.
    const stop = new AbortController();
    const task = call(alice, 'run_cua_task', { session_id: 'a2', task: 'fill in the form' }, { signal: stop.signal }).catch(() => undefined);
    await waitFor('the task on a2\'s card', async () => /^fill in the form \(since \d+ s ago\)$/.test((await card(page, 'a2').locator('.tasks li').allInnerTexts()).join('|')), 10_000);
    expect(await card(page, 'a2').locator('.control').innerText()).toBe('The agent is working');
    await waitFor('the agent\'s steps on a2\'s card', async () => {
      const shown = await actionsOn(page, 'a2');
      return shown.includes('agent step 1: left_click ok') && shown.includes('agent step 2: type ok');
    }, 10_000);
    stop.abort();
    await task;
    await waitFor('the stopped task gone from a2\'s card', async () => (await card(page, 'a2').locator('.tasks li').count()) === 0, 10_000);

    // A session ended elsewhere leaves the page.
    await call(alice, 'cleanup_session', { session_id: 'a2' });
    await waitFor('a2 gone from the dashboard', async () => (await cardIds(page)).join() === 'a1', 10_000);
  });

  it("another principal's cookie reads none of alice's sessions or thumbnails; a dashboard link works once; a foreign Origin cannot open a live view", async () => {
    t = await startApp({ API_KEYS });
    const alice = await clientWith(KEY_A);
    const bob = await clientWith(KEY_B);
    await call(alice, 'screenshot_cua', { session_id: 'mine' });
    await call(bob, 'screenshot_cua', { session_id: 'his' });

    const aliceLink = await dashboardLink(alice);
    const alicePage = await openDashboard(aliceLink.url);
    const bobPage = await openDashboard((await dashboardLink(bob)).url);
    expect(await cardIds(alicePage)).toEqual(['mine']);
    expect(await cardIds(bobPage)).toEqual(['his']);
    const [aliceCookie] = await alicePage.context().cookies();
    const [bobCookie] = await bobPage.context().cookies();
    expect(aliceCookie).toMatchObject({ name: 'cua_dashboard', httpOnly: true, secure: true, sameSite: 'Strict', path: new URL(alicePage.url()).pathname });
    expect(bobCookie.path).not.toBe(aliceCookie.path);

    // Bob's cookie on alice's dashboard: nothing; alice's session on bob's dashboard: not found.
    const aliceBase = alicePage.url();
    const bobBase = bobPage.url();
    const mine = await viewIdOf(alicePage, 'mine');
    const origin = new URL(aliceBase).origin;
    const asBob = { Cookie: `cua_dashboard=${bobCookie.value}` };
    for (const path of ['', 'sessions', `thumb/${mine}.jpg`]) expect((await fetch(aliceBase + path, { headers: asBob })).status).toBe(403);
    expect((await fetch(`${aliceBase}open/${mine}`, { method: 'POST', headers: { ...asBob, Origin: origin } })).status).toBe(403);
    const onBobs = await fetch(`${bobBase}thumb/${mine}.jpg`, { headers: asBob });
    expect(onBobs.status).toBe(404);
    expect(onBobs.headers.get('content-type')).not.toMatch(/image/);
    expect((await fetch(`${bobBase}open/${mine}`, { method: 'POST', headers: { ...asBob, Origin: origin } })).status).toBe(404);
    const bobSees = (await (await fetch(`${bobBase}sessions`, { headers: asBob })).json()) as { sessions: { session_id: string }[] };
    expect(bobSees.sessions.map((s) => s.session_id)).toEqual(['his']);
    // No cookie, a made-up one: nothing either.
    expect((await fetch(`${aliceBase}sessions`)).status).toBe(403);
    expect((await fetch(`${aliceBase}sessions`, { headers: { Cookie: 'cua_dashboard=made-up' } })).status).toBe(403);

    // Alice's own cookie may open her session's live view only from the dashboard's own origin.
    const asAlice = { Cookie: `cua_dashboard=${aliceCookie.value}` };
    expect((await fetch(`${aliceBase}open/${mine}`, { method: 'POST', headers: { ...asAlice, Origin: 'http://evil.example' } })).status).toBe(403);
    expect((await fetch(`${aliceBase}open/${mine}`, { method: 'POST', headers: asAlice })).status).toBe(403);
    // With its origin it gets the provider's answer: fake computers offer no live view.
    const fake = await fetch(`${aliceBase}open/${mine}`, { method: 'POST', headers: { ...asAlice, Origin: origin } });
    expect(fake.status).toBe(409);
    expect(((await fake.json()) as { error: string }).error).toMatch(/fake provider offer no live view/);

    // The link again, in a browser of its own: refused.
    const context = await browser.newContext();
    contexts.push(context);
    const reused = await context.newPage();
    expect((await reused.goto(aliceLink.url))?.status()).toBe(403);
    expect(await reused.locator('h1').innerText()).toBe('This link no longer works');
  });

  it('a desktop that cannot be captured shows a placeholder, and the page goes on', async () => {
    t = await startApp({ API_KEYS });
    const alice = await clientWith(KEY_A);
    await call(alice, 'screenshot_cua', { session_id: 'dies' });
    await call(alice, 'screenshot_cua', { session_id: 'lives' });
    const page = await openDashboard((await dashboardLink(alice)).url);
    const computers = await computersOf(alice);
    t.fake.open().find((c) => c.id === computers.get('dies'))!.kill();
    const thumb = async (id: string) => fetchInPage(page, `thumb/${await viewIdOf(page, id)}.jpg`);
    await waitFor('the placeholder for the dead desktop', async () => (await thumb('dies')).type.startsWith('image/svg+xml'));
    expect((await thumb('dies')).status).toBe(200);
    expect((await thumb('lives')).type).toBe('image/jpeg');
    expect(await cardIds(page)).toEqual(['dies', 'lives']);
  });

  it("one click on a session's card opens its live view in a new tab (xvfb), and its thumbnail shows the real desktop", async () => {
    t = await startApp({ API_KEYS, COMPUTER_PROVIDER: 'xvfb', DESKTOP_PROFILE: 'minimal', SCREEN_WIDTH: '800', SCREEN_HEIGHT: '600' });
    const alice = await clientWith(KEY_A);
    expect((await call(alice, 'screenshot_cua', { session_id: 'desk' })).isError).toBeFalsy();
    const page = await openDashboard((await dashboardLink(alice)).url);
    expect(await cardIds(page)).toEqual(['desk']);
    const shot = await fetchInPage(page, `thumb/${await viewIdOf(page, 'desk')}.jpg`);
    expect(shot.type).toBe('image/jpeg');
    expect(await sharp(Buffer.from(shot.bytes)).metadata()).toMatchObject({ format: 'jpeg', width: 320, height: 240 });

    const [viewer] = await Promise.all([page.context().waitForEvent('page'), card(page, 'desk').locator('img.thumb').click()]);
    await waitFor('the live view to watch', async () => (await viewer.locator('#status').innerText()).startsWith('Watching'), 15_000);
    expect(await viewer.locator('#session').innerText()).toBe('Session desk');
    expect(viewer.url()).not.toContain('token');
    await waitFor('the dashboard to count the viewer', async () => / · 1 watching$/.test(await card(page, 'desk').locator('.meta').innerText()), 10_000);

    // A browser that blocks the new tab: the card offers the link to follow instead.
    await page.evaluate(() => {
      (globalThis as unknown as { open: () => null }).open = () => null;
    });
    // The card itself (its thumbnail is replaced at each new frame while someone watches).
    await card(page, 'desk').click();
    const offered = card(page, 'desk').locator('.error a');
    await waitFor('the link offered instead of the blocked tab', async () => ((await offered.count()) === 1 ? true : undefined), 10_000);
    expect(await card(page, 'desk').locator('.error').innerText()).toBe('This browser blocked the new tab. Open the live view');
    const [second] = await Promise.all([page.context().waitForEvent('page'), offered.click()]);
    await waitFor('the second live view to watch', async () => (await second.locator('#status').innerText()).startsWith('Watching'), 15_000);
    expect(second.url()).not.toContain('token');
  });
});

import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { readdirSync, readFileSync } from 'node:fs';
import { call, imagesOf, startApp, TestApp } from './support/app';
import { findWord, OcrWord, readWords } from './support/ocr';
import { descendsFrom } from './support/processes';
import { waitFor } from './support/wait-for';

/*
 * The standard desktop (DESKTOP_PROFILE=standard, the default) as a model meets it: real Xvfb
 * desktops, read with OCR, driven only by clicks through the `computer` tool. The original
 * server's example tasks — open the browser, the editor, the terminal — done by GUI alone.
 */

const W = 1280;
const H = 800;
const PANEL = { left: 0, top: H - 36, width: W, height: 36 };
/** How long a test waits for a program to start on a loaded 2-core machine. */
const SLOW = 30_000;

async function screenshot(client: Client, session_id: string): Promise<Buffer> {
  const r = await call(client, 'screenshot_cua', { session_id });
  return Buffer.from(imagesOf(r)[0].data, 'base64');
}

async function sh(client: Client, session_id: string, command: string) {
  const r = await call(client, 'run_command', { command, session_id });
  return (r.structuredContent as { stdout: string; exit_code: number | null }) ?? { stdout: '', exit_code: null };
}


/** The panel's words as OCR reads them off a screenshot. */
const panelWords = async (png: Buffer) => readWords(png, { region: PANEL, lightOnDark: true });

/** Names of the visible windows of `windowClass`, read from inside the computer. */
async function windowsOf(client: Client, session_id: string, windowClass: string): Promise<string[]> {
  const r = await sh(client, session_id, `xdotool search --onlyvisible --class '${windowClass}' getwindowname %@ 2>/dev/null`);
  return r.stdout.split('\n').filter(Boolean);
}

/** Processes this test's app started (through sandboxes) that still run. */
function desktopProcesses(): string[] {
  const out: string[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || !descendsFrom(Number(e), process.pid)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (/^\d+ \(.*\) Z/s.test(stat)) continue;
      out.push(readFileSync(`/proc/${e}/comm`, 'utf8').trim());
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

describe('The standard desktop (DESKTOP_PROFILE=standard)', () => {
  let t: TestApp;
  let client: Client;
  beforeAll(async () => {
    t = await startApp({ COMPUTER_PROVIDER: 'xvfb', SCREEN_WIDTH: String(W), SCREEN_HEIGHT: String(H), POOL_MAX_SIZE: '4', POOL_ACQUIRE_TIMEOUT_MS: '60000' });
    client = await t.connect();
  }, 60_000);
  afterAll(async () => t?.close());

  it('a fresh desktop shows a panel whose launchers say Browser, Editor, Files and Terminal', async () => {
    const words = await panelWords(await screenshot(client, 'fresh'));
    for (const label of ['Browser', 'Editor', 'Files', 'Terminal']) expect(findWord(words, label)).toBeDefined();
    // The desktop's user and host are its own.
    expect((await sh(client, 'fresh', 'id -un; hostname')).stdout).toBe('user\ndesktop\n');
    await call(client, 'cleanup_session', { session_id: 'fresh' });
  }, 60_000);

  // The example tasks of the original server, each on a fresh desktop, by clicking what the screenshot shows.
  it.each([
    { label: 'Browser', windowClass: 'firefox-esr', title: /Mozilla Firefox/, taskWord: 'Firefox' },
    { label: 'Editor', windowClass: 'Mousepad', title: /Mousepad/, taskWord: 'Mousepad' },
    { label: 'Terminal', windowClass: 'XTerm', title: /^Terminal$/, taskWord: 'Terminal' },
  ])('clicking the launcher labelled $label opens that application', async ({ label, windowClass, title, taskWord }) => {
    const session = `open-${label.toLowerCase()}`;
    const launcher: OcrWord = await waitFor(`the ${label} launcher`, async () => findWord(await panelWords(await screenshot(client, session)), label), SLOW);
    expect(await windowsOf(client, session, windowClass)).toEqual([]);
    await call(client, 'computer', { action: 'left_click', coordinate: [Math.round(launcher.x + launcher.width / 2), Math.round(launcher.y + launcher.height / 2)], screenshot: false, session_id: session });
    // The window exists, from inside the computer …
    const names = await waitFor(`a ${windowClass} window`, async () => {
      const n = await windowsOf(client, session, windowClass);
      return n.length > 0 && n;
    }, SLOW);
    expect(names.some((n) => title.test(n))).toBe(true);
    // … and the screenshot shows it: the task list names it (a second "Terminal" for the terminal).
    await waitFor(`the ${taskWord} task on the panel`, async () => {
      const words = await panelWords(await screenshot(client, session));
      const count = words.filter((w) => w.text.replace(/[^A-Za-z]/g, '') === taskWord).length;
      return count >= (taskWord === label ? 2 : 1);
    }, SLOW);
    await call(client, 'cleanup_session', { session_id: session });
  }, 120_000);

  it('a page made inside the desktop opens in the browser with xdg-open and shows its text', async () => {
    // Whole words, which OCR reads reliably (letters run together can gain or lose one), picked at random.
    const pick = () => ['Harbor', 'Maple', 'Violet', 'Copper', 'Meadow', 'Lantern', 'Pepper', 'Falcon', 'Willow', 'Garnet'][Math.floor(Math.random() * 10)];
    const words = ['Zebra', pick(), pick(), 'Quokka'];
    await sh(client, 'page', `printf '<html><body style="font-size:48px;font-family:sans-serif"><p>${words.join(' ')}</p></body></html>' > ~/page.html`);
    const started = await call(client, 'run_command', { command: 'xdg-open ~/page.html', background: true, session_id: 'page' });
    expect(started.isError).toBeFalsy();
    let seen: string[] = [];
    await waitFor('the page text in the screenshot', async () => {
      seen = (await readWords(await screenshot(client, 'page'), { scale: 1 })).map((w) => w.text);
      return words.every((w) => seen.includes(w));
    }, 90_000).catch(async (e: Error) => {
      throw new Error(`${e.message} (${words.join(' ')}); OCR read: ${seen.join(' ').slice(0, 400)}; windows: ${(await windowsOf(client, 'page', '.')).join(' | ')}`);
    });
    // Two browsers never share a profile: each lives in its computer's own home.
    const profileOf = async (s: string) =>
      (await waitFor(`a browser profile in ${s}`, async () => (await sh(client, s, 'find ~ -name prefs.js -path "*firefox*" 2>/dev/null')).stdout.trim() || undefined, SLOW)).split('\n')[0];
    const profileA = await profileOf('page');
    await sh(client, 'page', `touch "$(dirname '${profileA}')/cookie-of-a"`);
    await call(client, 'run_command', { command: 'firefox-esr', background: true, session_id: 'other' });
    await profileOf('other');
    expect((await sh(client, 'other', 'find / -name cookie-of-a 2>/dev/null')).stdout).toBe('');
    for (const s of ['page', 'other']) await call(client, 'cleanup_session', { session_id: s });
  }, 120_000);

  it('ending the sessions leaves no browser, editor, panel or X server behind', async () => {
    await call(client, 'run_command', { command: 'firefox-esr & mousepad & wait', background: true, session_id: 'gone' });
    await waitFor('the browser and the editor', async () => (await windowsOf(client, 'gone', 'firefox-esr')).length > 0 && (await windowsOf(client, 'gone', 'Mousepad')).length > 0, SLOW);
    expect(desktopProcesses()).toEqual(expect.arrayContaining(['firefox-esr', 'mousepad', 'tint2', 'Xvfb']));
    await call(client, 'cleanup_session', { session_id: 'gone' });
    // The default session of the connection is the only other one; ending the app ends it.
    await t.close();
    expect(desktopProcesses()).toEqual([]);
  }, 120_000);
});

import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import sharp from 'sharp';
import { call, imagesOf, startApp, TestApp, textOf } from './support/app';
import { waitFor } from './support/wait-for';

/*
 * Screenshots after actions wait for the screen to settle (X DAMAGE), on real Xvfb desktops through
 * MCP. Each test asserts what a client sees in the images and what the result reports.
 */

interface Image {
  data: Buffer;
  width: number;
  height: number;
}
type Result = Awaited<ReturnType<typeof call>>;
interface Settle {
  waited_ms: number;
  hit_cap: boolean;
  changed?: boolean;
}

async function decode(png: Buffer): Promise<Image> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}
const imageOf = (r: Result) => decode(Buffer.from(imagesOf(r)[0].data, 'base64'));
const settleOf = (r: Result) => (r.structuredContent as { settle?: Settle } | undefined)?.settle;

/** The pixels that differ between two images of the same size, and the box around them. */
function difference(a: Image, b: Image) {
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  let count = 0;
  const box = { x0: Infinity, y0: Infinity, x1: -1, y1: -1 };
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) {
      const i = (y * a.width + x) * 3;
      if (a.data[i] === b.data[i] && a.data[i + 1] === b.data[i + 1] && a.data[i + 2] === b.data[i + 2]) continue;
      count++;
      box.x0 = Math.min(box.x0, x);
      box.y0 = Math.min(box.y0, y);
      box.x1 = Math.max(box.x1, x);
      box.y1 = Math.max(box.y1, y);
    }
  }
  return { count, width: box.x1 - box.x0 + 1, height: box.y1 - box.y0 + 1 };
}


/** The screen once it has stopped changing: two screenshots in a row, 100 ms apart, that are the same. */
async function stableScreen(client: Client, session_id: string): Promise<Image> {
  let last = await imageOf(await call(client, 'screenshot_cua', { session_id }));
  return waitFor('the screen to stop changing', async () => {
    const now = await imageOf(await call(client, 'screenshot_cua', { session_id }));
    const same = difference(last, now).count === 0;
    last = now;
    return same ? now : undefined;
  }, 10_000, 100);
}

const WORDS = ['zebra', 'maple', 'quartz', 'violet', 'harbor', 'lantern', 'meadow', 'copper', 'thistle', 'falcon', 'juniper', 'saffron'];
/** The production screen size (the test app's default is smaller). */
const XVFB = { COMPUTER_PROVIDER: 'xvfb', DESKTOP_PROFILE: 'minimal', SCREEN_WIDTH: '1280', SCREEN_HEIGHT: '800' };
const LINE_PX = 20; // one terminal line (DejaVu Sans Mono 11 pt is ~17 px)

describe('Screenshots after an action show its effect: the screen is left to settle (real Xvfb desktops)', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('typing into a fresh desktop returns a screenshot that shows the typed text, on 12 fresh desktops in a row', async () => {
    // Warm stock as in production: each new session gets a desktop that was started in the background.
    t = await startApp({ ...XVFB, POOL_MIN_WARM: '1' });
    const client = await t.connect();
    for (const [i, word] of WORDS.entries()) {
      const session_id = `fresh-${i}`;
      const before = await stableScreen(client, session_id);
      const typed = await call(client, 'computer', { action: 'type', text: word, session_id });
      expect(typed.isError).toBeFalsy();
      const shown = await imageOf(typed);
      // The text is there: one line of the terminal changed, about as wide as the word ...
      const changed = difference(before, shown);
      expect({ desktop: i, changed: changed.count > 0 }).toEqual({ desktop: i, changed: true });
      expect(changed.height).toBeLessThanOrEqual(LINE_PX);
      expect(changed.width).toBeGreaterThanOrEqual(word.length * 5);
      // ... and all of it: the screenshot is the screen as it stays once nothing more happens.
      expect(difference(shown, await stableScreen(client, session_id)).count).toBe(0);
      expect(settleOf(typed)).toMatchObject({ changed: true, hit_cap: false });
      expect(textOf(typed)).toMatch(/the screen changed and settled after \d+ ms/);
      await call(client, 'cleanup_session', { session_id });
    }
  }, 180_000);

  describe('with a program that never stops drawing, and on a still screen', () => {
    const MAX = 1500;
    let app: TestApp;
    let client: Client;
    beforeAll(async () => {
      // A longer quiet period than the default, so a busy machine's scheduling gaps cannot end the wait: only the cap can.
      app = await startApp({ ...XVFB, SCREENSHOT_SETTLE_MAX_MS: String(MAX), SCREENSHOT_SETTLE_QUIET_MS: '200' });
      client = await app.connect();
    });
    afterAll(async () => app?.close());

    it('the cap is honoured: the result says the cap was hit, and the wait ends near it', async () => {
      const session_id = 'busy';
      // A terminal printing numbers without pause (a shell builtin loop: no process start between lines).
      const launched = await call(client, 'run_command', {
        command: "xterm -geometry 40x8+900+420 -e sh -c 'i=0; while :; do i=$((i+1)); echo $i; done'",
        background: true,
        session_id,
      });
      expect(launched.isError).toBeFalsy();
      expect(settleOf(launched)).toMatchObject({ changed: true, hit_cap: true });
      const t0 = Date.now();
      const moved = await call(client, 'computer', { action: 'mouse_move', coordinate: [600, 700], session_id });
      const callMs = Date.now() - t0;
      const s = settleOf(moved)!;
      expect(s).toMatchObject({ changed: true, hit_cap: true });
      expect(s.waited_ms).toBeGreaterThanOrEqual(MAX);
      expect(s.waited_ms).toBeLessThan(MAX * 2);
      expect(callMs).toBeGreaterThanOrEqual(s.waited_ms);
      expect(textOf(moved)).toMatch(/still changing after \d+ ms \(SCREENSHOT_SETTLE_MAX_MS\)/);
      // The terminal really is drawing: two screenshots differ there.
      const a = await imageOf(await call(client, 'screenshot_cua', { session_id }));
      const b = await waitFor('another frame', async () => {
        const next = await imageOf(await call(client, 'screenshot_cua', { session_id }));
        return difference(a, next).count > 0 ? next : undefined;
      }, 10_000, 100);
      expect(difference(a, b).count).toBeGreaterThan(0);
    }, 60_000);

    it('a click that changes nothing returns after the short first-change window, far below the cap', async () => {
      const session_id = 'still';
      // The first click on the bare desktop takes the focus from the terminal (its cursor turns hollow); the second changes nothing.
      const first = await call(client, 'computer', { action: 'left_click', coordinate: [1100, 700], session_id });
      expect(settleOf(first)).toMatchObject({ changed: true, hit_cap: false });
      const before = await stableScreen(client, session_id);
      const t0 = Date.now();
      const second = await call(client, 'computer', { action: 'left_click', coordinate: [1150, 720], session_id });
      const callMs = Date.now() - t0;
      expect(difference(before, await imageOf(second)).count).toBe(0);
      const s = settleOf(second)!;
      expect(s).toMatchObject({ changed: false, hit_cap: false });
      expect(s.waited_ms / MAX).toBeLessThan(0.5);
      expect(textOf(second)).toMatch(/the screen did not change within \d+ ms/);
      // A cap-length wait would make the call at least MAX long.
      expect(callMs / MAX).toBeLessThan(1);
    }, 60_000);
  });

  describe('the agent loop', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'settle-traj-'));
    });
    afterEach(async () => {
      await t?.close();
      t = undefined;
      await rm(dir, { recursive: true, force: true });
    });

    it('the step screenshot after typing shows the text: it differs from the one before, on the line typed into', async () => {
      t = await startApp({ ...XVFB, CUA_MODEL_NAME: 'scripted/demo', TRAJECTORY_DIR: dir });
      const client = await t.connect();
      // The scripted model clicks the middle of the screen (step 1), types the task (step 2), presses Return (step 3), answers (step 4).
      const task = 'echo http task';
      const r = await call(client, 'run_cua_task', { task, session_id: 'agent' });
      expect(r.isError).toBeFalsy();
      const steps = (r.structuredContent as { steps: { actions: { action: string }[]; settle?: Settle }[] }).steps;
      expect(steps[1].actions).toEqual([{ action: 'type', text: task }]);
      const [principal] = await readdir(dir);
      const [session] = await readdir(join(dir, principal));
      const [taskId] = await readdir(join(dir, principal, session));
      const folder = join(dir, principal, session, taskId);
      const beforeTyping = await decode(await readFile(join(folder, 'step-002.png')));
      const afterTyping = await decode(await readFile(join(folder, 'step-003.png')));
      const changed = difference(beforeTyping, afterTyping);
      expect(changed.count).toBeGreaterThan(0);
      expect(changed.height).toBeLessThanOrEqual(LINE_PX);
      expect(changed.width).toBeGreaterThanOrEqual(task.length * 5);
      expect(steps[1].settle).toMatchObject({ changed: true, hit_cap: false });
      const line = JSON.parse((await readFile(join(folder, 'steps.jsonl'), 'utf8')).trim().split('\n')[1]) as { settle?: Settle };
      expect(line.settle).toMatchObject({ changed: true, hit_cap: false });
    }, 60_000);
  });
});

import sharp from 'sharp';
import { call, imagesOf, startApp, TestApp, textOf } from './support/app';
import { chat, VendorServer } from './support/vendor-server';
import { waitFor } from './support/wait-for';

/**
 * One test per open model family, on a real Xvfb desktop (openbox): the model
 * points at a small terminal window in its own coordinates, clicks, types a line; the line must reach that
 * window (its shell writes it to a file and the window closes), not a decoy window placed where a wrong
 * reading of the same coordinates would land, and the pointer must rest where the point maps on the screen.
 */

const W = 1280;
const H = 800;

interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

async function run(t: TestApp, command: string, background = false) {
  const client = t.clients[0];
  const r = await call(client, 'run_command', { command, session_id: 'desk', ...(background ? { background: true } : {}) });
  if (r.isError) throw new Error(`${command}: ${textOf(r)}`);
  return ((r.structuredContent ?? {}) as { stdout?: string }).stdout?.trim() ?? '';
}

/**
 * A small terminal titled `title` whose window (without the window manager's frame) has its top-left corner near
 * (x, y), and whose shell writes the first line typed into it to ~/<title>.txt, then closes. `frame`: how far
 * the window manager moves a window's contents from the position asked for (its border and title bar).
 */
async function openTarget(t: TestApp, title: string, x: number, y: number, frame: [number, number] = [0, 0]): Promise<Rect> {
  x -= frame[0];
  y -= frame[1];
  await run(t, `xterm -title ${title} -bg navy -fg white -fa Monospace -fs 14 -geometry 22x4+${x}+${y} -e sh -c 'read line; echo "$line" > ~/${title}.txt'`, true);
  const geometry = await waitFor(`the ${title} window`, async () => {
    const out = await run(t, `xdotool search --onlyvisible --name '^${title}$' getwindowgeometry --shell 2>/dev/null || true`);
    const v = Object.fromEntries(out.split('\n').filter((l) => l.includes('=')).map((l) => l.split('=') as [string, string]));
    return v.WIDTH ? { x: Number(v.X), y: Number(v.Y), width: Number(v.WIDTH), height: Number(v.HEIGHT) } : false;
  }, 10_000);
  return geometry;
}

const inside = (r: Rect, [x, y]: [number, number]) => x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height;
const centre = (r: Rect): [number, number] => [r.x + r.width / 2, r.y + r.height / 2];

async function screenPixels(t: TestApp) {
  const shot = await call(t.clients[0], 'screenshot_cua', { session_id: 'desk' });
  const img = imagesOf(shot)[0];
  return sharp(Buffer.from(img.data, 'base64')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
}

/** How many pixels inside `r` differ between two screenshots of the (unscaled) screen. */
function changedIn(a: Buffer, b: Buffer, r: Rect) {
  let n = 0;
  for (let y = r.y; y < r.y + r.height; y++) {
    for (let x = r.x; x < r.x + r.width; x++) {
      const i = (y * W + x) * 3;
      if (a[i] !== b[i] || a[i + 1] !== b[i + 1] || a[i + 2] !== b[i + 2]) n++;
    }
  }
  return n;
}

describe('Open model families on a real Xvfb desktop: a click lands where the model pointed', () => {
  let t: TestApp;
  let vendor: VendorServer;
  beforeEach(async () => {
    vendor = await VendorServer.start();
  });
  afterEach(async () => {
    await t?.close();
    await vendor.close();
  });

  const start = async (family: string, model: string) => {
    t = await startApp({
      COMPUTER_PROVIDER: 'xvfb',
      DESKTOP_PROFILE: 'minimal',
      SCREEN_WIDTH: String(W),
      SCREEN_HEIGHT: String(H),
      CUA_MODEL_NAME: `openai-compatible/${model}`,
      OPENAI_COMPATIBLE_BASE_URL: `${vendor.url}/v1`,
      OPENAI_COMPATIBLE_MODEL_FAMILY: family,
    });
    await t.connect();
  };

  /** Runs the scripted task, then checks what happened on the screen and in the target's shell. */
  async function expectLanded(target: Rect, decoy: Rect, expectedPointer: [number, number]) {
    const before = await screenPixels(t);
    const r = await call(t.clients[0], 'run_cua_task', { task: 'Type hello into the Target terminal', session_id: 'desk' });
    expect(textOf(r)).toMatch(/Answer: /);
    expect(r.isError).toBeFalsy();
    // The line went to the window the model pointed at, which then closed: the screen changed there.
    await waitFor('~/Target.txt', async () => (await run(t, 'cat ~/Target.txt 2>/dev/null || true')) === 'hello', 10_000);
    expect(await run(t, 'ls ~/Decoy.txt 2>/dev/null || echo none')).toBe('none');
    await waitFor('the Target window to close', async () => (await run(t, "xdotool search --onlyvisible --name '^Target$' || true")) === '', 10_000);
    expect(await run(t, "xdotool search --onlyvisible --name '^Decoy$' | wc -l")).toBe('1');
    expect(changedIn(before.data, (await screenPixels(t)).data, target)).toBeGreaterThan((target.width * target.height) / 4);
    // The pointer rests where the model's point maps on the screen, inside the target and not in the decoy.
    const loc = Object.fromEntries((await run(t, 'xdotool getmouselocation --shell')).split('\n').map((l) => l.split('=') as [string, string]));
    const pointer: [number, number] = [Number(loc.X), Number(loc.Y)];
    expect(Math.abs(pointer[0] - expectedPointer[0])).toBeLessThanOrEqual(1);
    expect(Math.abs(pointer[1] - expectedPointer[1])).toBeLessThanOrEqual(1);
    expect(inside(target, pointer)).toBe(true);
    expect(inside(decoy, pointer)).toBe(false);
  }

  it('absolute pixels of the smart-resized image (uitars: 1280x800 sent as 1288x812)', async () => {
    await start('uitars', 'ByteDance-Seed/UI-TARS-1.5-7B');
    // The target's centre on the 1288x812 image the model sees; a decoy where those numbers would land on Qwen3-VL's 0-999 grid.
    const { target, decoy, point, expected } = await absoluteLayout();
    vendor.reply(
      chat.answer(`Thought: The Target terminal waits for a line; I click into it first.\nAction: click(point='<point>${point[0]} ${point[1]}</point>')`),
      chat.answer("Thought: It has focus; I type the line and submit it.\nAction: type(content='hello\\n')"),
      chat.answer("Thought: The terminal took the line and closed.\nAction: finished(content='Typed hello into Target.')"),
    );
    await expectLanded(target, decoy, expected);
  }, 90_000);

  /** A target and, where its centre's numbers on the 1288x812 image would land if read on a 0-999 grid, a decoy. */
  async function absoluteLayout() {
    const target = await openTarget(t, 'Target', 400, 260);
    const frame: [number, number] = [target.x - 400, target.y - 260];
    const [cx, cy] = centre(target);
    const point: [number, number] = [Math.round((cx * 1288) / W), Math.round((cy * 812) / H)];
    const decoy = await openTarget(t, 'Decoy', Math.round((point[0] * W) / 999) - 60, Math.round((point[1] * H) / 999) - 20, frame);
    expect(inside(decoy, [(point[0] * W) / 999, (point[1] * H) / 999])).toBe(true);
    return { target, decoy, point, expected: [Math.round((point[0] * W) / 1288), Math.round((point[1] * H) / 812)] as [number, number] };
  }

  it('absolute pixels of the smart-resized image (qwen2.5-vl: its computer_use tool, 1280x800 sent as 1288x812)', async () => {
    await start('qwen2.5-vl', 'Qwen/Qwen2.5-VL-7B-Instruct');
    const { target, decoy, point, expected } = await absoluteLayout();
    const toolCall = (args: object) => `<tool_call>\n${JSON.stringify({ name: 'computer_use', arguments: args })}\n</tool_call>`;
    vendor.reply(
      chat.answer(toolCall({ action: 'left_click', coordinate: point })),
      chat.answer(`${toolCall({ action: 'type', text: 'hello' })}\n${toolCall({ action: 'key', keys: ['enter'] })}`),
      chat.answer(toolCall({ action: 'terminate', status: 'success' })),
    );
    await expectLanded(target, decoy, expected);
  }, 90_000);

  it('absolute pixels of the smart-resized image (opencua: pyautogui code, 1280x800 sent as 1288x812)', async () => {
    await start('opencua', 'xlangai/OpenCUA-7B');
    const { target, decoy, point, expected } = await absoluteLayout();
    const step = (thought: string, action: string, code: string) => `## Thought:\n${thought}\n\n## Action:\n${action}\n\n## Code:\n\`\`\`python\n${code}\n\`\`\`\n`;
    vendor.reply(
      chat.answer(step('The Target terminal waits for a line.', 'Click into the Target terminal.', `pyautogui.click(x=${point[0]}, y=${point[1]})`)),
      chat.answer(step('It has focus.', 'Type hello and press Enter.', "pyautogui.write(message='hello')\npyautogui.press(keys=['enter'])")),
      chat.answer(step('The line went in.', 'Finish.', "computer.terminate(status='success')")),
    );
    await expectLanded(target, decoy, expected);
  }, 90_000);

  it('relative 0-999 grid (qwen3-vl: the screen is 1000x1000 to the model)', async () => {
    await start('qwen3-vl', 'Qwen/Qwen3-VL-8B-Instruct');
    const target = await openTarget(t, 'Target', 980, 250);
    const frame: [number, number] = [target.x - 980, target.y - 250];
    const [cx, cy] = centre(target);
    const point: [number, number] = [Math.round((cx * 999) / W), Math.round((cy * 999) / H)];
    // Where the same numbers would land if read as pixels: a decoy window there.
    const decoy = await openTarget(t, 'Decoy', point[0] - 60, point[1] - 20, frame);
    expect(inside(decoy, point)).toBe(true);
    const toolCall = (args: object) => `<tool_call>\n${JSON.stringify({ name: 'computer_use', arguments: args })}\n</tool_call>`;
    vendor.reply(
      chat.answer(`Thought: The Target terminal waits for a line.\nAction: Click into the Target terminal.\n${toolCall({ action: 'left_click', coordinate: point })}`),
      chat.answer(`Thought: It has focus.\nAction: Type hello and press Enter.\n${toolCall({ action: 'type', text: 'hello' })}\n${toolCall({ action: 'key', keys: ['enter'] })}`),
      chat.answer(`Thought: Done.\nAction: Finish.\n${toolCall({ action: 'terminate', status: 'success' })}`),
    );
    await expectLanded(target, decoy, [Math.round((point[0] * W) / 999), Math.round((point[1] * H) / 999)]);
  }, 90_000);
});

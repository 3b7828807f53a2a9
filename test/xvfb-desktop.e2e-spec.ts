import { existsSync, readFileSync } from 'node:fs';
import sharp from 'sharp';
import { alive, pidsNamed, xvfbPids } from './support/processes';
import { call, imagesOf, startApp, TestApp, textOf } from './support/app';
import { waitFor } from './support/wait-for';

async function pixels(r: { content?: unknown }) {
  const img = imagesOf(r)[0];
  return sharp(Buffer.from(img.data, 'base64')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
}

function differing(a: Buffer, b: Buffer) {
  let n = 0;
  for (let i = 0; i < a.length; i += 3) if (a[i] !== b[i] || a[i + 1] !== b[i + 1] || a[i + 2] !== b[i + 2]) n++;
  return n;
}

async function displayOf(client: Parameters<typeof call>[0], session_id?: string) {
  const r = await call(client, 'run_command', { command: 'echo $DISPLAY', ...(session_id ? { session_id } : {}) });
  return (r.structuredContent as { stdout: string }).stdout.trim();
}

describe('Real Xvfb desktops through MCP (COMPUTER_PROVIDER=xvfb)', () => {
  let t: TestApp;
  afterEach(async () => t?.close());

  it('typing into the terminal changes the screen and reaches the shell in the computer', async () => {
    t = await startApp({ COMPUTER_PROVIDER: 'xvfb', DESKTOP_PROFILE: 'minimal', SCREEN_WIDTH: '1024', SCREEN_HEIGHT: '768' });
    const client = await t.connect();
    const before = await pixels(await call(client, 'screenshot_cua'));
    expect(before.info).toMatchObject({ width: 1024, height: 768 });
    await call(client, 'computer', { action: 'type', text: 'echo typed-by-mcp > ~/proof.txt', screenshot: false });
    await call(client, 'computer', { action: 'key', text: 'Return' });
    // xterm redraws asynchronously: a screenshot soon shows the change.
    await waitFor('the screen to show the typing', async () => differing(before.data, (await pixels(await call(client, 'screenshot_cua'))).data) > 200, 5000);
    await waitFor('~/proof.txt', async () => ((await call(client, 'run_command', { command: 'cat ~/proof.txt 2>/dev/null' })).structuredContent as { stdout: string }).stdout.trim() === 'typed-by-mcp', 5000);
  }, 60_000);

  it('run_command with background=true opens an application that keeps its window; cleanup_session stops it', async () => {
    t = await startApp({ COMPUTER_PROVIDER: 'xvfb', DESKTOP_PROFILE: 'minimal', SCREEN_WIDTH: '1280', SCREEN_HEIGHT: '800' });
    const client = await t.connect();
    const before = await pixels(await call(client, 'screenshot_cua', { session_id: 'bg' }));
    // Without background, a program sent to the background ends with its command: no window stays.
    await call(client, 'run_command', { command: 'xterm -title Gone -geometry 20x5+1040+420 & sleep 0.3', session_id: 'bg' });
    const started = await call(client, 'run_command', { command: 'xterm -title Kept -geometry 20x5+1040+420', background: true, session_id: 'bg' });
    expect(started.isError).toBeFalsy();
    // No pid: a host pid would tell the tenant about the host, and no command of theirs could use it.
    expect(textOf(started)).toMatch(/started in the background;/);
    // The call waited for the screen to show the new window before it returned.
    expect(started.structuredContent).toEqual({ background: true, settle: { waited_ms: expect.any(Number), hit_cap: false, changed: true } });
    const kept = () => pidsNamed('xterm', process.pid).filter((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('Kept'));
    const [pid] = await waitFor('the kept xterm', () => kept().length > 0 && kept(), 10_000);
    // The window appears on the bare desktop at the right, after the call returned, and stays.
    // The bare desktop right of the terminal (x ≥ 1000, y ≥ 300 of 1280x800), RGB.
    const region = (img: Buffer, width: number) => {
      const rows: Buffer[] = [];
      for (let y = 300; y < 800; y++) rows.push(img.subarray((y * width + 1000) * 3, (y * width + width) * 3));
      return Buffer.concat(rows);
    };
    await waitFor('the window on the screen', async () => {
      const now = await pixels(await call(client, 'screenshot_cua', { session_id: 'bg' }));
      return differing(region(before.data, before.info.width), region(now.data, now.info.width)) >= 500;
    }, 5000);
    await waitFor('only the kept window to be listed', async () => {
      const listed = await call(client, 'run_command', { command: 'xdotool search --name "^(Kept|Gone)$" getwindowname %@', session_id: 'bg' });
      expect((listed.structuredContent as { stdout: string }).stdout.trim().split('\n')).toEqual(['Kept']);
      return true;
    }, 5000);
    await call(client, 'cleanup_session', { session_id: 'bg' });
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    // timeout_ms means nothing for a program not waited for: a clear error, not a silent ignore.
    const both = await call(client, 'run_command', { command: 'xterm', background: true, timeout_ms: 1000 });
    expect(both.isError).toBe(true);
    expect(textOf(both)).toMatch(/leave it out with background=true/);
  }, 60_000);

  it('two sessions are isolated: files, displays and homes of one are invisible to the other', async () => {
    t = await startApp({ COMPUTER_PROVIDER: 'xvfb', DESKTOP_PROFILE: 'minimal' });
    const client = await t.connect();
    await call(client, 'run_command', { command: 'echo top-secret > ~/secret.txt', session_id: 'a' });
    const dispA = await displayOf(client, 'a');
    const dispB = await displayOf(client, 'b');
    expect(dispA).not.toBe(dispB);
    const readB = await call(client, 'run_command', { command: 'cat ~/secret.txt; ls -A /tmp/.X11-unix', session_id: 'b' });
    const r = readB.structuredContent as { stdout: string; stderr: string; exit_code: number };
    expect(r.stdout).not.toMatch(/top-secret/);
    expect(r.stdout.trim()).toBe(`X${dispB.slice(1)}`);
    const reach = await call(client, 'run_command', { command: `xdpyinfo -display ${dispA} >/dev/null 2>&1 && echo reached || echo refused`, session_id: 'b' });
    expect((reach.structuredContent as { stdout: string }).stdout.trim()).toBe('refused');
    const ownA = await call(client, 'run_command', { command: 'cat ~/secret.txt', session_id: 'a' });
    expect((ownA.structuredContent as { stdout: string }).stdout.trim()).toBe('top-secret');
  }, 60_000);

  it('a killed Xvfb gives a clear error, then the session gets a fresh computer (no hang)', async () => {
    t = await startApp({ COMPUTER_PROVIDER: 'xvfb', DESKTOP_PROFILE: 'minimal' });
    const client = await t.connect();
    const display = await displayOf(client);
    expect(display).toMatch(/^:\d+$/);
    const mine = xvfbPids();
    expect(mine).toHaveLength(1);
    const [pid] = mine;
    process.kill(pid, 'SIGKILL');
    await waitFor('Xvfb to be gone', () => !alive(pid), 5000);
    const t0 = Date.now();
    const failed = await call(client, 'screenshot_cua');
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(failed.isError).toBe(true);
    expect(textOf(failed)).toMatch(/COMPUTER_FAILED/);
    const again = await call(client, 'screenshot_cua');
    expect(again.isError).toBeFalsy();
    expect(await displayOf(client)).not.toBe('');
  }, 60_000);

  it('screenshots of a large screen respect the size, pixel and byte limits, and coordinates map back', async () => {
    t = await startApp({ COMPUTER_PROVIDER: 'xvfb', DESKTOP_PROFILE: 'minimal', SCREEN_WIDTH: '1920', SCREEN_HEIGHT: '1200' });
    const client = await t.connect();
    const shot = await call(client, 'screenshot_cua');
    const { info } = await pixels(shot);
    expect(Math.max(info.width, info.height)).toBeLessThanOrEqual(1568);
    expect(info.width * info.height).toBeLessThanOrEqual(1_150_000);
    expect(Buffer.from(imagesOf(shot)[0].data, 'base64').length).toBeLessThanOrEqual(1_000_000);
    expect(textOf(shot)).toMatch(new RegExp(`${info.width}x${info.height} PNG.*screen 1920x1200, scale 0\\.\\d+`));
    const target: [number, number] = [Math.round(info.width * 0.75), Math.round(info.height * 0.25)];
    await call(client, 'computer', { action: 'mouse_move', coordinate: target, screenshot: false });
    const pos = await call(client, 'computer', { action: 'cursor_position' });
    const [x, y] = (pos.structuredContent as { coordinate: [number, number] }).coordinate;
    expect(Math.abs(x - target[0])).toBeLessThanOrEqual(1);
    expect(Math.abs(y - target[1])).toBeLessThanOrEqual(1);
    const out = await call(client, 'computer', { action: 'left_click', coordinate: [info.width, 5] });
    expect(textOf(out)).toMatch(new RegExp(`x must be 0..${info.width - 1}`));
  }, 60_000);

  it('closing the app leaves no Xvfb process, display lock or socket behind', async () => {
    t = await startApp({ COMPUTER_PROVIDER: 'xvfb', DESKTOP_PROFILE: 'minimal' });
    const client = await t.connect();
    const displays = await Promise.all(['p', 'q', 'r'].map((s) => displayOf(client, s)));
    expect(new Set(displays).size).toBe(3);
    const started = xvfbPids();
    expect(started).toHaveLength(3);
    await t.close();
    expect(started.filter(alive)).toEqual([]);
    expect(xvfbPids()).toEqual([]);
    for (const d of displays) {
      const n = d.slice(1);
      expect(existsSync(`/tmp/.X${n}-lock`)).toBe(false);
      expect(existsSync(`/tmp/.X11-unix/X${n}`)).toBe(false);
    }
  }, 60_000);
});

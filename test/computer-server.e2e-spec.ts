import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import WebSocket from 'ws';
import { childEnv, MAIN, startNode } from './support/server-process';
import { pidsNamed } from './support/processes';
import { waitFor } from './support/wait-for';

/**
 * computer-server mode end to end: the built server (dist/main.js computer-server) as its own
 * process with a real Xvfb desktop, driven over raw WebSocket frames and raw HTTP.
 */

interface CsProcess {
  proc: ChildProcess;
  base: string;
  ws: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(killAfterMs: number): Promise<void>;
}

const KEY = 'test-key-0123456789abcdef';
/** A decoded reply: fields vary by command. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

async function startServer(env: Record<string, string> = {}, args: string[] = ['--port', '0']): Promise<CsProcess> {
  // CONTAINER_NAME is set on these machines; the server must not depend on it.
  const p = await startNode(
    [MAIN, 'computer-server', ...args],
    childEnv({ LOG_LEVEL: 'info', NO_COLOR: '1', DESKTOP_PROFILE: 'minimal', SCREEN_WIDTH: '1024', SCREEN_HEIGHT: '768', ...env }, ['COMPUTER_SERVER_API_KEY']),
    /Computer server: (https?:\/\/\S+)/,
    'computer server',
    30_000,
  );
  return { proc: p.proc, base: p.match[1], ws: `${p.match[1].replace('http', 'ws')}/ws`, output: p.output, exited: p.exited, stop: p.stop };
}

async function stop(s: CsProcess | undefined) {
  await s?.stop(20_000);
}

/** A raw WebSocket client that keeps every frame it receives, as text. */
class RawClient {
  readonly frames: string[] = [];
  closed: { code: number; reason: string } | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d: Buffer) => this.frames.push(d.toString('utf8')));
    ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
    ws.on('error', () => undefined);
  }

  static async open(url: string): Promise<RawClient> {
    const ws = new WebSocket(url, { maxPayload: 64 * 1024 * 1024 });
    const c = new RawClient(ws);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([once(ws, 'open'), new Promise((_, rej) => (timer = setTimeout(() => rej(new Error('ws open timeout')), 10_000)))]);
    } finally {
      clearTimeout(timer);
    }
    return c;
  }

  /** Waits until `n` frames in total have arrived (or the socket closed). */
  frameCount(n: number, timeoutMs = 30_000): Promise<string[]> {
    return waitFor(`${n} frames or the socket to close`, () => (this.frames.length >= n || this.closed) && this.frames.slice(0, n), timeoutMs, 5);
  }

  /** Waits until the server has closed the socket; how it closed it. */
  closedWithin(timeoutMs = 10_000) {
    return waitFor('the server to close the socket', () => this.closed, timeoutMs, 5);
  }

  sendRaw(text: string | Buffer) {
    this.ws.send(text);
  }

  /** Sends one request and returns the next reply, raw. */
  async rawCall(command: string, params?: object): Promise<string> {
    const n = this.frames.length + 1;
    this.ws.send(JSON.stringify(params === undefined ? { command } : { command, params }));
    const frames = await this.frameCount(n);
    if (frames.length < n) throw new Error(`socket closed before the reply to ${command}: ${JSON.stringify(this.closed)}`);
    return frames[n - 1];
  }

  async call<T = Json>(command: string, params?: object): Promise<T & { success: boolean; error?: string }> {
    return JSON.parse(await this.rawCall(command, params));
  }

  close() {
    this.ws.terminate();
  }
}

/** A raw HTTP request; the body is returned as text exactly as it came. */
function http(
  base: string,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, agent: false, headers: { 'content-type': 'application/json', ...headers }, timeout: 60_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('http timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

const cmd = (base: string, command: string, params?: object, headers?: Record<string, string>) =>
  http(base, 'POST', '/cmd', JSON.stringify(params === undefined ? { command } : { command, params }), headers);
/** The JSON of a /cmd reply, after checking it is exactly one `data:` line and a blank line. */
function cmdJson(r: { status: number; type: string; body: string }): Json {
  expect(r.status).toBe(200);
  expect(r.type).toMatch(/^text\/plain/);
  expect(r.body).toMatch(/^data: \{.*\}\n\n$/s);
  expect(r.body.slice(0, -2)).not.toContain('\n');
  return JSON.parse(r.body.slice('data: '.length));
}

async function screenPixels(c: RawClient) {
  const r = await c.call<{ image_data: string }>('screenshot');
  expect(r.success).toBe(true);
  return sharp(Buffer.from(r.image_data, 'base64')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
}
function differing(a: Buffer, b: Buffer) {
  let n = 0;
  for (let i = 0; i < a.length; i += 3) if (a[i] !== b[i] || a[i + 1] !== b[i + 1] || a[i + 2] !== b[i + 2]) n++;
  return n;
}

/** Every process below `root` (by parent pid), read from /proc, with its command name. */
function descendants(root: number): { pid: number; comm: string }[] {
  const parent = new Map<number, number>();
  const comm = new Map<number, string>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const m = /^(\d+) \((.*)\) (\S) (\d+)/.exec(readFileSync(`/proc/${e}/stat`, 'utf8'));
      if (m && m[3] !== 'Z') {
        parent.set(Number(m[1]), Number(m[4]));
        comm.set(Number(m[1]), m[2]);
      }
    } catch {
      // gone while we looked
    }
  }
  const out: { pid: number; comm: string }[] = [];
  const todo = [root];
  while (todo.length) {
    const p = todo.pop()!;
    for (const [child, pp] of parent) {
      if (pp === p) {
        out.push({ pid: child, comm: comm.get(child)! });
        todo.push(child);
      }
    }
  }
  return out;
}
function stillRunning(p: { pid: number; comm: string }): boolean {
  try {
    const m = /^\d+ \((.*)\) (\S)/.exec(readFileSync(`/proc/${p.pid}/stat`, 'utf8'));
    return !!m && m[1] === p.comm && m[2] !== 'Z';
  } catch {
    return false;
  }
}

describe('computer-server mode without an API key', () => {
  let s: CsProcess;
  let c: RawClient;
  /** The terminal window's geometry on screen (found with xwininfo inside the desktop). */
  let term: { x: number; y: number; width: number; height: number };

  beforeAll(async () => {
    // CONTAINER_NAME must not switch on any cloud authentication (the Python server's does).
    s = await startServer({ CONTAINER_NAME: 'cloud-desk-1' });
    c = await RawClient.open(s.ws);
    const r = await c.call<{ stdout: string }>('run_command', { command: 'xwininfo -name Terminal' });
    const v = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(r.stdout)![1]);
    term = { x: v('Absolute upper-left X'), y: v('Absolute upper-left Y'), width: v('Width'), height: v('Height') };
  }, 60_000);
  afterAll(async () => {
    c?.close();
    await stop(s);
  });

  /** Types a shell line into the terminal (which has the focus) and waits until it wrote `file`. */
  async function shellLine(line: string, file: string, expected: string) {
    await c.call('type_text', { text: line });
    await c.call('press_key', { key: 'enter' });
    await waitFor(`${file} to hold ${JSON.stringify(expected)}`, async () => {
      expect((await c.call<{ content?: string }>('read_text', { path: file })).content).toBe(expected);
      return true;
    }, 10_000);
  }

  /** The screen once it has stopped changing: two screenshots in a row, 100 ms apart, that are the same. */
  async function stillScreen() {
    let last = await screenPixels(c);
    return waitFor('the screen to stop changing', async () => {
      const now = await screenPixels(c);
      const same = differing(last.data, now.data) === 0;
      last = now;
      return same && now;
    }, 10_000, 100);
  }

  /** The desktop's processes named `name` whose arguments are `args`. */
  const running = (name: string, ...args: string[]) => pidsNamed(name, s.proc.pid).filter((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8') === [name, ...args, ''].join('\u0000'));

  it('warns loudly that it is open, listens on loopback, and ignores CONTAINER_NAME', async () => {
    expect(s.output()).toMatch(/NO API KEY CONFIGURED/);
    expect(s.base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(cmdJson(await cmd(s.base, 'get_screen_size'))).toEqual({ success: true, size: { width: 1024, height: 768 } });
  });

  it('GET /status and GET /commands describe what it serves', async () => {
    const st = await http(s.base, 'GET', '/status');
    expect(st.status).toBe(200);
    // `vnc`: this project's WS /vnc, for the live view (X0tigervnc is installed here).
    expect(st.body).toBe('{"status":"ok","os_type":"linux","features":["meta","screen","mouse","scroll","keyboard","shell","apps","clipboard","files","vnc"]}');
    const list = JSON.parse((await http(s.base, 'GET', '/commands')).body);
    const names = list.commands.map((x: { name: string }) => x.name);
    expect(names).toEqual(expect.arrayContaining(['screenshot', 'left_click', 'drag', 'run_command', 'set_clipboard', 'read_bytes', 'delete_dir']));
    expect(names).not.toContain('get_accessibility_tree');
    expect(list.commands.find((x: { name: string }) => x.name === 'type_text')).toMatchObject({ aliases: ['type'], params: [{ name: 'text', type: 'string', required: true }] });
  });

  it('version, over WS and over /cmd, byte for byte', async () => {
    const version = JSON.parse(readFileSync(`${__dirname}/../package.json`, 'utf8')).version as string;
    const expected = `{"success":true,"protocol":1,"package":"${version}"}`;
    expect(await c.rawCall('version')).toBe(expected);
    const r = await cmd(s.base, 'version');
    expect(r.status).toBe(200);
    expect(r.type).toBe('text/plain; charset=utf-8');
    expect(r.body).toBe(`data: ${expected}\n\n`);
  });

  it('screenshot: a PNG of the whole screen by default, JPEG on request, over both channels', async () => {
    const png = await c.call<{ image_data: string }>('screenshot');
    const buf = Buffer.from(png.image_data, 'base64');
    expect(buf.subarray(0, 4).toString('hex')).toBe('89504e47');
    const meta = await sharp(buf).metadata();
    expect([meta.width, meta.height]).toEqual([1024, 768]);
    const jpeg = cmdJson(await cmd(s.base, 'screenshot', { format: 'jpeg', quality: 30 }));
    const jbuf = Buffer.from(jpeg.image_data as string, 'base64');
    expect(jbuf.subarray(0, 2).toString('hex')).toBe('ffd8');
    expect((await sharp(jbuf).metadata()).width).toBe(1024);
    const fine = Buffer.from(cmdJson(await cmd(s.base, 'screenshot', { format: 'jpeg', quality: 95 })).image_data as string, 'base64');
    expect(jbuf.length).toBeLessThan(fine.length);
    expect(await c.call('get_screen_size')).toEqual({ success: true, size: { width: 1024, height: 768 } });
    expect((await c.call('screenshot', { format: 'gif' })).error).toMatch(/format must be "png" or "jpeg"/);
  });

  it('typing and keys reach the shell in the terminal, and the screen shows it', async () => {
    const before = await screenPixels(c);
    await shellLine('echo typed-over-ws > ~/typed.txt', '~/typed.txt', 'typed-over-ws\n');
    const after = await screenPixels(c);
    expect(differing(before.data, after.data)).toBeGreaterThan(200);
    // Over /cmd, with the aliases "type" and "key" and a pyautogui "return".
    expect(cmdJson(await cmd(s.base, 'type', { text: 'echo über-cmd > ~/cmd.txt' }))).toEqual({ success: true });
    expect(cmdJson(await cmd(s.base, 'key', { key: 'return' }))).toEqual({ success: true });
    await waitFor('~/cmd.txt', async () => (await c.call('read_text', { path: '~/cmd.txt' })).content === 'über-cmd\n', 10_000);
  });

  it('hotkey ctrl+c interrupts the terminal; key_down/key_up hold shift', async () => {
    await c.call('type_text', { text: 'sleep 300' });
    await c.call('press_key', { key: 'enter' });
    await waitFor('sleep 300 to run in the terminal', () => running('sleep', '300').length === 1, 10_000);
    expect(await c.call('hotkey', { keys: ['ctrl', 'c'] })).toEqual({ success: true });
    await waitFor('ctrl+c to end sleep 300', () => running('sleep', '300').length === 0, 10_000);
    await c.call('type_text', { text: 'echo ' });
    expect(await c.call('key_down', { key: 'shift' })).toEqual({ success: true });
    await c.call('press_key', { key: 'q' });
    expect(await c.call('key_up', { key: 'shift' })).toEqual({ success: true });
    await shellLine(' > ~/shift.txt', '~/shift.txt', 'Q\n');
  });

  it('an unknown key is success:false naming it, over both channels', async () => {
    expect(await c.rawCall('press_key', { key: 'hyperdrive' })).toMatch(/^\{"success":false,"error":"Unknown key: \\"hyperdrive\\"/);
    expect(cmdJson(await cmd(s.base, 'hotkey', { keys: ['ctrl', 'warp9'] })).error).toMatch(/Unknown key: "warp9"/);
  });

  it('moves and clicks the mouse; x and y are optional (at the cursor)', async () => {
    // On the terminal's title bar: clicks inside the terminal would leave it a selection anchor, and
    // under load the drag test below then got a selection extended from it instead of a new one.
    const bar = { x: term.x + 200, y: term.y - 10 };
    expect(await c.call('move_cursor', { x: bar.x - 10, y: bar.y })).toEqual({ success: true });
    expect(await c.call('get_cursor_position')).toEqual({ success: true, position: { x: bar.x - 10, y: bar.y } });
    expect(cmdJson(await cmd(s.base, 'left_click', bar))).toEqual({ success: true });
    expect(await c.call('get_cursor_position')).toEqual({ success: true, position: bar });
    expect(await c.call('click', { x: null, y: null })).toEqual({ success: true });
    expect(await c.call('get_cursor_position')).toEqual({ success: true, position: bar });
    expect((await c.call('left_click', { x: 5 })).error).toMatch(/both x and y/);
    expect((await c.call('left_click', { x: 5000, y: 5 })).error).toMatch(/outside the 1024x768 screen/);
    expect((await c.call('move_cursor', { x: 'a', y: 1 })).error).toMatch(/x must be a number/);
  });

  it('drag (path and older form), drag_to and mouse_down/up select text in the terminal', async () => {
    const primary = async () => (await c.call<{ stdout: string }>('run_command', { command: 'xclip -o -selection primary 2>/dev/null || true' })).stdout;
    await shellLine('clear; echo SELECTME; echo shown > ~/.selectme', '~/.selectme', 'shown\n');
    // The shell has run the line, but xterm may not have drawn all of it yet (under load the drag
    // then selected blank rows). Wait until the screen is the cleared one: ink on the first row
    // (SELECTME), the prompt on the second, and nothing on the rows below (30 rows of text).
    const rowHeight = term.height / 30;
    const inkIn = (data: Buffer, width: number, fromRow: number, toRow: number) => {
      let ink = 0;
      for (let y = Math.round(term.y + fromRow * rowHeight); y < Math.round(term.y + toRow * rowHeight); y++) {
        for (let x = term.x + 2; x < term.x + term.width - 20; x++) if (data[(y * width + x) * 3] < 128) ink++;
      }
      return ink;
    };
    await waitFor('the cleared terminal showing only SELECTME and a prompt', async () => {
      const { data, info } = await screenPixels(c);
      return inkIn(data, info.width, 0, 1) > 40 && inkIn(data, info.width, 2.2, 8) === 0;
    }, 10_000);
    await stillScreen();
    const left = term.x + 3;
    const right = term.x + term.width - 5;
    const top = term.y + 3;
    const lower = term.y + 40;
    const selections: string[] = [];
    // A failed wait shows what the selection held instead.
    const selected = () =>
      waitFor('SELECTME selected', async () => {
        const v = await primary();
        expect(v).toContain('SELECTME');
        return v;
      }, 10_000);
    // Before each way of selecting, the primary selection holds CLEARED, served by an xclip that
    // keeps running in the foreground (launched, so it is not ended with a command) until the
    // terminal takes the selection. A backgrounded `xclip -i` in run_command would race the drag: it
    // forks, takes the selection late, and is ended with the command, leaving no selection at all.
    const clearSelection = async () => {
      await c.call('launch', { app: 'sh', args: ['-c', 'printf CLEARED | exec xclip -quiet -i -selection primary'] });
      await waitFor('xclip to own the primary selection', async () => (await primary()) === 'CLEARED', 10_000);
    };
    // Each way of selecting starts with the terminal holding the focus (otherwise the window
    // manager takes the press to focus it) and the pointer on SELECTME, as the X server reports them.
    const activeWindow = async () => (await c.call<{ stdout: string }>('run_command', { command: 'xdotool getactivewindow getwindowname 2>/dev/null; true' })).stdout.trim();
    const pointerAtStart = async () => {
      await waitFor('the terminal to have the focus', async () => {
        expect(await activeWindow()).toBe('Terminal');
        return true;
      }, 10_000);
      await c.call('move_cursor', { x: left, y: top });
      await waitFor('the pointer on SELECTME', async () => {
        expect(await c.call('get_cursor_position')).toEqual({ success: true, position: { x: left, y: top } });
        return true;
      }, 10_000);
    };
    // Path form.
    await clearSelection();
    await pointerAtStart();
    expect(await c.call('drag', { path: [[left, top], [(left + right) / 2, top + 10], [right, lower]] })).toEqual({ success: true });
    selections.push(await selected());
    // The older start/end form.
    await clearSelection();
    await pointerAtStart();
    expect(await c.call('drag', { start_x: left, start_y: top, end_x: right, end_y: lower, duration: 0 })).toEqual({ success: true });
    selections.push(await selected());
    // drag_to from the cursor.
    await clearSelection();
    await pointerAtStart();
    expect(cmdJson(await cmd(s.base, 'drag_to', { x: right, y: lower, duration: 0.1 }))).toEqual({ success: true });
    selections.push(await selected());
    // mouse_down / move / mouse_up.
    await clearSelection();
    await pointerAtStart();
    expect(await c.call('mouse_down', { x: left, y: top, button: 'left' })).toEqual({ success: true });
    await c.call('move_cursor', { x: (left + right) / 2, y: top + 10 });
    await c.call('move_cursor', { x: right, y: lower });
    expect(await c.call('mouse_up', { button: 'left' })).toEqual({ success: true });
    selections.push(await selected());
    for (const sel of selections) expect(sel).toContain('SELECTME');
    // One double click selects one word.
    await clearSelection();
    await c.call('double_click', { x: term.x + 3 + 3 * 7, y: top + 6 });
    await waitFor('the word selected', async () => {
      expect((await primary()).trim()).toBe('SELECTME');
      return true;
    }, 10_000);
    expect((await c.call('mouse_down', { button: 'thumb' })).error).toMatch(/button must be "left", "right" or "middle"/);
  });

  it('scroll, scroll_up/down and scroll_direction move the terminal through its history', async () => {
    await shellLine('clear; seq 1 300; echo shown > ~/.seq', '~/.seq', 'shown\n');
    await c.call('move_cursor', { x: term.x + term.width / 2, y: term.y + term.height / 2 });
    const base = await stillScreen();
    const changedFromBase = async () => differing(base.data, (await screenPixels(c)).data);
    expect(await c.call('scroll_up', { clicks: 3 })).toEqual({ success: true });
    await waitFor('the view to scroll up', async () => (await changedFromBase()) > 200, 10_000);
    expect(await c.call('scroll_down', { clicks: 3 })).toEqual({ success: true });
    await waitFor('the view to scroll back', async () => (await changedFromBase()) === 0, 10_000);
    expect(cmdJson(await cmd(s.base, 'scroll', { x: 0, y: -2 }))).toEqual({ success: true });
    await waitFor('the view to scroll up', async () => (await changedFromBase()) > 200, 10_000);
    expect(await c.call('scroll_direction', { direction: 'down', clicks: 2 })).toEqual({ success: true });
    await waitFor('the view to scroll back', async () => (await changedFromBase()) === 0, 10_000);
    // Agents that pass pixels (300) get the most wheel clicks one request does (100), not an error.
    expect(await c.call('scroll', { x: 0, y: -300 })).toEqual({ success: true });
    await waitFor('the view to scroll up', async () => (await changedFromBase()) > 200, 10_000);
    expect(await c.call('scroll', { x: 0, y: 300 })).toEqual({ success: true });
    await waitFor('the view to scroll back', async () => (await changedFromBase()) === 0, 10_000);
    expect((await c.call('scroll_direction', { direction: 'sideways' })).error).toMatch(/direction must be/);
  });

  it('run_command runs in the desktop as its user: stdout, stderr, exit code, timeout', async () => {
    const r = await c.call('run_command', { command: 'id -u; echo "$HOME"; echo oops >&2; exit 3' });
    expect(r).toEqual({ success: true, stdout: '1000\n/home/user\n', stderr: 'oops\n', return_code: 3 });
    expect(cmdJson(await cmd(s.base, 'shell', { command: 'echo via-alias' }))).toEqual({ success: true, stdout: 'via-alias\n', stderr: '', return_code: 0 });
    const slow = await c.call('exec', { command: 'sleep 10', timeout: 0.5 });
    expect(slow.success).toBe(false);
    expect(slow.error).toMatch(/did not finish within 0.5 s/);
  });

  it('launch starts an application that outlives the reply, with its arguments passed as they are (no shell code)', async () => {
    const r = await c.call<{ pid?: number }>('launch', { app: 'sh', args: ['-c', 'echo "$0" > ~/launched.txt; sleep 300', "it's $(id -u)"] });
    // No pid: the server's host pid would tell the client about the host, and no command could use it.
    expect(r).toEqual({ success: true });
    // The argument reached the program as one word, unexpanded, and the program is still running after the reply.
    await waitFor('~/launched.txt', async () => (await c.call<{ content?: string }>('read_text', { path: '~/launched.txt' })).content === "it's $(id -u)\n", 10_000);
    expect(pidsNamed('sleep', s.proc.pid).filter((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8') === 'sleep\u0000300\u0000')).toHaveLength(1);
    expect(cmdJson(await cmd(s.base, 'launch', { app: '' }))).toEqual({ success: false, error: 'launch needs app, e.g. "xterm".' });
  });

  it('the clipboard is the desktop\'s: set_clipboard, copy_to_clipboard, and programs inside see it', async () => {
    const text = 'clip: héllo € 中文\nline 2';
    expect(await c.call('set_clipboard', { text })).toEqual({ success: true });
    expect(await c.call('copy_to_clipboard')).toEqual({ success: true, content: text });
    expect((await c.call('run_command', { command: 'xclip -o -selection clipboard' })).stdout).toBe(text);
    expect(cmdJson(await cmd(s.base, 'set_clipboard', { text: 'second' }))).toEqual({ success: true });
    expect(cmdJson(await cmd(s.base, 'copy_to_clipboard'))).toEqual({ success: true, content: 'second' });
  });

  it('file commands work in the desktop user\'s home, with ~ and relative paths, over both channels', async () => {
    expect(await c.call('create_dir', { path: '~/work/deep/er' })).toEqual({ success: true });
    expect(await c.call('directory_exists', { path: 'work/deep' })).toEqual({ success: true, exists: true });
    expect(await c.call('file_exists', { path: '~/work/deep' })).toEqual({ success: true, exists: false });
    expect(await c.call('write_text', { path: '~/work/a b.txt', content: 'héllo\nwörld' })).toEqual({ success: true });
    expect((await c.call('run_command', { command: 'cat "/home/user/work/a b.txt"' })).stdout).toBe('héllo\nwörld');
    expect(cmdJson(await cmd(s.base, 'read_file', { path: '/home/user/work/a b.txt' }))).toEqual({ success: true, content: 'héllo\nwörld' });
    expect(await c.call('file_exists', { path: '~/work/a b.txt' })).toEqual({ success: true, exists: true });
    expect(await c.call('get_file_size', { path: '~/work/a b.txt' })).toEqual({ success: true, size: Buffer.byteLength('héllo\nwörld') });
    const bytes = Buffer.from([0, 1, 2, 250, 255, 10, 13, 0]);
    expect(await c.call('write_bytes', { path: '~/work/bin', content_b64: bytes.toString('base64') })).toEqual({ success: true });
    expect(await c.call('write_bytes', { path: '~/work/bin', content_b64: Buffer.from([7, 8]).toString('base64'), append: true })).toEqual({ success: true });
    expect(await c.call('read_bytes', { path: '~/work/bin' })).toEqual({ success: true, content_b64: Buffer.concat([bytes, Buffer.from([7, 8])]).toString('base64') });
    expect(await c.call('read_bytes', { path: '~/work/bin', offset: 3, length: 4 })).toEqual({ success: true, content_b64: bytes.subarray(3, 7).toString('base64') });
    expect((await c.call('run_command', { command: 'od -An -tu1 ~/work/bin' })).stdout.trim().split(/\s+/)).toEqual(['0', '1', '2', '250', '255', '10', '13', '0', '7', '8']);
    expect(await c.call('ls', { path: '~/work' })).toEqual({ success: true, files: ['a b.txt', 'bin', 'deep'] });
    expect((await c.call('rmdir', { path: '~/work/deep' })).success).toBe(false); // not empty
    expect(await c.call('rmdir', { path: '~/work/deep/er' })).toEqual({ success: true });
    expect(await c.call('rm', { path: '~/work/bin' })).toEqual({ success: true });
    expect(cmdJson(await cmd(s.base, 'write_file', { path: 'rel.txt', content: 'relative' }))).toEqual({ success: true });
    expect((await c.call('run_command', { command: 'cat /home/user/rel.txt' })).stdout).toBe('relative');
    expect(await c.call('list_dir', { path: '~/work' })).toEqual({ success: true, files: ['a b.txt', 'deep'] });
    expect((await c.call('read_text', { path: '~/nope.txt' })).error).toMatch(/No such file: ~\/nope.txt/);
    expect((await c.call('delete_file', { path: '~/work' })).error).toMatch(/Is a directory/);
    expect((await c.call('read_text', {})).error).toBe('read_text needs path: a path; ~ is the desktop user\'s home.');
  });

  it('files outside the desktop are out of reach: the host\'s files, /etc/shadow, ../.. and /tmp are the sandbox\'s', async () => {
    // The host's checkout and the host's /tmp do not exist inside.
    expect((await c.call('read_text', { path: `${process.cwd()}/package.json` })).error).toMatch(/No such file/);
    expect(await c.call('file_exists', { path: '/root/.bashrc' })).toEqual({ success: true, exists: false });
    expect((await c.call('list_dir', { path: '../..' })).files).not.toEqual(expect.arrayContaining(['work']));
    const root = (await c.call('list_dir', { path: '/' })).files as string[];
    expect(root).not.toContain('root');
    expect(root).not.toContain('work');
    // The host's users and passwords are not in the sandbox's /etc.
    const shadow = await c.call('read_text', { path: '/etc/shadow' });
    expect(shadow.success).toBe(false);
    expect(shadow.error).toMatch(/No such file/); // not in the sandbox's /etc at all
    expect((await c.call('run_command', { command: 'cat /etc/shadow' })).return_code).not.toBe(0);
    // The system folders are read-only.
    expect((await c.call('write_text', { path: '/etc/evil', content: 'x' })).success).toBe(false);
    // /tmp inside is the desktop's own, not the host's.
    const name = `cua-cs-escape-${process.pid}`;
    expect(await c.call('write_text', { path: `/tmp/${name}`, content: 'inside' })).toEqual({ success: true });
    expect(existsSync(`/tmp/${name}`)).toBe(false);
    rmSync(`/tmp/${name}`, { force: true });
    // Paths are arguments, never shell code.
    expect(await c.call('write_text', { path: '~/$(touch pwned)', content: 'x' })).toEqual({ success: true });
    expect(await c.call('file_exists', { path: '~/pwned' })).toEqual({ success: true, exists: false });
  });

  it('unknown, unsupported and malformed requests get the reference replies, and the connection keeps serving', async () => {
    expect(await c.rawCall('nope')).toBe('{"success":false,"error":"Unknown command: nope"}');
    expect(await c.rawCall('get_accessibility_tree')).toBe('{"success":false,"error":"get_accessibility_tree is not supported by this server"}');
    c.sendRaw('{"command": ');
    const bad = (await c.frameCount(c.frames.length + 1)).at(-1)!;
    expect(bad).toMatch(/^\{"success":false,"error":"Invalid JSON: [^"]+"\}$/);
    c.sendRaw('{"params":{}}');
    expect((await c.frameCount(c.frames.length + 1)).at(-1)).toBe('{"success":false,"error":"Command is required"}');
    expect(JSON.parse(await c.rawCall('version')).success).toBe(true);

    const unknown = await cmd(s.base, 'nope');
    expect([unknown.status, unknown.body]).toEqual([400, '{"detail":"Unknown command: nope"}']);
    const missing = await http(s.base, 'POST', '/cmd', '{"params":{}}');
    expect([missing.status, missing.body]).toEqual([400, '{"detail":"Command is required"}']);
    const badJson = await http(s.base, 'POST', '/cmd', '{"command":');
    expect(badJson.status).toBe(400);
    expect(JSON.parse(badJson.body).detail).toMatch(/^Invalid JSON: /);
    expect(cmdJson(await cmd(s.base, 'find_element', { role: 'button' }))).toEqual({ success: false, error: 'find_element is not supported by this server' });
    expect(cmdJson(await cmd(s.base, 'version', { unknown_param: 1 })).success).toBe(true);
  });

  it('an oversized frame closes only that connection (1009); others keep working', async () => {
    const big = await RawClient.open(s.ws);
    big.sendRaw(JSON.stringify({ command: 'type_text', params: { text: 'x'.repeat(10 * 1024 * 1024 + 10) } }));
    expect((await big.closedWithin())?.code).toBe(1009);
    expect(JSON.parse(await c.rawCall('version')).success).toBe(true);
    const r = await http(s.base, 'POST', '/cmd', Buffer.alloc(10 * 1024 * 1024 + 10, 0x20));
    expect([r.status, JSON.parse(r.body).detail]).toEqual([413, 'The request is larger than 10485760 bytes']);
    expect(cmdJson(await cmd(s.base, 'version')).success).toBe(true);
  });

  it('web pages are kept out: a foreign Origin or Host gets 403 on /cmd and /ws', async () => {
    const fromPage = await cmd(s.base, 'version', undefined, { Origin: 'https://evil.example' });
    expect([fromPage.status, fromPage.body]).toEqual([403, '{"detail":"Requests from web pages are not accepted (Origin https://evil.example)"}']);
    const rebound = await cmd(s.base, 'version', undefined, { Host: 'evil.example:8000' });
    expect([rebound.status, rebound.body]).toEqual([403, '{"detail":"Host evil.example:8000 is not allowed for a server bound to loopback"}']);
    expect(cmdJson(await cmd(s.base, 'version', undefined, { Origin: 'http://localhost:5173' })).success).toBe(true);
    const ws = new WebSocket(s.ws, { origin: 'https://evil.example' });
    const [err] = (await once(ws, 'error')) as [Error];
    expect(err.message).toMatch(/Unexpected server response: 403/);
    expect(JSON.parse(await c.rawCall('version')).success).toBe(true);
  });

  it('a client that queues more than 64 requests without reading is dropped (1008); others keep working', async () => {
    const flood = await RawClient.open(s.ws);
    flood.sendRaw(JSON.stringify({ command: 'run_command', params: { command: 'sleep 1' } }));
    for (let i = 0; i < 80; i++) flood.sendRaw('{"command":"version"}');
    expect(await flood.closedWithin()).toEqual({ code: 1008, reason: 'More than 64 requests waiting; wait for replies' });
    expect(JSON.parse(await c.rawCall('version')).success).toBe(true);
  });

  it('pipelined requests are answered in order on a connection; a slow connection does not hold up another', async () => {
    const p = await RawClient.open(s.ws);
    const n = 12;
    for (let i = 0; i < n; i++) {
      // Earlier requests take longer: out-of-order processing would show.
      const req = i % 3 === 0 ? { command: 'run_command', params: { command: `sleep 0.${n - i}; echo ${i}` } } : { command: 'get_cursor_position' };
      p.sendRaw(JSON.stringify(req));
    }
    const other = await RawClient.open(s.ws);
    const t0 = Date.now();
    const slow = other.call('run_command', { command: 'sleep 2; echo slow' });
    const third = await RawClient.open(s.ws);
    expect(JSON.parse(await third.rawCall('version')).success).toBe(true);
    const fastMs = Date.now() - t0;
    const replies = (await p.frameCount(n)).map((f) => JSON.parse(f));
    replies.forEach((r, i) => {
      if (i % 3 === 0) expect(r).toEqual({ success: true, stdout: `${i}\n`, stderr: '', return_code: 0 });
      else expect(r.position).toBeDefined();
    });
    expect((await slow).stdout).toBe('slow\n');
    expect(fastMs).toBeLessThan(Date.now() - t0);
    for (const x of [p, other, third]) x.close();
  });
});

describe('computer-server mode with an API key', () => {
  let s: CsProcess;
  beforeAll(async () => {
    s = await startServer({ COMPUTER_SERVER_API_KEY: KEY, COMPUTER_SERVER_CONTAINER_NAME: 'desk-1' }, ['--port', '0', '--host', '127.0.0.1']);
  }, 60_000);
  afterAll(async () => stop(s));

  async function firstFrame(frame: string) {
    const c = await RawClient.open(s.ws);
    c.sendRaw(frame);
    const [reply] = await c.frameCount(1);
    const closed = await c.closedWithin();
    return { reply, closed };
  }

  it('WS: the first frame must authenticate, with the exact replies and a close', async () => {
    expect(await firstFrame('{"command":"version"}')).toEqual({ reply: '{"success":false,"error":"First message must be authentication"}', closed: expect.objectContaining({ code: 1008 }) });
    expect((await firstFrame('not json')).reply).toBe('{"success":false,"error":"First message must be authentication"}');
    expect((await firstFrame('{"command":"authenticate","params":{}}')).reply).toBe('{"success":false,"error":"API key required"}');
    expect((await firstFrame(`{"command":"authenticate","params":{"api_key":"${KEY}"}}`)).reply).toBe('{"success":false,"error":"Container name required"}');
    expect((await firstFrame('{"command":"authenticate","params":{"api_key":"wrong-key-0123456789","container_name":"desk-1"}}')).reply).toBe(
      '{"success":false,"error":"Authentication failed"}',
    );
    expect((await firstFrame(`{"command":"authenticate","params":{"api_key":"${KEY}","container_name":"desk-2"}}`)).reply).toBe('{"success":false,"error":"Authentication failed"}');
  });

  it('a client retrying a wrong key does not flood the log: refusals within a minute are counted, not each logged', async () => {
    const refusals = () => s.output().split('\n').filter((l) => /Refused a (client|WebSocket)/.test(l)).length;
    const before = refusals();
    for (let i = 0; i < 5; i++) {
      expect((await firstFrame('{"command":"authenticate","params":{"api_key":"wrong-key-0123456789","container_name":"desk-1"}}')).reply).toBe(
        '{"success":false,"error":"Authentication failed"}',
      );
    }
    // The test before already refused clients in this minute: these five add no line (before the change, five).
    expect(before).toBeGreaterThanOrEqual(1);
    expect(refusals()).toBe(before);
  });

  it('WS: a connection that never authenticates is closed after 10 s', async () => {
    const c = await RawClient.open(s.ws);
    expect(await c.closedWithin(20_000)).toEqual({ code: 1008, reason: 'Authentication timeout' });
    expect(c.frames).toEqual([]);
  }, 30_000);

  it('WS: after authenticating, commands work', async () => {
    const c = await RawClient.open(s.ws);
    expect(await c.rawCall('authenticate', { api_key: KEY, container_name: 'desk-1' })).toBe('{"success":true,"message":"Authentication successful"}');
    expect((await c.call('run_command', { command: 'echo authed' })).stdout).toBe('authed\n');
    c.close();
  });

  it('HTTP: X-API-Key and X-Container-Name, 401 with detail otherwise; /status stays open', async () => {
    const none = await cmd(s.base, 'version');
    expect([none.status, none.body]).toEqual([401, '{"detail":"API key required"}']);
    const noContainer = await cmd(s.base, 'version', undefined, { 'X-API-Key': KEY });
    expect([noContainer.status, noContainer.body]).toEqual([401, '{"detail":"Container name required"}']);
    const wrong = await cmd(s.base, 'version', undefined, { 'X-API-Key': `${KEY}x`, 'X-Container-Name': 'desk-1' });
    expect([wrong.status, wrong.body]).toEqual([401, '{"detail":"Authentication failed"}']);
    expect(cmdJson(await cmd(s.base, 'version', undefined, { 'X-API-Key': KEY, 'X-Container-Name': 'desk-1' })).success).toBe(true);
    expect((await http(s.base, 'GET', '/status')).status).toBe(200);
    const auth = { 'X-API-Key': KEY, 'X-Container-Name': 'desk-1' };
    expect(cmdJson(await cmd(s.base, 'authenticate', { api_key: KEY, container_name: 'desk-1' }, auth))).toEqual({ success: true, message: 'Authentication successful' });
  });

  it('never logs the key and does not warn about being open', () => {
    expect(s.output()).not.toContain(KEY);
    expect(s.output()).not.toMatch(/NO API KEY CONFIGURED/);
  });
});

describe('computer-server mode with TLS (what the Python SDK speaks once it has a key)', () => {
  let s: CsProcess;
  let dir: string;
  let cert: Buffer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cs-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore', timeout: 30_000 });
    cert = readFileSync(join(dir, 'cert.pem'));
    s = await startServer({ COMPUTER_SERVER_API_KEY: KEY, COMPUTER_SERVER_TLS_CERT_FILE: join(dir, 'cert.pem'), COMPUTER_SERVER_TLS_KEY_FILE: join(dir, 'key.pem') }, ['--port', '0', '--host', '127.0.0.1']);
  }, 60_000);
  afterAll(async () => {
    await stop(s);
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves wss and https with the certificate; authentication works the same', async () => {
    expect(s.base).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ws = new WebSocket(s.ws, { ca: cert });
    const frames: string[] = [];
    ws.on('message', (d: Buffer) => frames.push(d.toString()));
    await once(ws, 'open');
    ws.send(JSON.stringify({ command: 'authenticate', params: { api_key: KEY, container_name: 'any' } }));
    ws.send(JSON.stringify({ command: 'get_screen_size' }));
    await waitFor('two replies', () => frames.length >= 2, 10_000);
    expect(frames).toEqual(['{"success":true,"message":"Authentication successful"}', '{"success":true,"size":{"width":1024,"height":768}}']);
    ws.close();
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest(`${s.base}/cmd`, { method: 'POST', ca: cert, agent: false, headers: { 'X-API-Key': KEY }, timeout: 30_000 }, (res) => {
        let t = '';
        res.on('data', (d: Buffer) => (t += d.toString()));
        res.on('end', () => resolve(t));
      });
      req.on('error', reject);
      req.end('{"command":"run_command","params":{"command":"echo over-tls"}}');
    });
    expect(body).toBe('data: {"success":true,"stdout":"over-tls\\n","stderr":"","return_code":0}\n\n');
  });
});

describe('computer-server mode shutdown', () => {
  it('SIGTERM finishes the command in flight, closes the sockets and leaves no desktop processes', async () => {
    const s = await startServer();
    try {
      const c = await RawClient.open(s.ws);
      const kids = descendants(s.proc.pid!);
      expect(kids.map((k) => k.comm)).toEqual(expect.arrayContaining(['Xvfb', 'openbox', 'xterm']));
      const inFlight = c.call('run_command', { command: 'sleep 2; echo finished' });
      await waitFor('the command to be running', () => pidsNamed('sleep', s.proc.pid).length === 1, 10_000);
      s.proc.kill('SIGTERM');
      expect(await inFlight).toEqual({ success: true, stdout: 'finished\n', stderr: '', return_code: 0 });
      expect((await c.closedWithin(15_000))?.code).toBe(1001);
      let timer: NodeJS.Timeout | undefined;
      const exit = await Promise.race([s.exited, new Promise((r) => (timer = setTimeout(() => r('timeout'), 20_000)))]);
      clearTimeout(timer);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(kids.filter(stillRunning)).toEqual([]);
    } finally {
      await stop(s);
    }
  }, 60_000);

  it('a command still running after SHUTDOWN_GRACE_MS is stopped with a clear reply, and the server exits', async () => {
    const s = await startServer({ SHUTDOWN_GRACE_MS: '500' });
    try {
      const c = await RawClient.open(s.ws);
      const kids = descendants(s.proc.pid!);
      const inFlight = c.call('run_command', { command: 'sleep 60; echo never' });
      await waitFor('the command to be running', () => pidsNamed('sleep', s.proc.pid).length === 1, 10_000);
      s.proc.kill('SIGTERM');
      const reply = await inFlight;
      expect(reply.success).toBe(false);
      expect(reply.error).toMatch(/stopped before it finished/);
      expect((await c.closedWithin(15_000))?.code).toBe(1001);
      let timer: NodeJS.Timeout | undefined;
      const exit = await Promise.race([s.exited, new Promise((r) => (timer = setTimeout(() => r('timeout'), 20_000)))]);
      clearTimeout(timer);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(kids.filter(stillRunning)).toEqual([]);
    } finally {
      await stop(s);
    }
  }, 60_000);

  it('when the desktop dies, /status turns 503 and commands fail clearly, and the server still shuts down cleanly', async () => {
    const s = await startServer();
    try {
      const c = await RawClient.open(s.ws);
      expect((await http(s.base, 'GET', '/status')).status).toBe(200);
      const kids = descendants(s.proc.pid!);
      const xvfb = kids.find((k) => k.comm === 'Xvfb')!;
      process.kill(xvfb.pid, 'SIGKILL');
      const st = await waitFor('/status to turn 503', async () => {
        const r = await http(s.base, 'GET', '/status');
        return r.status === 503 && r;
      }, 10_000);
      expect([st.status, st.body]).toEqual([503, '{"detail":"The desktop is not running; restart this server."}']);
      const shot = await c.call('screenshot');
      expect(shot.success).toBe(false);
      expect(shot.error).toMatch(/stopped/);
      expect(JSON.parse(await c.rawCall('version')).success).toBe(true);
      s.proc.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const exit = await Promise.race([s.exited, new Promise((r) => (timer = setTimeout(() => r('timeout'), 20_000)))]);
      clearTimeout(timer);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(kids.filter(stillRunning)).toEqual([]);
    } finally {
      await stop(s);
    }
  }, 60_000);

  it('refuses bad flags and bad settings with a clear message', async () => {
    const run = (args: string[], env: Record<string, string> = {}) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const { CONTAINER_NAME: _c, ...parentEnv } = process.env;
        const p = spawn(process.execPath, [MAIN, 'computer-server', ...args], { env: { ...parentEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        p.stdout.on('data', (d: Buffer) => (out += d.toString()));
        p.stderr.on('data', (d: Buffer) => (out += d.toString()));
        const t = setTimeout(() => p.kill('SIGKILL'), 20_000);
        p.on('exit', (code) => {
          clearTimeout(t);
          resolve({ code, out });
        });
      });
    const flag = await run(['--prot', '1']);
    expect(flag.code).toBe(2);
    expect(flag.out).toMatch(/Unknown argument "--prot"/);
    const halfTls = await run([], { COMPUTER_SERVER_TLS_CERT_FILE: '/nonexistent.pem' });
    expect(halfTls.code).toBe(1);
    expect(halfTls.out).toMatch(/COMPUTER_SERVER_TLS_KEY_FILE.*set both COMPUTER_SERVER_TLS_CERT_FILE and COMPUTER_SERVER_TLS_KEY_FILE, or neither/);
    const missing = await run([], { COMPUTER_SERVER_TLS_CERT_FILE: '/nonexistent.pem', COMPUTER_SERVER_TLS_KEY_FILE: '/nonexistent.key' });
    expect(missing.code).toBe(1);
    expect(missing.out).toMatch(/COMPUTER_SERVER_TLS_CERT_FILE: cannot read \/nonexistent.pem/);
    const short = await run([], { COMPUTER_SERVER_API_KEY: 'short' });
    expect(short.code).toBe(1);
    expect(short.out).toMatch(/COMPUTER_SERVER_API_KEY=\(secret\): must be at least 16 characters/);
    expect(short.out).not.toMatch(/short"/);
  });
});

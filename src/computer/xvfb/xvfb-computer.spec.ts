import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Settings } from '../../config/config.module';
import { COMPUTER_SETTINGS } from '../computer.settings';
import { XVFB_SETTINGS } from './xvfb.settings';
import { isDomainError } from '../../common/domain-error';
import { Frame } from '../computer.port';
import { locatePrograms, ProgramPaths } from './programs';
import { X11Connection } from './x11-connection';
import { XvfbComputer } from './xvfb-computer';
import { XvfbComputerProvider } from './xvfb-computer.provider';
import { MinimalDesktop } from './desktop-profile';
import { lockFileOf, socketOf } from './xvfb-server';
import { waitFor } from '../../../test/support/wait-for';

/*
 * Real desktops: needs Xvfb, openbox, xterm, bubblewrap, x11-utils (xdpyinfo) and xclip.
 * Everything a test starts is closed in afterAll/afterEach, and the first describe checks that
 * closing really leaves nothing behind.
 */

const W = 1280;
const H = 800;
const OUTPUT_LIMIT = 4096;
// No network unless a test asks for it: no test's desktop may reach past this machine.
const config = (extra: Record<string, string> = {}) =>
  Settings.load({ COMPUTER_PROVIDER: 'xvfb', DESKTOP_PROFILE: 'minimal', COMPUTER_NETWORK: 'off', SCREEN_WIDTH: String(W), SCREEN_HEIGHT: String(H), COMMAND_OUTPUT_LIMIT_BYTES: String(OUTPUT_LIMIT), ...extra });
const xvfbProvider = (settings: Settings) => new XvfbComputerProvider(settings.get(COMPUTER_SETTINGS), settings.get(XVFB_SETTINGS));
const provider = xvfbProvider(config());

// The terminal's window (xterm -geometry 100x30+40+40) and a patch of bare desktop beside it.
const TERMINAL = { x0: 44, y0: 62, x1: 900, y1: 600 };
const DESKTOP = { x0: 1000, y0: 300, x1: W, y1: H };

type Rect = { x0: number; y0: number; x1: number; y1: number };
function raw(f: Frame): Buffer {
  if (f.kind !== 'raw') throw new Error('expected a raw frame');
  expect(f).toMatchObject({ width: W, height: H, channels: 3 });
  expect(f.data.length).toBe(W * H * 3);
  return f.data;
}
/** Pixels that differ between two screenshots inside `r`. */
function changedPixels(a: Frame, b: Frame, r: Rect = { x0: 0, y0: 0, x1: W, y1: H }): number {
  const da = raw(a);
  const db = raw(b);
  let n = 0;
  for (let y = r.y0; y < r.y1; y++) {
    for (let x = r.x0; x < r.x1; x++) {
      const i = (y * W + x) * 3;
      if (da[i] !== db[i] || da[i + 1] !== db[i + 1] || da[i + 2] !== db[i + 2]) n++;
    }
  }
  return n;
}
function pixel(f: Frame, x: number, y: number): number[] {
  const d = raw(f);
  const i = (y * W + x) * 3;
  return [d[i], d[i + 1], d[i + 2]];
}

/** This process's open descriptors on x11 shared-memory segments. */
function shmDescriptors(): string[] {
  return readdirSync('/proc/self/fd')
    .map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return '';
      }
    })
    .filter((target) => target.includes('node-x11-shm'));
}

/** Polls screenshots until `r` differs from `before` (by more than `min` pixels). */
function screenChange(c: XvfbComputer, before: Frame, r: Rect, min = 20): Promise<Frame> {
  return waitFor('the screen to change', async () => {
    const now = await c.capture();
    return changedPixels(before, now, r) > min ? now : undefined;
  });
}
/** A file the desktop's terminal writes into the computer's home (read on the host). */
function homeFile(c: XvfbComputer, name: string): Promise<string> {
  return waitFor(`~/${name}`, async () => {
    const text = await readFile(join(c.homeDir!, name), 'utf8').catch(() => '');
    return text.length > 0 ? text : undefined;
  });
}

interface Proc {
  pid: number;
  ppid: number;
  state: string;
  comm: string;
}
function processes(): Proc[] {
  const out: Proc[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const [state, ppid] = stat.slice(close + 2).split(' ');
      out.push({ pid: Number(d), ppid: Number(ppid), state, comm: stat.slice(stat.indexOf('(') + 1, close) });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}
/** Live (or zombie) processes started, directly or not, by this test process. */
function descendants(): Proc[] {
  const all = processes();
  const mine = new Set([process.pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of all) {
      if (!mine.has(p.pid) && mine.has(p.ppid)) {
        mine.add(p.pid);
        grew = true;
      }
    }
  }
  return all.filter((p) => p.pid !== process.pid && mine.has(p.pid));
}
/** Processes inside a PID namespace (whatever they did to their environment or session). */
function processesInPidNamespace(ns: number): number[] {
  return processes()
    .filter((p) => {
      try {
        return readlinkSync(`/proc/${p.pid}/ns/pid`) === `pid:[${ns}]`;
      } catch {
        return false;
      }
    })
    .map((p) => p.pid);
}

/** What a running computer holds on the host, to check afterwards that all of it is gone. */
interface Footprint {
  display: number;
  pids: number[];
  socketIno: number;
  pidNamespace: number;
  root: string;
}
function footprint(c: XvfbComputer): Footprint {
  expect(c.sessionPidNamespace).toEqual(expect.any(Number));
  return { display: c.display!, pids: c.pids(), socketIno: statSync(socketOf(c.display!)).ino, pidNamespace: c.sessionPidNamespace!, root: c.rootDir! };
}
function expectNothingLeft(f: Footprint) {
  for (const pid of f.pids) expect(existsSync(`/proc/${pid}`)).toBe(false); // not even a zombie
  expect(processesInPidNamespace(f.pidNamespace)).toEqual([]);
  expect(existsSync(lockFileOf(f.display))).toBe(false);
  // Gone, or (tests run in parallel) a new socket of another server that took the number since.
  const socket = statSync(socketOf(f.display), { throwIfNoEntry: false });
  expect(socket?.ino).not.toBe(f.socketIno);
  expect(existsSync(f.root)).toBe(false);
}

/** Processes whose command line (arguments joined by spaces) matches `re`. */
function processesMatching(re: RegExp): number[] {
  return processes()
    .filter((p) => {
      try {
        return re.test(readFileSync(`/proc/${p.pid}/cmdline`, 'latin1').split('\0').join(' '));
      } catch {
        return false;
      }
    })
    .map((p) => p.pid);
}
const DESKTOP_PROGRAMS = /^(Xvfb|openbox|xterm|bwrap|setpriv)$/;

function run(file: string, args: string[], env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: 10_000 }, (err, _stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stderr: String(stderr) });
    });
  });
}
async function expectFailure(p: Promise<unknown>, code: string, message?: RegExp) {
  const err: unknown = await p.then(
    () => new Error('expected a failure'),
    (e: unknown) => e,
  );
  expect(isDomainError(err) ? err.code : err).toBe(code);
  if (message) expect((err as Error).message).toMatch(message);
}

describe('xvfb computers: lifecycle', () => {
  it('passes checkReady on this machine', async () => {
    await expect(provider.checkReady()).resolves.toBeUndefined();
  });

  it('starts 4 desktops in parallel, each with its own display, cookie and folders, and close() leaves nothing behind', async () => {
    const started = Date.now();
    const computers = await Promise.all([1, 2, 3, 4].map(() => provider.create({})));
    const startMs = Date.now() - started;
    const footprints = computers.map(footprint);
    try {
      const displays = computers.map((c) => c.display!);
      expect(new Set(displays).size).toBe(4);
      expect(new Set(computers.map((c) => c.id)).size).toBe(4);
      expect(new Set(computers.map((c) => readFileSync(c.xauthorityFile!).toString('hex'))).size).toBe(4);
      for (const c of computers) {
        expect(c.provider).toBe('xvfb');
        expect(existsSync(socketOf(c.display!))).toBe(true);
        // The folder's name is random: nothing in it names the computer (or its session).
        expect(c.rootDir!.startsWith(join(tmpdir(), 'cua-desktop-'))).toBe(true);
        expect(c.rootDir!).not.toContain(c.id.replace('xvfb-', ''));
        for (const dir of [c.rootDir!, c.homeDir!, join(c.rootDir!, 'tmp')]) expect(statSync(dir).mode & 0o777).toBe(0o700);
        expect(await c.isAlive()).toBe(true);
        expect(await c.screenSize()).toEqual({ width: W, height: H });
        // The screen shows the terminal window: a white area left of bare (black) desktop.
        const shot = await c.capture();
        expect(pixel(shot, 400, 400)).toEqual([255, 255, 255]);
        expect(pixel(shot, 1200, 700)).toEqual([0, 0, 0]);
        // openbox, xterm, their shells: all inside the session's sandbox
        expect(processesInPidNamespace(c.sessionPidNamespace!).length).toBeGreaterThanOrEqual(3);
      }
      expect(descendants().filter((p) => p.comm === 'Xvfb')).toHaveLength(4);
      console.log(`4 desktops started in parallel in ${startMs} ms`);
    } finally {
      await Promise.all(computers.map((c) => c.close()));
    }
    // Idempotent, even when called again concurrently.
    await Promise.all(computers.flatMap((c) => [c.close(), c.close()]));

    footprints.forEach(expectNothingLeft);
    for (const c of computers) {
      await expect(c.isAlive()).resolves.toBe(false);
      await expectFailure(c.capture(), 'COMPUTER_FAILED', /closed/);
    }
    expect(descendants().filter((p) => DESKTOP_PROGRAMS.test(p.comm))).toEqual([]);
    // Nor any shared-memory segment (each held a file descriptor and 4 MB until freed).
    expect(shmDescriptors()).toEqual([]);
    expect(provider.openComputers()).toEqual([]);
  });

  it('stops starting when the signal aborts, at any stage, leaving nothing behind', async () => {
    const { paths } = locatePrograms();
    const baseDir = mkdtempSync(join(tmpdir(), 'xvfb-abort-test-'));
    try {
      for (const abortAfterMs of [0, 20, 80, 160]) {
        const ac = new AbortController();
        if (abortAfterMs === 0) ac.abort();
        else setTimeout(() => ac.abort(), abortAfterMs);
        const options = { id: `abort-${abortAfterMs}`, width: W, height: H, network: 'off' as const, commandTimeoutMs: 1000, commandOutputLimitBytes: 1024, programs: paths as ProgramPaths, baseDir, limits: config().get(XVFB_SETTINGS).limits, profile: new MinimalDesktop() };
        const result = await XvfbComputer.start(options, ac.signal).then(
          (computer) => computer.close().then(() => 'started'), // it was quicker than the abort
          (e: unknown) => (isDomainError(e, 'CANCELLED') ? 'cancelled' : e),
        );
        if (abortAfterMs === 0) expect(result).toBe('cancelled');
        else expect(['cancelled', 'started']).toContain(result);
        expect(readdirSync(baseDir)).toEqual([]);
        expect(descendants().filter((p) => DESKTOP_PROGRAMS.test(p.comm))).toEqual([]);
      }
    } finally {
      rmSync(baseDir, { recursive: true, force: true });
    }
  });
});

describe('xvfb computers: screen, mouse and keyboard', () => {
  let c: XvfbComputer;
  beforeAll(async () => {
    c = await provider.create({});
  });
  afterAll(async () => {
    await c?.close();
  });

  it('shows typed text in the terminal', async () => {
    const before = await c.capture();
    await c.typeText('echo hello-from-the-test\n');
    await screenChange(c, before, TERMINAL, 200);
  });

  it('types shifted ASCII symbols exactly', async () => {
    const text = 'ABC xyz 0123 !@#$%^&*()_+{}|:"<>?~`-=[]\\;,./';
    await c.typeText(`printf '%s' '${text}' > ~/ascii.txt\n`);
    expect(await homeFile(c, 'ascii.txt')).toBe(text);
  });

  it('types characters the keyboard layout lacks (é, €, 中, emoji)', async () => {
    const text = 'é€中文ñ😀';
    await c.typeText(`printf '%s' '${text}' > ~/out.txt\n`);
    expect(await homeFile(c, 'out.txt')).toBe(text);
    expect((await c.runCommand('cat ~/out.txt')).stdout).toBe(text);
  });

  it('types more distinct missing characters than there are spare keycodes', async () => {
    // More distinct characters than the spare keycodes (a few dozen), so they must be reused.
    const text = 'αβγδεζηθικλμνξοπρστυφχψωабвгдежзийклмнопрстуфхцчшщъыьэюяΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ';
    await c.typeText(`printf '%s' '${text}' > ~/many.txt\n`);
    expect(await homeFile(c, 'many.txt')).toBe(text);
  });

  it('presses a chord: ctrl+u erases the typed line', async () => {
    await c.typeText('echo wrong');
    await c.pressKeys(['Control_L', 'u']);
    await c.typeText('echo right > ~/chord.txt\n');
    expect(await homeFile(c, 'chord.txt')).toBe('right\n');
  });

  it('keeps keys down with setKeys until released, and holdKeys releases after its duration', async () => {
    await c.typeText('echo ');
    await c.setKeys(['Shift_L'], true);
    await c.typeText('loud');
    await c.setKeys(['Shift_L'], false);
    await c.typeText(' > ~/held.txt\n');
    expect(await homeFile(c, 'held.txt')).toBe('LOUD\n');

    const t = Date.now();
    await c.holdKeys(['Shift_L'], 150);
    expect(Date.now() - t).toBeGreaterThanOrEqual(140);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const t2 = Date.now();
    await expectFailure(c.holdKeys(['Shift_L'], 10_000, ac.signal), 'CANCELLED');
    expect(Date.now() - t2).toBeLessThan(2000);
    await c.typeText('echo quiet > ~/after.txt\n'); // Shift was released
    expect(await homeFile(c, 'after.txt')).toBe('quiet\n');
  });

  it('moves the pointer, and cursorPosition reports where it is, also right after a click', async () => {
    await c.moveMouse({ x: 640, y: 400 });
    expect(await c.cursorPosition()).toEqual({ x: 640, y: 400 });
    await c.click({ x: 300, y: 300 }, 'left', 1);
    expect(await c.cursorPosition()).toEqual({ x: 300, y: 300 });
    await c.moveMouse({ x: 10, y: 790 });
    expect(await c.cursorPosition()).toEqual({ x: 10, y: 790 });
  });

  it('double- and triple-clicks select a word and a line; mouseDown/mouseUp drag-selects', async () => {
    await c.typeText('clear; echo wordone wordtwo; echo done > ~/selection-ready.txt\n');
    await homeFile(c, 'selection-ready.txt');
    const selection = async () => (await c.runCommand('xclip -o -selection primary')).stdout.trim();
    // Text rows in the terminal, top to bottom: after `clear`, exactly two (the output, then the
    // prompt), found by scanning the first character column for dark pixels.
    const row = await waitFor('the output row', async () => {
      const shot = await c.capture();
      const starts: number[] = [];
      let inText = false;
      for (let y = TERMINAL.y0; y < TERMINAL.y1; y++) {
        let dark = false;
        for (let x = 44; x < 60; x++) if (pixel(shot, x, y)[0] < 128) dark = true;
        if (dark && !inText) starts.push(y);
        inText = dark;
      }
      return starts.length === 2 ? starts[0] + 4 : undefined;
    });
    // Up to 15 s: under a full suite's load each probe (a sandboxed xclip) can take a second or
    // more, and xterm may draw late; a double click split into two single clicks still fails it,
    // as the line stays selected however long one waits.
    const selected = (what: string, expected: string) =>
      waitFor(what, async () => {
        expect(await selection()).toBe(expected);
        return true;
      }, 15_000);
    // Each multi-click is one action, done once: its presses reach the X server together, so xterm
    // reads them as one double (triple) click, never as separate clicks; and the two actions are
    // kept further apart than xterm's multi-click time, so they never merge. A double click that
    // came as two single clicks would leave the line selected, and the wait for the word fails.
    await c.click({ x: 60, y: row }, 'left', 3);
    await selected('the line selection', 'wordone wordtwo');
    await c.click({ x: 48, y: row }, 'left', 2);
    await selected('the word selection', 'wordone');
    await c.moveMouse({ x: 45, y: row });
    await c.mouseDown('left');
    await c.moveMouse({ x: 700, y: row });
    await c.mouseUp('left');
    await selected('dragged selection', 'wordone wordtwo');
  });

  it('scrolls the terminal back with the wheel, and forward again', async () => {
    await c.typeText('seq 1 200; echo done > ~/seq-done.txt\n');
    // The shell has written all the numbers once the file is there (a still screen alone could be
    // the moment before the terminal even showed the command, as it once was under load); the
    // terminal has drawn them once two screenshots in a row, 300 ms apart, are the same.
    await homeFile(c, 'seq-done.txt');
    let last = await c.capture();
    const bottom = await waitFor('the numbers', async () => {
      const now = await c.capture();
      const same = changedPixels(last, now, TERMINAL) === 0;
      last = now;
      return same && now;
    }, 10_000, 300);
    await c.scroll({ x: 400, y: 300 }, 0, -10);
    const scrolled = await screenChange(c, bottom, TERMINAL, 200);
    await c.scroll({ x: 400, y: 300 }, 2, 10); // dx: xterm ignores it, but it must not fail
    await waitFor('scrolling back to the bottom', async () => changedPixels(bottom, await c.capture(), TERMINAL) === 0);
    expect(changedPixels(bottom, scrolled, TERMINAL)).toBeGreaterThan(200);
  });

  it("right-click on the desktop opens openbox's menu; Escape closes it", async () => {
    const before = await c.capture();
    await c.click({ x: 1050, y: 350 }, 'right', 1);
    await screenChange(c, before, DESKTOP, 500);
    await c.pressKeys(['Escape']);
    await waitFor('the menu to close', async () => changedPixels(before, await c.capture(), DESKTOP) === 0);
  });

  it('drags the terminal window by its title bar', async () => {
    const before = await c.capture();
    const titleBar = pixel(before, 600, 48);
    expect(titleBar).not.toEqual([0, 0, 0]);
    const path = Array.from({ length: 11 }, (_, i) => ({ x: 300 + i * 20, y: 48 + i * 20 }));
    await c.drag(path, 'left');
    // The window ends up moved by (+200, +200): bare desktop where its title bar was, the title bar below.
    // openbox may still be working through the motion when the drag returns, so wait for the final place.
    const after = await waitFor('the window to move by (+200, +200)', async () => {
      const s = await c.capture();
      const here = (x: number, y: number, rgb: number[]) => pixel(s, x, y).every((v, i) => v === rgb[i]);
      return here(600, 48, [0, 0, 0]) && here(800, 248, titleBar) ? s : undefined;
    });
    expect(pixel(after, 800, 248)).toEqual(titleBar);
    expect(await c.cursorPosition()).toEqual({ x: 500, y: 248 });
  });

  // The port's rules (points on the screen, known keys, amounts) are CheckedComputer's, for every provider.
  it('refuses text it cannot type (a control character) with INVALID_ARGUMENT, and stays up', async () => {
    await expectFailure(c.typeText('bell\u0007'), 'INVALID_ARGUMENT', /control character/);
    expect(await c.isAlive()).toBe(true);
  });
});

describe('xvfb computers: runCommand and isolation', () => {
  let a: XvfbComputer;
  let b: XvfbComputer;
  let listener: Server;
  let port: number;
  let connections = 0;
  beforeAll(async () => {
    [a, b] = await Promise.all([provider.create({}), provider.create({})]);
    listener = createServer((s) => {
      connections++;
      s.end('hi\n');
    });
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
    port = (listener.address() as { port: number }).port;
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await new Promise((r) => listener?.close(r));
  });

  it('returns stdout, stderr and the exit code, in the sandbox home', async () => {
    const r = await a.runCommand('echo out; echo err >&2; pwd; echo "$HOME"; exit 3');
    expect(r).toEqual({ stdout: 'out\n/home/user\n/home/user\n', stderr: 'err\n', exitCode: 3, timedOut: false, truncated: false });
  });

  it('kills the whole process tree on timeout', async () => {
    const running = a.runCommand('sleep 100.5 & sleep 101.5; echo never', { timeoutMs: 3000 });
    await waitFor('both sleeps to run (before the command times out)', () => processesMatching(/^sleep (100|101)\.5/).length === 2, 2500);
    const r = await running;
    expect(r).toMatchObject({ exitCode: null, timedOut: true, stdout: '' });
    expect(processesMatching(/^sleep (100|101)\.5/)).toEqual([]);
  });

  it('stops the command when the signal aborts', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const r = await a.runCommand('sleep 30', { signal: ac.signal });
    expect(r).toMatchObject({ exitCode: null, timedOut: false });
  });

  it('caps each output stream at COMMAND_OUTPUT_LIMIT_BYTES and says so', async () => {
    const r = await a.runCommand('head -c 100000 /dev/zero | tr "\\0" a; head -c 50 /dev/zero | tr "\\0" b >&2');
    expect(r.stdout).toBe('a'.repeat(OUTPUT_LIMIT));
    expect(r.stderr).toBe('b'.repeat(50));
    expect(r).toMatchObject({ truncated: true, exitCode: 0 });
  });

  it('has no network with COMPUTER_NETWORK=off', async () => {
    const r = await a.runCommand(`bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port} && echo connected'`);
    expect(r.stdout).not.toContain('connected');
    expect(r.exitCode).not.toBe(0);
    expect(connections).toBe(0);
  });

  it("cannot reach the host's loopback with COMPUTER_NETWORK=egress (test/desktop-network.e2e-spec.ts has the rest)", async () => {
    // Names would go to port 9 of the loopback, where nothing answers: no lookup leaves the machine.
    const egress = xvfbProvider(config({ COMPUTER_NETWORK: 'egress', COMPUTER_NETWORK_DNS: '127.0.0.1:9' }));
    const n = await egress.create({});
    try {
      expect(n.networkPids()).toHaveLength(2);
      const r = await n.runCommand(`bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port} && echo connected'`);
      expect(r.stdout).not.toContain('connected');
      expect(r.exitCode).not.toBe(0);
      expect(connections).toBe(0);
    } finally {
      await n.close();
    }
  });

  it('has the network with COMPUTER_NETWORK=on', async () => {
    const networked = xvfbProvider(config({ COMPUTER_NETWORK: 'on' }));
    const n = await networked.create({});
    try {
      const r = await n.runCommand(`bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port} && head -n1 <&3'`);
      expect(r).toMatchObject({ stdout: 'hi\n', exitCode: 0 });
      expect(connections).toBe(1);
    } finally {
      await n.close();
    }
  });

  it("keeps each computer's files to itself", async () => {
    expect((await a.runCommand('echo secret > ~/a.txt && echo tmp > /tmp/a.tmp && cat ~/a.txt /tmp/a.tmp')).stdout).toBe('secret\ntmp\n');
    const r = await b.runCommand('ls ~/a.txt /tmp/a.tmp');
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/No such file/);
    expect((await b.runCommand('ls -A ~ /tmp')).stdout).not.toMatch(/a\.txt|a\.tmp/);
    // The host's folders (other computers' among them) are not there at all.
    expect((await b.runCommand(`ls ${a.rootDir}`)).exitCode).not.toBe(0);
    expect(existsSync(join(a.homeDir!, 'a.txt'))).toBe(true);
    expect(existsSync(join(b.homeDir!, 'a.txt'))).toBe(false);
    // Nor can it see or signal the server's processes.
    expect((await b.runCommand(`kill -0 ${process.pid}`)).exitCode).not.toBe(0);
  });

  it('runs each computer as an unprivileged host user of its own; the host\'s users and secrets are not there', async () => {
    const r = await a.runCommand('id -un; id -u; hostname; cat /etc/shadow');
    expect(r.stdout).toBe('user\n1000\ndesktop\n');
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/No such file/);
    expect((await a.runCommand('cat /etc/passwd')).stdout).toBe(
      'root:x:0:0:root:/root:/usr/sbin/nologin\nuser:x:1000:1000:Desktop user:/home/user:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
    );
    if (process.getuid?.() === 0) {
      // As root, each computer's host user (never root, never another computer's) owns its folders
      // and runs its processes, the X server among them.
      const { base, count } = config().get(XVFB_SETTINGS).sandboxUids;
      const ua = statSync(a.homeDir!).uid;
      const ub = statSync(b.homeDir!).uid;
      for (const u of [ua, ub]) expect(u >= base && u < base + count).toBe(true);
      expect(ua).not.toBe(ub);
      const uidOf = (pid: number) => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
      expect(uidOf(a.xvfbPid!)).toBe(ua);
      expect(uidOf(b.xvfbPid!)).toBe(ub);
    }
  });

  it('runProgram passes stdin bytes in and stdout bytes out, with arguments that are never shell code', async () => {
    const bytes = Buffer.from([0, 255, 10, 13, 1, 2]);
    expect(await a.runProgram(['cat'], { stdin: bytes })).toEqual({ stdout: bytes, stderr: '', exitCode: 0, timedOut: false, truncated: false });
    expect((await a.runProgram(['printf', '%s|', '$(id)', 'a b'])).stdout.toString()).toBe('$(id)|a b|');
    const capped = await a.runProgram(['head', '-c', '100'], { stdin: Buffer.alloc(100, 65), outputLimitBytes: 10 });
    expect([capped.stdout.length, capped.truncated]).toEqual([10, true]);
  });

  it('setClipboard puts text on the desktop clipboard until replaced; another computer does not see it', async () => {
    await a.setClipboard('first € 中');
    expect((await a.runCommand('xclip -o -selection clipboard')).stdout).toBe('first € 中');
    await a.setClipboard('second');
    expect((await a.runCommand('xclip -o -selection clipboard')).stdout).toBe('second');
    expect((await b.runCommand('xclip -o -selection clipboard 2>&1')).stdout).not.toContain('second');
  });

  it("cannot reach another computer's display; its own works", async () => {
    const own = await a.runCommand(`xdpyinfo -display :${a.display} >/dev/null && echo ok`);
    expect(own).toMatchObject({ stdout: 'ok\n', exitCode: 0 });
    const other = await a.runCommand(`test -e /tmp/.X11-unix/X${b.display} && echo visible; xdpyinfo -display :${b.display}`);
    expect(other.stdout).not.toContain('visible');
    expect(other.exitCode).not.toBe(0);
    expect(other.stderr).toMatch(/unable to open display/);
  });

  it('refuses X clients without the cookie', async () => {
    const path = process.env.PATH ?? '/usr/bin:/bin';
    const refused = await run('xdpyinfo', ['-display', `:${a.display}`], { PATH: path, XAUTHORITY: '/nonexistent', HOME: '/nonexistent' });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/Authorization required|unable to open display/);
    const allowed = await run('xdpyinfo', ['-display', `:${a.display}`], { PATH: path, XAUTHORITY: a.xauthorityFile!, HOME: '/nonexistent' });
    expect(allowed.code).toBe(0);
    await expect(X11Connection.open({ display: a.display!, timeoutMs: 3000 })).rejects.toThrow(/Cannot connect to display/);
    // The wrong cookie is refused too.
    await expect(X11Connection.open({ display: a.display!, cookie: Buffer.alloc(16, 7), timeoutMs: 3000 })).rejects.toThrow();
    expect(await a.isAlive()).toBe(true);
  });
});

describe('xvfb computers: background programs (launch)', () => {
  it('a launched program keeps its window after the call returns; closing the computer stops it and all it started', async () => {
    const c = await provider.create({});
    try {
      const before = await c.capture();
      const started = await c.launch('xterm -title Launched -geometry 20x5+1040+420');
      expect(started).toEqual({}); // no host pid
      // The window shows up on the bare desktop, after launch() has returned.
      await screenChange(c, before, DESKTOP, 500);
      // A command that sends its program to the background itself keeps it running too.
      await c.launch('sleep 317 &');
      const sleeping = await waitFor('the background sleep', () => processesMatching(/^sleep 317 ?$/).length === 1 && processesMatching(/^sleep 317 ?$/));
      const f = footprint(c);
      const [xterm] = processesMatching(/^xterm -title Launched/);
      expect(f.pids.some((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('-title Launched'))).toBe(true);
      expect(xterm).toBeDefined();
      await c.close();
      expectNothingLeft(f);
      for (const pid of sleeping) expect(existsSync(`/proc/${pid}`)).toBe(false);
    } finally {
      await c.close();
    }
  });

  it('a closed computer says so', async () => {
    const c = await provider.create({});
    await c.close();
    await expectFailure(c.launch('xterm'), 'COMPUTER_FAILED', /was closed/);
  });
});

describe('xvfb computers: a desktop that dies', () => {
  let c: XvfbComputer | undefined;
  afterEach(async () => {
    await c?.close();
  });

  it('reports COMPUTER_FAILED quickly after Xvfb is killed, isAlive() turns false, and close() still cleans up', async () => {
    c = await provider.create({});
    const left = footprint(c);
    const command = c.runCommand('sleep 30.25; echo finished');
    await waitFor('the command to run', () => processesMatching(/^sleep 30\.25/).length === 1);
    process.kill(c.xvfbPid!, 'SIGKILL'); // no chance to remove its own lock file and socket
    await waitFor('isAlive() to turn false', async () => !(await c!.isAlive()), 2000);
    const t = Date.now();
    await expectFailure(c.capture(), 'COMPUTER_FAILED', /stopped.*start a new session/);
    await expectFailure(c.click({ x: 5, y: 5 }, 'left', 1), 'COMPUTER_FAILED', /stopped/);
    await expectFailure(c.typeText('x'), 'COMPUTER_FAILED', /stopped/);
    await expectFailure(c.runCommand('true'), 'COMPUTER_FAILED', /stopped/);
    expect(Date.now() - t).toBeLessThan(1000);

    await c.close();
    // The command still running was stopped by close().
    await expect(command).resolves.toMatchObject({ exitCode: null, stdout: '' });
    expect(processesMatching(/^sleep 30\.25/)).toEqual([]);
    expectNothingLeft(left);
  });
});

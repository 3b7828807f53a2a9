import { existsSync } from 'node:fs';
import { chmod, mkdir, stat, unlink } from 'node:fs/promises';
import { describeExit, exitsWithin, ManagedProcess } from './child-process';
import { confine, Confinement, INFO_FD, limitArgs, SandboxedProcess } from './sandbox';
import { DESKTOP_HOSTNAME, DESKTOP_UID, programMounts } from './system-view';

export interface XvfbStartOptions {
  xvfbPath: string;
  /** How the X server is confined: it runs sandboxed, as the computer's user, like the desktop's programs. */
  confinement: Confinement;
  width: number;
  height: number;
  /** Xauthority file with the display's cookie (-auth). */
  authFile: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Thrown when Xvfb does not come up; `reason` is 'timeout' | 'aborted' | 'failed'. */
export class XvfbStartError extends Error {
  override readonly name = 'XvfbStartError';
  constructor(
    readonly reason: 'timeout' | 'aborted' | 'failed',
    message: string,
  ) {
    super(message);
  }
}

/** The pipe after bwrap's info fd (INFO_FD, 3); a literal, as sandbox.ts and this file import each other. */
const DISPLAY_FD = 4;
const SOCKET_DIR = '/tmp/.X11-unix';
const SANDBOX_AUTH = '/run/cua/Xauthority';
/** Core fonts: the X server's own and these folders where present; a client cannot point it anywhere it could not read anyway (see xvfbArgs). */
const FONT_DIRS = ['/usr/share/fonts/X11/misc', '/usr/share/fonts/X11/Type1', '/usr/share/fonts/X11/75dpi', '/usr/share/fonts/X11/100dpi'];

/**
 * The X server's sandbox: the program folders, fonts and X's configuration, a private /tmp with
 * only the shared socket folder in it (where it creates its socket), its cookie file, and the
 * host's network namespace (for the abstract socket that makes -displayfd safe; -nolisten tcp).
 * No home, no /etc beyond fonts and X, no other computer's files: a font-path request from a
 * client can only probe what is in here.
 */
function xvfbLine(o: XvfbStartOptions): [string, string[]] {
  const fontPath = ['built-ins', ...FONT_DIRS.filter((d) => existsSync(d))].join(',');
  const bwrap = [
    o.confinement.programs.bwrap,
    '--unshare-all', '--share-net', '--unshare-user',
    '--uid', String(DESKTOP_UID), '--gid', String(DESKTOP_UID), '--hostname', DESKTOP_HOSTNAME,
    '--as-pid-1', '--die-with-parent', '--new-session',
    '--info-fd', String(INFO_FD),
    ...programMounts(),
    ...['/etc/fonts', '/etc/X11', '/etc/ld.so.cache', '/etc/ld.so.conf', '/etc/ld.so.conf.d'].flatMap((p) => ['--ro-bind-try', p, p]),
    '--ro-bind-try', '/var/cache/fontconfig', '/var/cache/fontconfig',
    '--proc', '/proc', '--dev', '/dev',
    '--tmpfs', '/tmp',
    '--bind', SOCKET_DIR, SOCKET_DIR,
    '--ro-bind', o.authFile, SANDBOX_AUTH,
    '--remount-ro', '/',
    '--',
    o.confinement.programs.prlimit, ...limitArgs(o.confinement.limits), '--',
    o.xvfbPath,
    '-screen', '0', `${o.width}x${o.height}x24`,
    '-nolisten', 'tcp',
    '-auth', SANDBOX_AUTH,
    '-fp', fontPath,
    '-noreset',
    '-displayfd', String(DISPLAY_FD),
  ];
  return confine(o.confinement, bwrap);
}

/** The shared socket folder, as X servers make it (root's, sticky, everyone may create a socket). */
async function ensureSocketDir(): Promise<void> {
  if (existsSync(SOCKET_DIR)) return;
  await mkdir(SOCKET_DIR, { mode: 0o1777 }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  await chmod(SOCKET_DIR, 0o1777).catch(() => undefined);
}

/**
 * Starting and stopping X servers take turns. An exiting X server unlinks /tmp/.X11-unix/X<N>
 * after it has let go of the abstract socket, so a server started meanwhile could take the same
 * number and then lose its socket file (clients would fall back to TCP and fail, and the sandbox
 * could not bind it). Each turn is bounded: a start by its timeout, a stop by its grace + SIGKILL.
 */
let turn: Promise<unknown> = Promise.resolve();
function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  const run = turn.then(fn, fn);
  turn = run.catch(() => undefined);
  return run;
}

export function lockFileOf(display: number): string {
  return `/tmp/.X${display}-lock`;
}
export function socketOf(display: number): string {
  return `/tmp/.X11-unix/X${display}`;
}

/**
 * One Xvfb process. Started with -displayfd so the server itself picks a free display number
 * and tells us, over a pipe, the moment it accepts connections. -displayfd is only safe when
 * many servers start at once thanks to the abstract socket (@/tmp/.X11-unix/X<N>): binding it
 * fails for a number in use, while the socket file is simply replaced, and no lock file is
 * written. So the abstract socket stays on (-nolisten local would let every server take :0);
 * it is reachable only from the host's network namespace, and the cookie (-auth) guards it.
 * No TCP (-nolisten tcp).
 */
export class XvfbServer {
  /** Identity of the socket file this server created, so stop() never removes a successor's. */
  private socketId: { dev: number; ino: number } | undefined;

  private constructor(
    private readonly sandboxed: SandboxedProcess,
    readonly display: number,
    /** Xvfb's own pid on the host (inside its sandbox it is PID 1). */
    readonly pid: number | undefined,
  ) {}

  /** The outer bwrap process; it exits when Xvfb does. */
  get process(): ManagedProcess {
    return this.sandboxed.process;
  }

  get running(): boolean {
    return this.process.running;
  }

  static start(o: XvfbStartOptions): Promise<XvfbServer> {
    return exclusive(() => XvfbServer.startNow(o));
  }

  private static async startNow(o: XvfbStartOptions): Promise<XvfbServer> {
    if (o.signal?.aborted) throw new XvfbStartError('aborted', 'Starting the display was cancelled.');
    await ensureSocketDir();
    const sandboxed = new SandboxedProcess('Xvfb', xvfbLine(o), { env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' }, extraPipes: 1 });
    try {
      const display = await readDisplayNumber(sandboxed.process, o.timeoutMs, o.signal);
      const server = new XvfbServer(sandboxed, display, await sandboxed.started);
      const st = await stat(socketOf(display)).catch(() => undefined);
      if (st) server.socketId = { dev: st.dev, ino: st.ino };
      return server;
    } catch (e) {
      await sandboxed.kill();
      throw e;
    }
  }

  /**
   * Ends Xvfb (SIGTERM lets it remove its socket file), waiting at most `graceMs` before
   * SIGKILL. If it died without cleaning up (e.g. SIGKILL), removes its socket file (and lock
   * file, if any), but only while they are still this server's: another server may already
   * have taken the display number.
   */
  stop(graceMs = 2000): Promise<void> {
    return exclusive(() => this.stopNow(graceMs));
  }

  private async stopNow(graceMs: number): Promise<void> {
    if (this.process.running) {
      // SIGTERM to Xvfb itself lets it remove its socket; the outer bwrap exits with it.
      if (!(this.sandboxed.signalInner('SIGTERM') && (await exitsWithin(this.process, graceMs)))) await this.sandboxed.kill();
      await this.process.exited;
    }
    const st = await stat(socketOf(this.display)).catch(() => undefined);
    if (st && this.socketId && st.dev === this.socketId.dev && st.ino === this.socketId.ino) {
      await unlink(socketOf(this.display)).catch(() => undefined);
    }
  }
}

function readDisplayNumber(proc: ManagedProcess, timeoutMs: number, signal?: AbortSignal): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let text = '';
    let settled = false;
    const pipe = proc.pipe(DISPLAY_FD);
    const done = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      pipe.removeListener('data', onData);
      pipe.destroy();
      fn();
    };
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      const n = Number(text.slice(0, nl).trim());
      done(() =>
        Number.isInteger(n) && n >= 0
          ? resolve(n)
          : reject(new XvfbStartError('failed', `Xvfb reported an unreadable display number ${JSON.stringify(text)}.`)),
      );
    };
    const onAbort = () => done(() => reject(new XvfbStartError('aborted', 'Starting the display was cancelled.')));
    const timer = setTimeout(
      () => done(() => reject(new XvfbStartError('timeout', `Xvfb did not become ready within ${timeoutMs} ms. ${tail(proc)}`))),
      timeoutMs,
    );
    pipe.on('data', onData);
    signal?.addEventListener('abort', onAbort, { once: true });
    void proc.exited.then((status) =>
      done(() => reject(new XvfbStartError('failed', `Xvfb ${describeExit(status)} before it was ready. ${tail(proc)}`))),
    );
  });
}

function tail(proc: ManagedProcess): string {
  const t = proc.stderrTail();
  return t ? `Its last output: ${t.split('\n').slice(-5).join(' | ')}` : '';
}

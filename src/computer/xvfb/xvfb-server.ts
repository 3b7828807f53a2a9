import { readFile, stat, unlink } from 'node:fs/promises';
import { describeExit, exitsWithin, ManagedProcess } from './child-process';

export interface XvfbStartOptions {
  xvfbPath: string;
  /** util-linux setpriv, to give Xvfb a parent-death signal; optional. */
  setprivPath?: string;
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

const DISPLAY_FD = 3;

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
    readonly process: ManagedProcess,
    readonly display: number,
  ) {}

  get pid(): number | undefined {
    return this.process.pid;
  }

  get running(): boolean {
    return this.process.running;
  }

  static start(o: XvfbStartOptions): Promise<XvfbServer> {
    return exclusive(() => XvfbServer.startNow(o));
  }

  private static async startNow(o: XvfbStartOptions): Promise<XvfbServer> {
    const xvfbArgs = [
      '-screen', '0', `${o.width}x${o.height}x24`,
      '-nolisten', 'tcp',
      '-auth', o.authFile,
      '-noreset',
      '-displayfd', String(DISPLAY_FD),
    ];
    const [file, args] = o.setprivPath
      ? [o.setprivPath, ['--pdeathsig', 'TERM', '--', o.xvfbPath, ...xvfbArgs]]
      : [o.xvfbPath, xvfbArgs];
    if (o.signal?.aborted) throw new XvfbStartError('aborted', 'Starting the display was cancelled.');
    const proc = new ManagedProcess('Xvfb', file, args, {
      env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' },
      extraPipes: 1,
      exitSignal: 'SIGTERM',
    });
    try {
      const display = await readDisplayNumber(proc, o.timeoutMs, o.signal);
      const server = new XvfbServer(proc, display);
      const st = await stat(socketOf(display)).catch(() => undefined);
      if (st) server.socketId = { dev: st.dev, ino: st.ino };
      return server;
    } catch (e) {
      await proc.stop('SIGKILL');
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
    const pid = this.process.pid;
    if (this.process.running) {
      this.process.signalGroup('SIGTERM');
      if (!(await exitsWithin(this.process, graceMs))) this.process.signalGroup('SIGKILL');
      await this.process.exited;
    }
    const st = await stat(socketOf(this.display)).catch(() => undefined);
    if (st && this.socketId && st.dev === this.socketId.dev && st.ino === this.socketId.ino) {
      await unlink(socketOf(this.display)).catch(() => undefined);
    }
    const lockPid = await readFile(lockFileOf(this.display), 'latin1').then((t) => parseInt(t.trim(), 10), () => undefined);
    if (pid !== undefined && lockPid === pid) await unlink(lockFileOf(this.display)).catch(() => undefined);
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

import { ChildProcess, spawn, StdioOptions } from 'node:child_process';
import { Readable } from 'node:stream';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the program could not be started at all (e.g. ENOENT). */
  error?: Error;
}

export interface SpawnOptions {
  env: Record<string, string>;
  /** Extra pipes after stdin/stdout/stderr (fd 3, 4, ...), e.g. for -displayfd or --info-fd. */
  extraPipes?: number;
  /** Descriptors of ours the child gets right after the extra pipes (e.g. a namespace to enter). */
  inheritFds?: readonly number[];
  /** Keep stdin as a writable pipe (otherwise it reads nothing). */
  pipeStdin?: boolean;
  /** Keep stdout as a readable pipe (otherwise ignored). */
  pipeStdout?: boolean;
  /** Keep stderr as a pipe (otherwise only its tail is kept for error messages). */
  pipeStderr?: boolean;
  cwd?: string;
  /** Signal for the synchronous kill when the server itself exits (default SIGKILL). */
  exitSignal?: NodeJS.Signals;
}

const STDERR_TAIL_BYTES = 4096;

/** Every process group we started and have not seen exit, so a dying server can take them along. */
const live = new Set<ManagedProcess>();
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Node has no prctl(PR_SET_PDEATHSIG); on a normal exit we end our children ourselves.
  // (Xvfb is also started under `setpriv --pdeathsig`, and bwrap with --die-with-parent, for crashes.)
  process.once('exit', () => {
    for (const p of live) p.killNow();
  });
}

/**
 * A child process the server spawned in its own process group (detached), tracked until it
 * exits and always reaped by Node. Stop it with stop(); never left as an orphan.
 */
export class ManagedProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<ExitStatus>;
  private status: ExitStatus | undefined;
  private stderrTailBuf = Buffer.alloc(0);
  /** Extra work to do for a synchronous kill on server exit (e.g. the sandbox's inner pid). */
  onKillNow: (() => void) | undefined;
  private readonly exitSignal: NodeJS.Signals;

  constructor(
    readonly label: string,
    file: string,
    args: readonly string[],
    options: SpawnOptions,
  ) {
    installExitHook();
    this.exitSignal = options.exitSignal ?? 'SIGKILL';
    const stdio: StdioOptions = [
      options.pipeStdin ? 'pipe' : 'ignore',
      options.pipeStdout ? 'pipe' : 'ignore',
      'pipe',
      ...Array.from({ length: options.extraPipes ?? 0 }, () => 'pipe' as const),
      ...(options.inheritFds ?? []),
    ];
    this.child = spawn(file, args, { stdio, env: options.env, detached: true, cwd: options.cwd });
    this.exited = new Promise<ExitStatus>((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.status = { code, signal };
        live.delete(this);
        resolve(this.status);
      });
      this.child.on('error', (error) => {
        // 'error' without a pid: the program never ran, so no 'exit' follows.
        if (this.child.pid === undefined) {
          this.status = { code: null, signal: null, error };
          live.delete(this);
          resolve(this.status);
        }
      });
    });
    if (this.child.pid !== undefined) live.add(this);
    if (!options.pipeStderr) {
      this.child.stderr?.on('data', (chunk: Buffer) => {
        this.stderrTailBuf = Buffer.concat([this.stderrTailBuf, chunk]);
        if (this.stderrTailBuf.length > STDERR_TAIL_BYTES) this.stderrTailBuf = this.stderrTailBuf.subarray(-STDERR_TAIL_BYTES);
      });
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.pid !== undefined && this.status === undefined;
  }

  get exitStatus(): ExitStatus | undefined {
    return this.status;
  }

  /** The last few KB the program wrote to stderr, for error messages. */
  stderrTail(): string {
    return this.stderrTailBuf.toString('utf8').trim();
  }

  pipe(fd: number): Readable {
    const s = this.child.stdio[fd];
    if (!s || !(s instanceof Readable)) throw new Error(`${this.label}: fd ${fd} is not a pipe`);
    return s;
  }

  /** Signals the whole process group (the child leads it, being detached). */
  signalGroup(signal: NodeJS.Signals): void {
    if (!this.running || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // Already gone.
    }
  }

  /** Synchronous last-resort kill, used from process.on('exit'). */
  killNow(): void {
    try {
      this.onKillNow?.();
    } catch {
      // best effort
    }
    this.signalGroup(this.exitSignal);
  }

  /**
   * Sends `signal` to the group, waits up to `graceMs` for the exit, then SIGKILLs the group and
   * waits for Node to reap the child.
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 2000): Promise<ExitStatus> {
    if (!this.running) return this.exited;
    this.signalGroup(signal);
    if (signal !== 'SIGKILL' && !(await exitsWithin(this, graceMs))) this.signalGroup('SIGKILL');
    return this.exited;
  }
}

/** True when the process exits within `ms`. */
export async function exitsWithin(p: ManagedProcess, ms: number): Promise<boolean> {
  if (!p.running) return true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const result = await Promise.race([p.exited.then(() => true as const), timeout]);
  clearTimeout(timer);
  return result;
}

export function describeExit(status: ExitStatus | undefined): string {
  if (!status) return 'is still running';
  if (status.error) return `could not be started (${status.error.message})`;
  if (status.signal) return `was killed by ${status.signal}`;
  return `exited with code ${status.code}`;
}

import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { exitsWithin, ManagedProcess } from './child-process';
import { socketOf } from './xvfb-server';

/** Where the computer's folders appear inside its sandbox. */
export const SANDBOX_HOME = '/home/user';
export const SANDBOX_XAUTHORITY = '/run/cua/Xauthority';
const SANDBOX_UID = 1000;
const SANDBOX_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface SandboxSpec {
  bwrapPath: string;
  /** Host folders bound read-write at SANDBOX_HOME and /tmp. */
  homeDir: string;
  tmpDir: string;
  /** Host Xauthority file, bound read-only at SANDBOX_XAUTHORITY. */
  xauthorityFile: string;
  display: number;
  /** false: no network at all (own empty network namespace). */
  network: boolean;
  /**
   * When the server runs as root: bwrap is started (through setpriv) as this unprivileged host
   * uid and gid instead. Otherwise the sandbox's user is the host's root to the kernel, and can
   * read root-only files in the read-only system folders (such as /etc/shadow).
   */
  hostUser?: { uid: number; setprivPath: string };
}

/** Read-only system folders; on merged-/usr systems the top-level ones are symlinks into /usr. */
const SYSTEM_DIRS = ['/usr', '/etc', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];
const OPTIONAL_RO = ['/var/cache/fontconfig', '/var/lib/openbox'];

function systemMounts(): string[] {
  const args: string[] = [];
  for (const dir of SYSTEM_DIRS) {
    if (!existsSync(dir)) continue;
    const st = lstatSync(dir);
    if (st.isSymbolicLink()) args.push('--symlink', readlinkSync(dir), dir);
    else args.push('--ro-bind', dir, dir);
  }
  for (const dir of OPTIONAL_RO) args.push('--ro-bind-try', dir, dir);
  return args;
}

/**
 * Builds bubblewrap command lines that confine a program to one computer: read-only system
 * folders, the computer's own home and /tmp, only its own X socket and cookie, fresh
 * namespaces (no network unless enabled), a cleared environment, and death with the server.
 */
export class Sandbox {
  private readonly mounts: string[];

  constructor(readonly spec: SandboxSpec) {
    this.mounts = systemMounts();
  }

  /** The environment programs see inside: nothing of the server's. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      PATH: SANDBOX_PATH,
      HOME: SANDBOX_HOME,
      DISPLAY: `:${this.spec.display}`,
      XAUTHORITY: SANDBOX_XAUTHORITY,
      LANG: 'C.UTF-8',
      ...extra,
    };
  }

  /** bwrap arguments running `argv` in the sandbox; bwrap writes its JSON info to `infoFd`. */
  args(argv: readonly string[], infoFd: number): string[] {
    const s = this.spec;
    const socket = socketOf(s.display);
    return [
      // Fresh user, IPC, PID, network, UTS and cgroup namespaces. Inside, programs run as an
      // ordinary user (uid 1000) without capabilities, even when the server runs as root.
      '--unshare-all',
      '--unshare-user',
      '--uid', String(SANDBOX_UID),
      '--gid', String(SANDBOX_UID),
      ...(s.network ? ['--share-net'] : []),
      // The program itself is the namespace's PID 1: bwrap waits for it directly, so killing
      // it ends the namespace and nothing is left for the system's init to reap.
      '--as-pid-1',
      '--die-with-parent',
      '--new-session',
      '--info-fd', String(infoFd),
      ...this.mounts,
      '--proc', '/proc',
      '--dev', '/dev',
      '--bind', s.tmpDir, '/tmp',
      '--bind', s.homeDir, SANDBOX_HOME,
      '--ro-bind', socket, socket,
      '--ro-bind', s.xauthorityFile, SANDBOX_XAUTHORITY,
      '--chdir', SANDBOX_HOME,
      '--',
      ...argv,
    ];
  }

  /** Starts `argv` in the sandbox as a tracked process (see SandboxedProcess). */
  spawn(label: string, argv: readonly string[], options: SandboxSpawnOptions = {}): SandboxedProcess {
    return new SandboxedProcess(label, this, argv, options);
  }
}

export interface SandboxSpawnOptions {
  pipeOutput?: boolean;
  pipeStdin?: boolean;
  env?: Record<string, string>;
}

const INFO_FD = 3;

/**
 * A process running under bwrap with its own PID namespace. bwrap runs as two processes: the
 * outer one (our child) and the program (its child, PID 1 of the namespace). Killing the program
 * ends the whole namespace at once, and the outer bwrap reaps it and exits, so nothing is
 * orphaned. (Killing only the outer bwrap would leave the program to the system's init.)
 */
export class SandboxedProcess {
  readonly process: ManagedProcess;
  /** PID (host namespace) of the sandboxed program, once bwrap reported it. */
  private innerPid: number | undefined;
  private pidNs: number | undefined;
  readonly started: Promise<number | undefined>;

  constructor(label: string, sandbox: Sandbox, argv: readonly string[], options: SandboxSpawnOptions) {
    const bwrapArgs = sandbox.args(argv, INFO_FD);
    const user = sandbox.spec.hostUser;
    const [file, args] = user
      ? [user.setprivPath, ['--reuid', String(user.uid), '--regid', String(user.uid), '--clear-groups', '--', sandbox.spec.bwrapPath, ...bwrapArgs]]
      : [sandbox.spec.bwrapPath, bwrapArgs];
    this.process = new ManagedProcess(label, file, args, {
      env: sandbox.env(options.env),
      extraPipes: 1,
      pipeStdin: options.pipeStdin,
      pipeStdout: options.pipeOutput,
      pipeStderr: options.pipeOutput,
    });
    this.process.onKillNow = () => this.killInner();
    this.started = this.readInfo();
  }

  private readInfo(): Promise<number | undefined> {
    if (this.process.pid === undefined) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      let text = '';
      const pipe = this.process.pipe(INFO_FD);
      pipe.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        const m = /"child-pid"\s*:\s*(\d+)/.exec(text);
        const ns = /"pid-namespace"\s*:\s*(\d+)/.exec(text);
        if (ns) this.pidNs = Number(ns[1]);
        if (m && this.innerPid === undefined) {
          this.innerPid = Number(m[1]);
          resolve(this.innerPid);
        }
      });
      pipe.on('error', () => undefined);
      pipe.on('close', () => resolve(this.innerPid));
    });
  }

  get running(): boolean {
    return this.process.running;
  }

  /** The sandbox's PID namespace (inode number, as in /proc/<pid>/ns/pid), once bwrap reported it. */
  get pidNamespace(): number | undefined {
    return this.pidNs;
  }

  /** PIDs on the host: the outer bwrap and the program (when known). */
  pids(): number[] {
    return [this.process.pid, this.innerPid].filter((p): p is number => p !== undefined);
  }

  private killInner(): boolean {
    // The inner PID cannot have been reused while the outer bwrap (its parent) has not exited:
    // until the outer one reaps it, it stays ours, at worst as a zombie.
    if (this.innerPid === undefined || !this.process.running) return false;
    try {
      process.kill(this.innerPid, 'SIGKILL');
      return true;
    } catch {
      return false;
    }
  }

  /** Kills everything in the sandbox and waits until bwrap is reaped. */
  async kill(): Promise<void> {
    if (!this.process.running) return;
    if (this.innerPid === undefined) await Promise.race([this.started, exitsWithin(this.process, 1000)]);
    if (!(this.killInner() && (await exitsWithin(this.process, 2000)))) this.process.signalGroup('SIGKILL');
    await this.process.exited;
  }
}

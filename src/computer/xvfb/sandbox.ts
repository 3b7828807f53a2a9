import { exitsWithin, ManagedProcess, SpawnOptions } from './child-process';
import { DESKTOP_HOME, DESKTOP_HOSTNAME, DESKTOP_UID, DESKTOP_USER, systemMounts } from './system-view';
import { socketOf } from './xvfb-server';

/** Where the computer's folders appear inside its sandbox. */
export const SANDBOX_HOME = DESKTOP_HOME;
export const SANDBOX_XAUTHORITY = '/run/cua/Xauthority';
const SANDBOX_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** The OOM killer's preference for sandboxed processes: the highest, so it takes them before the server. */
export const SANDBOX_OOM_SCORE_ADJ = 1000;

/** Limits every sandboxed process runs under (see docs/security.md). */
export interface SandboxLimits {
  /** RLIMIT_NPROC: processes (threads) of one sandbox; with `hostUser`, of the whole computer. */
  maxProcesses: number;
  /** RLIMIT_FSIZE: the largest file a program may write, in bytes; unset: no limit. */
  maxFileBytes?: number;
}

export interface SandboxPrograms {
  bwrap: string;
  /** util-linux: sets resource limits (RLIMIT_NPROC, RLIMIT_FSIZE) before the program starts. */
  prlimit: string;
  /** util-linux: sets the OOM score adjustment. */
  choom: string;
  /** util-linux: switches to `hostUser` (root servers only). */
  setpriv?: string;
}

/**
 * The IPC namespace a sandbox has: a fresh one of its own (unset), or `joined`: its computer's X
 * server's, entered through descriptors the server holds, for the one program that shares memory
 * with the X server over MIT-SHM (the live view's VNC server). Only that X server and such programs
 * are in it; the desktop's programs each have their own.
 */
export interface SandboxIpc {
  kind: 'joined';
  /** util-linux nsenter. */
  nsenter: string;
  /** The server's descriptor of the X server's IPC namespace. */
  ipcFd: number;
  /** Non-root servers: the descriptor of the user namespace that owns it (root needs none). */
  userFd?: number;
}

export interface SandboxSpec extends Confinement {
  /** Host folders bound read-write at SANDBOX_HOME and /tmp. */
  homeDir: string;
  tmpDir: string;
  /** Host folder with the computer's own passwd, group, hosts … (see writeIdentity). */
  etcDir: string;
  /** More files of etcDir to bind below /etc (the desktop profile's), relative to /etc. */
  extraEtc?: readonly string[];
  /** Host Xauthority file, bound read-only at SANDBOX_XAUTHORITY. */
  xauthorityFile: string;
  display: number;
  network: SandboxNetwork;
  /** Unset: an IPC namespace of its own. A sandbox joins either its network or its X server's IPC namespace, not both. */
  ipc?: SandboxIpc;
}

/**
 * How a sandbox reaches the network: `none`, an empty network namespace of its own
 * (COMPUTER_NETWORK=off); `host`, the host's namespace (COMPUTER_NETWORK=on); `joined`, its
 * computer's own namespace behind pasta and the egress rules (COMPUTER_NETWORK=egress, see
 * network/egress-network.ts), entered through namespace descriptors the server holds, so a
 * reused pid can never lead a sandbox into another process's namespace.
 */
export type SandboxNetwork =
  | { kind: 'none' }
  | { kind: 'host' }
  | {
      kind: 'joined';
      /** util-linux nsenter. */
      nsenter: string;
      /** The server's descriptor of the network namespace. */
      netFd: number;
      /** Non-root servers: the descriptor of the user namespace that owns it (root needs none). */
      userFd?: number;
      /** The computer's resolv.conf, bound at /etc/resolv.conf. */
      resolvConf: string;
    };

/**
 * Joins the control groups named by the first `n` arguments, then runs the rest. It runs as the
 * server (before any privilege is dropped), so the program and everything it starts are counted
 * from their first instruction on.
 */
const CGROUP_JOIN = 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1/cgroup.procs" || exit 125; shift; n=$((n-1)); done; exec "$@"';

/** `line`, started in the control groups `dirs` (see CGROUP_JOIN); unchanged without any. */
export function inCgroups(dirs: readonly string[] | undefined, line: readonly string[]): string[] {
  return dirs?.length ? ['/bin/sh', '-c', CGROUP_JOIN, 'cua-cgroup-join', String(dirs.length), ...dirs, ...line] : [...line];
}

/**
 * Builds bubblewrap command lines that confine a program to one computer: read-only program
 * folders and a minimal /etc (see system-view.ts), the computer's own home and /tmp, only its own
 * X socket and cookie, fresh namespaces (no network unless enabled), a cleared environment,
 * resource limits, and death with the server.
 */
export class Sandbox {
  private readonly mounts: string[];

  constructor(readonly spec: SandboxSpec) {
    const n = spec.network;
    this.mounts = systemMounts(spec.etcDir, n.kind === 'host' ? '/etc/resolv.conf' : n.kind === 'joined' ? n.resolvConf : undefined, spec.extraEtc);
  }

  /** The environment programs see inside: nothing of the server's. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      PATH: SANDBOX_PATH,
      HOME: SANDBOX_HOME,
      USER: DESKTOP_USER,
      LOGNAME: DESKTOP_USER,
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
      // Fresh user, IPC, PID, network, UTS and cgroup namespaces (the IPC one kept when the
      // sandbox joined its X server's). Inside, programs run as an ordinary user (uid 1000)
      // without capabilities, even when the server runs as root.
      ...(s.ipc ? ['--unshare-pid', '--unshare-uts', '--unshare-cgroup-try', ...(s.network.kind === 'none' ? ['--unshare-net'] : [])] : ['--unshare-all']),
      '--unshare-user',
      '--uid', String(DESKTOP_UID),
      '--gid', String(DESKTOP_UID),
      '--hostname', DESKTOP_HOSTNAME,
      // Keep the network namespace the sandbox starts in: the host's, or its computer's own.
      ...(s.network.kind === 'none' || s.ipc ? [] : ['--share-net']),
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
      // The sandbox's own root (where /etc, /run … were made for the binds) is read-only too.
      '--remount-ro', '/',
      '--chdir', SANDBOX_HOME,
      '--',
      // Inside the sandbox's own user namespace the process limit counts this sandbox's processes.
      s.programs.prlimit, ...limitArgs(s.limits), '--',
      ...argv,
    ];
  }

  /** The namespace a sandbox joins (see SandboxNetwork, SandboxIpc), as the descriptors it inherits and nsenter's options for them. */
  private joined(): { fds: number[]; enter?: string[] } {
    const { network: n, ipc } = this.spec;
    if (n.kind === 'joined' && ipc) throw new Error('a sandbox joins either its network or its X server\'s IPC namespace, not both');
    if (n.kind === 'joined') return { fds: [n.netFd, ...(n.userFd === undefined ? [] : [n.userFd])], enter: enterNamespace(n.nsenter, '--net', n.userFd !== undefined, NETNS_FD) };
    if (ipc) return { fds: [ipc.ipcFd, ...(ipc.userFd === undefined ? [] : [ipc.userFd])], enter: enterNamespace(ipc.nsenter, '--ipc', ipc.userFd !== undefined, NETNS_FD) };
    return { fds: [] };
  }

  /**
   * The whole command line, confined as the computer's other processes are (see confine()); with
   * a joined namespace, its descriptors are expected at NETNS_FD (and NETNS_FD + 1).
   */
  commandLine(argv: readonly string[], infoFd: number): [string, string[]] {
    return confine(this.spec, [this.spec.programs.bwrap, ...this.args(argv, infoFd)], this.joined().enter);
  }

  /** Starts `argv` in the sandbox as a tracked process (see SandboxedProcess). */
  spawn(label: string, argv: readonly string[], options: SandboxSpawnOptions = {}): SandboxedProcess {
    const { fds } = this.joined();
    return new SandboxedProcess(label, this.commandLine(argv, INFO_FD), {
      env: this.env(options.env),
      pipeStdin: options.pipeStdin,
      pipeStdout: options.pipeOutput,
      pipeStderr: options.pipeOutput,
      // Right after the info pipe: NETNS_FD (and the next), as commandLine() expects.
      inheritFds: fds.length ? fds : undefined,
    });
  }
}

/** What every process of a computer is started under. */
export interface Confinement {
  programs: SandboxPrograms;
  limits: SandboxLimits;
  hostUser?: { uid: number };
  cgroupDirs?: readonly string[];
}

/**
 * nsenter into a computer's network namespace, or its X server's IPC namespace (`kind`), through
 * the descriptor at `first` (a non-root server enters the user namespace that owns it too, at
 * `first + 1`), then close those descriptors so the sandbox does not inherit them.
 */
function enterNamespace(nsenter: string, kind: '--net' | '--ipc', withUser: boolean, first: number): string[] {
  const fds = withUser ? [first, first + 1] : [first];
  return [
    nsenter,
    `${kind}=/proc/self/fd/${first}`,
    ...(withUser ? [`--user=/proc/self/fd/${first + 1}`, '--preserve-credentials'] : []),
    '--',
    '/bin/sh', '-c', `exec ${fds.map((f) => `${f}<&-`).join(' ')}; exec "$@"`, kind === '--net' ? 'cua-netns-enter' : 'cua-ipcns-enter',
  ];
}

/**
 * Wraps a bwrap command line: [join the computer's control groups] → choom (the OOM killer takes
 * sandboxed processes first) → [`enter`: the computer's network namespace, as the server] →
 * [prlimit + setpriv to the computer's host user, when the server is root] → bwrap. Each step
 * execs the next, so the pid stays the same.
 */
export function confine(c: Confinement, bwrapLine: readonly string[], enter?: readonly string[]): [string, string[]] {
  const p = c.programs;
  let line = [...bwrapLine];
  if (c.hostUser) {
    if (!p.setpriv) throw new Error('a sandbox host user needs setpriv (util-linux)');
    const id = String(c.hostUser.uid);
    // Set before the switch, the process limit counts every process of the computer's host user.
    line = [p.prlimit, ...limitArgs(c.limits), '--', p.setpriv, '--reuid', id, '--regid', id, '--clear-groups', '--', ...line];
  }
  if (enter) line = [...enter, ...line];
  line = inCgroups(c.cgroupDirs, [p.choom, '-n', String(SANDBOX_OOM_SCORE_ADJ), '--', ...line]);
  return [line[0], line.slice(1)];
}

/** Resource limits for prlimit, hard and soft alike (a program may lower them, never raise them). */
export function limitArgs(l: SandboxLimits): string[] {
  return [`--nproc=${l.maxProcesses}:${l.maxProcesses}`, ...(l.maxFileBytes ? [`--fsize=${l.maxFileBytes}:${l.maxFileBytes}`] : [])];
}

export interface SandboxSpawnOptions {
  /** Added to the sandbox's environment. */
  pipeOutput?: boolean;
  pipeStdin?: boolean;
  env?: Record<string, string>;
}

/** The fd bwrap reports the program's pid on. */
export const INFO_FD = 3;
/** Where a sandbox of a joined network gets the namespace descriptors (the fds after the info pipe). */
const NETNS_FD = INFO_FD + 1;

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

  /** `line` is a confined bwrap command line whose --info-fd is fd 3 (INFO_FD); more pipes follow it with `extraPipes`. */
  constructor(label: string, [file, args]: [string, string[]], options: Omit<SpawnOptions, 'extraPipes'> & { extraPipes?: number }) {
    this.process = new ManagedProcess(label, file, args, { ...options, extraPipes: 1 + (options.extraPipes ?? 0) });
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

  /** Sends `signal` to the sandboxed program (PID 1 of its namespace); false when it is not running. */
  signalInner(signal: NodeJS.Signals): boolean {
    if (this.innerPid === undefined || !this.process.running) return false;
    try {
      process.kill(this.innerPid, signal);
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

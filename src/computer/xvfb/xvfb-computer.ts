import { closeSync, openSync } from 'node:fs';
import { basename } from 'node:path';
import type { Duplex } from 'node:stream';
import { abortReason, DomainError, DomainErrorCode, errorMessage } from '../../common/domain-error';
import { linkSignals, sleep, withTimeout } from '../../common/async';
import { CommandOptions, CommandResult, Computer, Frame, LaunchResult, MouseButton, OptionalOperation, Point, ProgramOptions, ProgramResult, SettleOptions, SettleResult, Size } from '../computer.port';
import { describeExit } from './child-process';
import { runSandboxedCommand, runSandboxedProgram } from './command-runner';
import { KeyboardMap } from './keyboard-map';
import { EgressNetwork, NetworkChoice } from './network/egress-network';
import { ProgramPaths } from './programs';
import { ComputerCgroup, ComputerCgroups } from './computer-cgroups';
import { DesktopProfile } from './desktop-profile';
import { Confinement, Sandbox, SandboxedProcess, SandboxIpc, SandboxNetwork } from './sandbox';
import { OnDemandVnc } from './vnc-server';
import { ScreenChanges } from './screen-changes';
import { Workspace } from './workspace';
import { X11ClosedError, X11Connection, X11TimeoutError } from './x11-connection';
import { XtestInput } from './xtest-input';
import { XvfbServer, XvfbStartError } from './xvfb-server';

export interface XvfbComputerOptions {
  id: string;
  width: number;
  height: number;
  /** What runCommand and the desktop's programs reach: nothing, the host's network, or an egress network of the computer's own. */
  network: NetworkChoice;
  commandTimeoutMs: number;
  commandOutputLimitBytes: number;
  programs: ProgramPaths;
  /** What runs on the desktop (DESKTOP_PROFILE). */
  profile: DesktopProfile;
  /** Upper bound for start(); default 15 s. */
  startTimeoutMs?: number;
  /** Where the computer's folder is created; default os.tmpdir(). */
  baseDir?: string;
  /**
   * Host uid (and gid) of this computer, for a server running as root: every process of the
   * computer, the X server included, runs as it (through setpriv, programs.setpriv required).
   * Unset: they run as the server's own user (see docs/security.md).
   */
  hostUid?: number;
  limits: ComputerLimits;
  /** Per-computer control groups (memory and processes), where the machine allows them. */
  cgroups?: ComputerCgroups;
  /** Give home and /tmp a tmpfs of limits.diskBytes of their own (needs root). */
  sizedDisk?: boolean;
  /** egress: problems of the resolver's upstream servers. */
  onNetworkWarning?: (message: string) => void;
  /** Called once when close() begins. */
  onClose?: () => void;
  /** Called once when close() has ended every process of the computer and removed its folders. */
  onClosed?: () => void;
}

/** What one computer may use (see the SESSION_* settings). */
export interface ComputerLimits {
  /** Processes (threads): the computer's control group, or each of its sandboxes' rlimit. */
  maxProcesses: number;
  /** Memory of all its processes together (with control groups). */
  memoryBytes: number;
  /** Home and /tmp together (sizedDisk); without it, the largest file a program may write. */
  diskBytes: number;
  /** Commands and programs (runCommand, runProgram) running at once. */
  maxCommands: number;
}

const DEFAULT_START_TIMEOUT_MS = 15_000;
const CAPTURE_TIMEOUT_MS = 15_000;
const ALIVE_TIMEOUT_MS = 1_000;
const CLIPBOARD_TIMEOUT_MS = 5_000;
const LAUNCH_TIMEOUT_MS = 5_000;
/** Background programs one computer may run at once (launch): enough for a browser and a few tools. */
const MAX_LAUNCHED = 16;
/** What `xclip -verbose` prints once it owns the selection and serves it. */
const XCLIP_READY = /Waiting for selection requests/;

function failed(message: string, cause?: unknown): DomainError {
  return new DomainError(DomainErrorCode.COMPUTER_FAILED, message, cause === undefined ? undefined : { cause });
}
function invalid(message: string): DomainError {
  return new DomainError(DomainErrorCode.INVALID_ARGUMENT, message);
}

/**
 * One real desktop: its own Xvfb display (own cookie), openbox and an xterm in a bubblewrap
 * sandbox with its own home and /tmp, screenshots and input in-process over one X11 connection
 * (GetImage, XTEST), and runCommand in the same sandbox. See XvfbComputer.start().
 */
export class XvfbComputer extends Computer {
  readonly provider = 'xvfb';
  private workspace: Workspace | undefined;
  private server: XvfbServer | undefined;
  private conn: X11Connection | undefined;
  private sandbox: Sandbox | undefined;
  private cgroup: ComputerCgroup | undefined;
  private session: SandboxedProcess | undefined;
  /** COMPUTER_NETWORK=egress: the computer's own network (pasta, its rules, its resolver). */
  private network: Promise<EgressNetwork> | undefined;
  private egress: EgressNetwork | undefined;
  /** The xclip process that holds the text set with setClipboard (it serves paste requests). */
  private clipboardOwner: SandboxedProcess | undefined;
  /** Programs started with launch(), each in a sandbox of its own; stopped when the computer closes. */
  private readonly launched = new Set<SandboxedProcess>();
  private input: XtestInput | undefined;
  /** The live view's VNC server, started when someone first watches (when x0vncserver is installed). */
  private vnc: OnDemandVnc | undefined;
  /** The X server's IPC namespace, held for the VNC server to join (see openXServerIpc). */
  private xServerIpc: SandboxIpc | undefined;
  /** When the screen last changed (X DAMAGE on this computer's connection), for settle(). */
  private changes: ScreenChanges | undefined;
  /** Why the desktop stopped by itself, once it did. */
  private failure: string | undefined;
  private closing: Promise<void> | undefined;
  private inputChain: Promise<unknown> = Promise.resolve();
  /** Aborted by close(): stops running commands. */
  private readonly lifetime = new AbortController();
  private readonly running = new Set<Promise<unknown>>();

  private constructor(
    readonly id: string,
    private readonly options: XvfbComputerOptions,
  ) {
    super();
  }

  /** Starts a desktop; everything it started is cleaned up again if any step fails. */
  static async start(options: XvfbComputerOptions, signal?: AbortSignal): Promise<XvfbComputer> {
    const computer = new XvfbComputer(options.id, options);
    const timeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    try {
      await computer.boot(deadline, signal);
      return computer;
    } catch (e) {
      await computer.close();
      if (signal?.aborted) throw abortReason(signal, 'Starting a computer');
      if (e instanceof DomainError) throw e;
      if ((e instanceof XvfbStartError && e.reason === 'timeout') || e instanceof X11TimeoutError || Date.now() >= deadline) {
        throw new DomainError(
          DomainErrorCode.TIMEOUT,
          `The desktop did not start within ${timeoutMs} ms (${errorMessage(e)}). The machine may be overloaded; try again later.`,
          { cause: e },
        );
      }
      throw failed(`Could not start an xvfb desktop: ${errorMessage(e)}`, e);
    }
  }

  private async boot(deadline: number, signal?: AbortSignal): Promise<void> {
    const o = this.options;
    const left = () => Math.max(1, deadline - Date.now());
    const check = () => {
      if (signal?.aborted) throw abortReason(signal, 'Starting a computer');
      if (Date.now() >= deadline) throw new X11TimeoutError('the start deadline passed');
    };

    if (o.hostUid !== undefined && !o.programs.setpriv) throw new Error('hostUid needs setpriv (util-linux)');
    this.workspace = await Workspace.create({
      base: o.baseDir,
      owner: o.hostUid,
      diskBytes: o.sizedDisk ? o.limits.diskBytes : undefined,
      etcFiles: o.profile.etcFiles,
      homeFiles: o.profile.homeFiles,
    });
    this.cgroup = await o.cgroups?.create(basename(this.workspace.root), { memoryBytes: o.limits.memoryBytes, maxProcesses: o.limits.maxProcesses });
    check();
    const confinement: Confinement = {
      programs: o.programs,
      // Without a sized tmpfs, the per-file limit is what keeps one program from filling the disk alone.
      limits: { maxProcesses: o.limits.maxProcesses, maxFileBytes: o.limits.diskBytes },
      hostUser: o.hostUid !== undefined ? { uid: o.hostUid } : undefined,
      cgroupDirs: this.cgroup?.dirs,
    };
    // The network starts while the X server does.
    if (typeof o.network === 'object') {
      this.network = EgressNetwork.start({ plan: o.network, hostUid: o.hostUid, cgroupDirs: this.cgroup?.dirs, etcDir: this.workspace.etc, timeoutMs: left(), signal, warn: o.onNetworkWarning });
      this.network.catch(() => undefined);
    }
    this.server = await XvfbServer.start({
      xvfbPath: o.programs.Xvfb,
      confinement,
      width: o.width,
      height: o.height,
      authFile: this.workspace.xauthority,
      timeoutMs: left(),
      signal,
    });
    void this.server.process.exited.then((status) => this.fail(`Xvfb ${describeExit(status)}`));
    check();

    this.conn = await X11Connection.open({ display: this.server.display, cookie: this.workspace.cookie, timeoutMs: left(), signal });
    this.conn.onClose((reason) => this.fail(reason));
    await this.conn.init();
    if (this.conn.width !== o.width || this.conn.height !== o.height) {
      throw new Error(`the display is ${this.conn.width}x${this.conn.height}, not ${o.width}x${o.height}`);
    }
    if (o.programs.x0vncserver) await this.openXServerIpc();
    this.input = new XtestInput(this.conn, await KeyboardMap.load(this.conn));
    this.changes = await ScreenChanges.watch(this.conn);
    check();
    let network: SandboxNetwork = { kind: o.network === 'on' ? 'host' : 'none' };
    if (this.network) {
      const egress = await this.network;
      this.egress = egress;
      void egress.exited.then((status) => this.fail(`its network helper (pasta) ${describeExit(status)}`));
      network = egress.sandboxNetwork();
    }

    this.sandbox = new Sandbox({
      ...confinement,
      homeDir: this.workspace.home,
      tmpDir: this.workspace.tmp,
      etcDir: this.workspace.etc,
      extraEtc: Object.keys(o.profile.etcFiles),
      xauthorityFile: this.workspace.xauthority,
      display: this.server.display,
      network,
    });
    if (o.programs.x0vncserver) this.vnc = new OnDemandVnc(o.programs.x0vncserver, this.workspace.root, this.sandbox.spec, o.hostUid, this.xServerIpc);
    this.session = this.sandbox.spawn('desktop session', ['/bin/sh', '-c', o.profile.session], { env: { SHELL: '/bin/bash' } });
    await withTimeout(this.session.started, left(), () => new X11TimeoutError('the sandbox did not start'), signal);
    await this.waitForDesktop(deadline, signal);
    // One capture now sets up the shared-memory segment, so the first screenshot a session
    // takes is as fast as the rest (this matters most for computers waiting in warm stock).
    await this.conn.captureRgb(Math.max(1, left()));
  }

  /**
   * Opens descriptors of the X server's IPC namespace (and, for a non-root server, of the user
   * namespace that owns it), so the live view's VNC server can join it and share memory with the X
   * server. The X server answered before they were opened and answers after, so its pid was not
   * reused in between: they are its own. Without nsenter, or should opening fail, the VNC server
   * does without shared memory.
   */
  private async openXServerIpc(): Promise<void> {
    const pid = this.server?.pid;
    const nsenter = this.options.programs.nsenter;
    if (pid === undefined || !nsenter || !this.conn) return;
    const fds: number[] = [];
    try {
      fds.push(openSync(`/proc/${pid}/ns/ipc`, 'r'));
      if (process.getuid?.() !== 0) fds.push(openSync(`/proc/${pid}/ns/user`, 'r'));
      await this.conn.sync();
      this.xServerIpc = { kind: 'joined', nsenter, ipcFd: fds[0], userFd: fds[1] };
    } catch {
      for (const fd of fds) closeSync(fd);
    }
  }

  /** Ready once the profile says so: a window made active (the terminal), or its panel on the screen. */
  private async waitForDesktop(deadline: number, signal?: AbortSignal): Promise<void> {
    const ready = this.options.profile.ready;
    const what = ready.kind === 'active-window' ? 'no window became active' : `no ${ready.windowClass} window appeared drawn`;
    for (;;) {
      if (ready.kind === 'active-window') {
        if ((await this.conn!.activeWindow()) !== 0) return;
      } else {
        // The window, and drawn: a first screenshot must not show a black panel.
        const wid = await this.conn!.findWindowOfClass(ready.windowClass);
        if (wid !== undefined && (await this.conn!.isPainted(wid))) return;
      }
      if (!this.session!.running) {
        const tail = this.session!.process.stderrTail();
        throw new Error(`the desktop session ${describeExit(this.session!.process.exitStatus)}${tail ? `: ${tail}` : ''}`);
      }
      if (Date.now() >= deadline) {
        const tail = this.session!.process.stderrTail().split('\n').slice(-3).join(' | ');
        throw new X11TimeoutError(`${what} (desktop profile ${this.options.profile.name})${tail ? `; the session said: ${tail}` : ''}`);
      }
      await sleep(20, signal);
    }
  }

  private fail(reason: string) {
    if (this.closing || this.failure) return;
    this.failure = reason;
    // The X connection is useless without its server (and vice versa).
    this.conn?.close();
  }

  /** Host details, for tests and diagnostics. */
  get display(): number | undefined {
    return this.server?.display;
  }
  get xvfbPid(): number | undefined {
    return this.server?.pid;
  }
  get homeDir(): string | undefined {
    return this.workspace?.home;
  }
  get rootDir(): string | undefined {
    return this.workspace?.root;
  }
  get xauthorityFile(): string | undefined {
    return this.workspace?.xauthority;
  }
  /** The PID namespace of the desktop session's sandbox (openbox, xterm and their children). */
  get sessionPidNamespace(): number | undefined {
    return this.session?.pidNamespace;
  }
  /** Every host PID this computer started and keeps (Xvfb, the session's bwrap and its shell, a clipboard owner, the network helpers). */
  pids(): number[] {
    const launched = [...this.launched].flatMap((p) => p.pids());
    return [this.server?.pid, ...(this.session?.pids() ?? []), ...(this.clipboardOwner?.pids() ?? []), ...launched, ...this.networkPids()].filter((p): p is number => p !== undefined);
  }
  /** egress: host PIDs of pasta and the rule keeper of the computer's network. */
  networkPids(): number[] {
    return this.egress?.pids() ?? [];
  }
  /** egress: the port of the computer's DNS resolver on the host's loopback. */
  get resolverPort(): number | undefined {
    return this.egress?.resolverPort;
  }

  private live(): { conn: X11Connection; input: XtestInput; sandbox: Sandbox } {
    if (this.closing) throw failed(`Computer ${this.id} was closed. Start a new session to get a new computer.`);
    if (this.failure || !this.conn?.isOpen || !this.server?.running) {
      const why = this.server?.running
        ? (this.failure ?? this.conn?.closeReason ?? 'unknown reason')
        : `Xvfb ${describeExit(this.server?.process.exitStatus)}`;
      throw failed(`The desktop of computer ${this.id} stopped (${why}); start a new session to get a new computer.`);
    }
    return { conn: this.conn, input: this.input!, sandbox: this.sandbox! };
  }

  /** Maps low-level failures to DomainErrors that say what to do. */
  private translate(e: unknown, what: string): DomainError {
    if (e instanceof DomainError) return e;
    if (this.failure || !this.server?.running || e instanceof X11ClosedError) {
      try {
        this.live();
      } catch (dead) {
        return dead as DomainError;
      }
    }
    if (e instanceof X11TimeoutError) {
      return new DomainError(DomainErrorCode.TIMEOUT, `Computer ${this.id} did not finish ${what} in time (${e.message}); it may be overloaded. Try again.`, { cause: e });
    }
    return failed(`Computer ${this.id} could not ${what}: ${errorMessage(e)}`, e);
  }

  private async guarded<T>(what: string, fn: (parts: ReturnType<XvfbComputer['live']>) => Promise<T>): Promise<T> {
    const parts = this.live();
    try {
      return await fn(parts);
    } catch (e) {
      throw this.translate(e, what);
    }
  }

  /** Input actions run one at a time, in call order. */
  private serial<T>(what: string, fn: (input: XtestInput) => Promise<T>): Promise<T> {
    this.live();
    const run = this.inputChain.then(() => this.guarded(what, (p) => fn(p.input)));
    this.inputChain = run.catch(() => undefined);
    return run;
  }

  async screenSize(): Promise<Size> {
    this.live();
    return { width: this.options.width, height: this.options.height };
  }

  async capture(signal?: AbortSignal): Promise<Frame> {
    return this.guarded('take a screenshot', async ({ conn }) => {
      const data = await withTimeout(
        conn.captureRgb(CAPTURE_TIMEOUT_MS),
        CAPTURE_TIMEOUT_MS,
        () => new X11TimeoutError(`no screenshot within ${CAPTURE_TIMEOUT_MS} ms`),
        signal,
      );
      return { kind: 'raw', width: conn.width, height: conn.height, channels: 3, data };
    });
  }

  /** Waits on the X server's change notices (DAMAGE) until the screen has been still: see ScreenChanges. */
  override async settle(options: SettleOptions): Promise<SettleResult> {
    return this.guarded('wait for the screen to settle', () => this.changes!.settle(options));
  }

  // Input arrives checked (CheckedComputer): points on the screen, known keys, sane amounts.
  async moveMouse(to: Point): Promise<void> {
    return this.serial('move the mouse', (input) => input.move(to));
  }

  async click(at: Point, button: MouseButton, count: number): Promise<void> {
    return this.serial('click', (input) => input.click(at, button, count));
  }

  async mouseDown(button: MouseButton): Promise<void> {
    return this.serial('press the mouse button', (input) => input.button(button, true));
  }

  async mouseUp(button: MouseButton): Promise<void> {
    return this.serial('release the mouse button', (input) => input.button(button, false));
  }

  async drag(path: Point[], button: MouseButton): Promise<void> {
    return this.serial('drag', (input) => input.drag(path, button));
  }

  async scroll(at: Point, dx: number, dy: number): Promise<void> {
    return this.serial('scroll', (input) => input.scroll(at, dx, dy));
  }

  async typeText(text: string): Promise<void> {
    return this.serial('type text', (input) => input.typeText(text));
  }

  async pressKeys(keys: readonly string[]): Promise<void> {
    return this.serial('press keys', (input) => input.pressKeys(keys));
  }

  async setKeys(keys: readonly string[], down: boolean): Promise<void> {
    return this.serial(down ? 'press keys' : 'release keys', (input) => input.setKeys(keys, down));
  }

  async holdKeys(keys: readonly string[], durationMs: number, signal?: AbortSignal): Promise<void> {
    return this.serial('hold keys', (input) => input.holdKeys(keys, durationMs, signal));
  }

  async cursorPosition(): Promise<Point> {
    // After pending input, so it reflects the last move or click.
    return this.serial('read the cursor position', (input) => input.pointer());
  }

  async runCommand(command: string, options: CommandOptions = {}): Promise<CommandResult> {
    const timeoutMs = options.timeoutMs ?? this.options.commandTimeoutMs;
    return this.guarded('run the command', ({ sandbox }) =>
      this.tracked(options.signal, (signal) => runSandboxedCommand(sandbox, command, { timeoutMs, outputLimitBytes: this.options.commandOutputLimitBytes, signal })),
    );
  }

  override async runProgram(argv: readonly string[], options: ProgramOptions = {}): Promise<ProgramResult> {
    const timeoutMs = options.timeoutMs ?? this.options.commandTimeoutMs;
    const outputLimitBytes = options.outputLimitBytes ?? this.options.commandOutputLimitBytes;
    return this.guarded('run the program', ({ sandbox }) =>
      this.tracked(options.signal, (signal) => runSandboxedProgram(sandbox, argv, { timeoutMs, outputLimitBytes, stdin: options.stdin, signal })),
    );
  }

  /**
   * Runs a command or program as one of this computer's running ones: at most limits.maxCommands
   * at once (COMPUTER_BUSY beyond), each stopped when the caller cancels or the computer closes.
   */
  private async tracked<T>(callerSignal: AbortSignal | undefined, start: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const max = this.options.limits.maxCommands;
    if (this.running.size >= max) {
      throw new DomainError(
        DomainErrorCode.COMPUTER_BUSY,
        `Computer ${this.id} already runs ${max} commands at once, its limit (SESSION_MAX_COMMANDS).`,
      );
    }
    const link = linkSignals(callerSignal, this.lifetime.signal);
    const run = start(link.signal);
    this.running.add(run);
    try {
      return await run;
    } finally {
      this.running.delete(run);
      link.dispose();
    }
  }

  /**
   * A foreground `xclip` in the sandbox owns the CLIPBOARD selection and serves it until another
   * program takes the selection (xclip then exits) or the computer closes.
   */
  override async setClipboard(text: string): Promise<void> {
    return this.guarded('set the clipboard', async ({ sandbox }) => {
      const previous = this.clipboardOwner;
      this.clipboardOwner = undefined;
      await previous?.kill();
      const owner = sandbox.spawn('clipboard', ['xclip', '-selection', 'clipboard', '-in', '-verbose'], { pipeOutput: true, pipeStdin: true });
      this.clipboardOwner = owner;
      const child = owner.process.child;
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(Buffer.from(text, 'utf8'));
      let said = '';
      const ready = new Promise<void>((resolve, reject) => {
        const listen = (chunk: Buffer) => {
          said = (said + chunk.toString('utf8')).slice(-4096);
          if (XCLIP_READY.test(said)) resolve();
        };
        child.stdout?.on('data', listen);
        child.stderr?.on('data', listen);
        void owner.process.exited.then(() => reject(new Error(`xclip stopped before it held the clipboard: ${said.trim() || 'no output'}`)));
      });
      try {
        await withTimeout(ready, CLIPBOARD_TIMEOUT_MS, () => new X11TimeoutError(`xclip did not take the clipboard within ${CLIPBOARD_TIMEOUT_MS} ms`));
      } catch (e) {
        if (this.clipboardOwner === owner) this.clipboardOwner = undefined;
        await owner.kill();
        throw e;
      }
    });
  }

  override supports(operation: OptionalOperation): boolean {
    if (operation === 'openVnc') return this.options.programs.x0vncserver !== undefined;
    return super.supports(operation);
  }

  override async openVnc(signal?: AbortSignal): Promise<Duplex> {
    if (!this.options.programs.x0vncserver) return super.openVnc(signal);
    return this.guarded('open the live view', () => this.vnc!.connect(signal));
  }

  override async launch(command: string): Promise<LaunchResult> {
    return this.guarded('launch the program', async ({ sandbox }) => {
      if (this.launched.size >= MAX_LAUNCHED) {
        throw invalid(`At most ${MAX_LAUNCHED} background programs may run on one computer; close some first (they stop when their windows close).`);
      }
      // Its own sandbox, like a command's, but not stopped when this call returns; output is not kept.
      // The shell is PID 1 of that sandbox, so it waits: a command that sends its program to the
      // background itself ("firefox &") must not end the namespace, and with it the program.
      const program = sandbox.spawn('background program', ['/bin/sh', '-c', `${command}\nwait`]);
      this.launched.add(program);
      void program.process.exited.then(() => this.launched.delete(program));
      await withTimeout(program.started, LAUNCH_TIMEOUT_MS, () => new X11TimeoutError(`the sandbox did not start within ${LAUNCH_TIMEOUT_MS} ms`));
      // No pid: the host's would tell the tenant about the host, and inside its own PID namespace
      // the program is PID 1 of a sandbox no other command can see, so no pid would be of use.
      return {};
    });
  }

  async isAlive(): Promise<boolean> {
    if (this.closing || this.failure || !this.server?.running || !this.conn?.isOpen) return false;
    try {
      await this.conn.sync(ALIVE_TIMEOUT_MS);
      return true;
    } catch {
      return false;
    }
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closing = this.shutdown();
      try {
        this.options.onClose?.();
      } catch {
        // a listener's problem must not stop the cleanup
      }
    }
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const steps: (() => Promise<unknown> | void)[] = [
      () => {
        this.lifetime.abort(failed(`Computer ${this.id} was closed.`));
        return Promise.allSettled(this.running);
      },
      () => this.vnc?.close(),
      () => {
        const ipc = this.xServerIpc;
        this.xServerIpc = undefined;
        for (const fd of ipc ? [ipc.ipcFd, ipc.userFd] : []) if (fd !== undefined) closeSync(fd);
      },
      () => this.clipboardOwner?.kill(),
      () => Promise.allSettled([...this.launched].map((p) => p.kill())),
      () => this.session?.kill(),
      () => this.network?.then((n) => n.close()),
      () => this.conn?.close(),
      () => this.server?.stop(),
      // Whatever a program left running (it cannot, outside its PID namespace; this is the backstop).
      () => this.cgroup?.remove(),
      () => this.workspace?.remove(),
    ];
    for (const step of steps) {
      try {
        await step();
      } catch {
        // Keep going: every later step frees something else.
      }
    }
    try {
      this.options.onClosed?.();
    } catch {
      // a listener's problem is not the computer's
    }
  }
}

import type { Duplex } from 'node:stream';
import { DomainError, DomainErrorCode } from '../common/domain-error';

/**
 * The Computer port: one desktop that a session sees and drives.
 * Coordinates here are always in the computer's own screen pixels; mapping from
 * a downscaled screenshot back to the screen is done once, in ScreenshotService.
 */
export type MouseButton = 'left' | 'right' | 'middle';
export interface Point {
  x: number;
  y: number;
}
export interface Size {
  width: number;
  height: number;
}

/** What a provider captures: raw pixels (preferred, no double encode) or an already encoded image. */
export type Frame =
  | { kind: 'raw'; width: number; height: number; channels: 3 | 4; data: Buffer }
  | { kind: 'encoded'; width: number; height: number; mimeType: string; data: Buffer };

export interface CommandOptions {
  /** Kill the whole process tree after this long. */
  timeoutMs?: number;
  signal?: AbortSignal;
}
export interface CommandResult {
  stdout: string;
  stderr: string;
  /** null when the command was killed (timeout or cancellation). */
  exitCode: number | null;
  timedOut: boolean;
  /** True when stdout or stderr was cut at the output limit. */
  truncated: boolean;
}

/** For Computer.runProgram: a program run without a shell, with bytes in and bytes out. */
export interface ProgramOptions extends CommandOptions {
  /** Bytes written to the program's stdin, which is then closed. */
  stdin?: Buffer;
  /** Cut stdout and stderr at this many bytes each (default: the provider's command limit). */
  outputLimitBytes?: number;
}
export interface ProgramResult extends Omit<CommandResult, 'stdout'> {
  stdout: Buffer;
}

/**
 * For Computer.settle: how to wait for the screen to show the effect of actions. Times are in ms;
 * `since` is a `performance.now()` reading of this process.
 */
export interface SettleOptions {
  /** When the actions began: screen changes from then on count as their effect. */
  since: number;
  /** Settled once no part of the screen has changed for this long. */
  quietMs: number;
  /** Never wait longer than this, even while the screen keeps changing. */
  maxMs: number;
  /** When nothing has changed since `since`: how long to wait for a first change before deciding there is none. */
  firstChangeMs: number;
  signal?: AbortSignal;
}
export interface SettleResult {
  /** How long settle() waited, in ms. */
  waitedMs: number;
  /** True when maxMs ran out while the screen was still changing. */
  hitCap: boolean;
  /** Whether the screen changed after `since`; undefined when the provider cannot tell (it waited a fixed time). */
  changed?: boolean;
}

export interface LaunchResult {
  /** The program's process id where the provider can tell one that means something to the client (a remote cua server's); never a host pid of this server. */
  pid?: number;
}

/** The operations of the port a provider may leave out (the base class answers them COMPUTER_UNSUPPORTED). */
export type OptionalOperation = 'runProgram' | 'setClipboard' | 'launch' | 'settle' | 'openVnc';

export abstract class Computer {
  /** Stable, unique id for logs and stats (never a secret). */
  abstract readonly id: string;
  /** The provider's name, e.g. "xvfb". */
  abstract readonly provider: string;

  abstract screenSize(): Promise<Size>;
  abstract capture(signal?: AbortSignal): Promise<Frame>;

  abstract moveMouse(to: Point): Promise<void>;
  /** Click `count` times (1, 2 or 3) at `at`. */
  abstract click(at: Point, button: MouseButton, count: number): Promise<void>;
  abstract mouseDown(button: MouseButton): Promise<void>;
  abstract mouseUp(button: MouseButton): Promise<void>;
  /** Press at the first point, move through the rest, release at the last. */
  abstract drag(path: Point[], button: MouseButton): Promise<void>;
  /** Scroll at a point by wheel clicks: positive dy scrolls down, positive dx scrolls right. */
  abstract scroll(at: Point, dx: number, dy: number): Promise<void>;
  abstract typeText(text: string): Promise<void>;
  /** Press a chord of validated key names (see keys.ts) together, then release in reverse order. */
  abstract pressKeys(keys: readonly string[]): Promise<void>;
  /** Press (`down` true, in order) or release (`down` false, in reverse order) keys, to hold them across other actions. */
  abstract setKeys(keys: readonly string[], down: boolean): Promise<void>;
  /** Hold a chord for `durationMs`, then release. */
  abstract holdKeys(keys: readonly string[], durationMs: number, signal?: AbortSignal): Promise<void>;
  abstract cursorPosition(): Promise<Point>;
  abstract runCommand(command: string, options?: CommandOptions): Promise<CommandResult>;
  /**
   * Optional: runs `argv` (no shell) where runCommand runs, as the desktop's user, with stdin
   * bytes and raw stdout bytes (file transfer). The default says COMPUTER_UNSUPPORTED.
   */
  async runProgram(_argv: readonly string[], _options?: ProgramOptions): Promise<ProgramResult> {
    throw this.unsupported('cannot run programs with raw input and output (file transfer)');
  }
  /**
   * Optional: makes `text` the desktop's clipboard (CLIPBOARD selection) until something else
   * takes it or the computer closes. The default says COMPUTER_UNSUPPORTED.
   */
  async setClipboard(_text: string): Promise<void> {
    throw this.unsupported('have no clipboard to set');
  }
  /**
   * Optional: starts a shell command in the background where runCommand runs (so a program it
   * opens, e.g. a browser, keeps its window) and returns at once. The program runs until it exits
   * or the computer closes, which stops it. The default says COMPUTER_UNSUPPORTED.
   */
  async launch(_command: string): Promise<LaunchResult> {
    throw this.unsupported('cannot run programs in the background; run the command without background');
  }
  /**
   * Optional: waits until the screen shows the effect of actions that began at `options.since`,
   * so the next capture is not taken before the programs on it have redrawn: until nothing has
   * changed for quietMs (or, when nothing changed at all, for firstChangeMs), at most maxMs.
   * A provider that gets change notices from its display uses them; one that cannot tell waits a
   * fixed time. The default says COMPUTER_UNSUPPORTED; callers capture at once instead.
   */
  async settle(_options: SettleOptions): Promise<SettleResult> {
    throw this.unsupported('cannot tell when the screen has settled');
  }

  /**
   * Optional: a new connection to this desktop's VNC server (RFB 3.8, security type None), for
   * the live view: the stream starts with the server's ProtocolVersion. Only this process can
   * open it (a unix socket, or a channel of the provider's own); callers filter what a viewer
   * sends. The caller owns the stream and destroys it. The default says COMPUTER_UNSUPPORTED.
   */
  async openVnc(_signal?: AbortSignal): Promise<Duplex> {
    throw this.unsupported('offer no live view (no VNC server)');
  }

  /**
   * Whether this computer does an optional operation itself rather than leave it to the
   * default above. A class that overrides the operation does it; a wrapper asks what it wraps,
   * and a provider that knows better (a remote server that lacks a command) says so here.
   */
  supports(operation: OptionalOperation): boolean {
    return this[operation] !== Computer.prototype[operation];
  }

  protected unsupported(what: string): DomainError {
    return new DomainError(DomainErrorCode.COMPUTER_UNSUPPORTED, `Computers of the ${this.provider} provider ${what}.`);
  }

  /** A cheap liveness check; false when the desktop is gone. */
  abstract isAlive(): Promise<boolean>;
  /** Frees every resource (processes, files). Safe to call more than once. */
  abstract close(): Promise<void>;

  /**
   * Lets go of the computer without ending or resetting it, so that another replica can adopt it (a computer its
   * provider gives a handle: ComputerProvider.handleOf). Closes this process's connection to it only. The default
   * closes it: a computer nobody else can reach has nothing to keep.
   */
  detach(): Promise<void> {
    return this.close();
  }
}

export interface CreateComputerOptions {
  signal?: AbortSignal;
}

/**
 * A computer provider creates computers of one kind. Register one from any Nest module
 * with @RegisterComputerProvider(); COMPUTER_PROVIDER selects it by `name`. The registry wraps
 * every computer it hands out in a CheckedComputer, so a provider gets only input that keeps
 * the port's rules (points on the screen, known keys, sane amounts) and need not check them.
 */
export abstract class ComputerProvider {
  abstract readonly name: string;
  abstract create(options: CreateComputerOptions): Promise<Computer>;
  /** Optional boot-time check (e.g. required programs present). Throw a DomainError with what to do. */
  checkReady?(): Promise<void>;
  /**
   * The most computers this provider can have alive at once (e.g. a fixed list of remote
   * machines), or undefined for no limit of its own. The pool never asks for more than this.
   */
  capacity(): number | undefined {
    return undefined;
  }

  /**
   * Remote providers: a handle that names this computer among the provider's own (configured) computers, for a
   * session's record, so that another replica can adopt it (adopt) when this one is gone. Undefined for a computer
   * only this process can reach (the default).
   */
  handleOf(_computer: Computer): string | undefined {
    return undefined;
  }

  /**
   * Takes over the computer a handle names, as its session left it (no reset): another replica, now gone, held it.
   * Only handles of this provider's own computers are valid; anything else is refused, so a record can never make
   * the server connect somewhere it was not configured to. The default: no computer of this provider can be adopted.
   */
  adopt(_handle: string, _options: CreateComputerOptions): Promise<Computer> {
    return Promise.reject(new DomainError(DomainErrorCode.COMPUTER_UNSUPPORTED, `Computers of the ${this.name} provider cannot be adopted by another replica.`));
  }
}

import type { Duplex } from 'node:stream';
import { DomainError, DomainErrorCode, errorMessage } from '../../common/domain-error';
import {
  CommandOptions,
  CommandResult,
  Computer,
  Frame,
  LaunchResult,
  MouseButton,
  OptionalOperation,
  Point,
  ProgramOptions,
  ProgramResult,
  SettleOptions,
  SettleResult,
  Size,
} from '../computer.port';

/**
 * A desktop in the cluster: the cua protocol client to its computer-server, plus what the cluster
 * says about it. When the desktop is lost (its pod deleted, evicted, crashed) every call fails
 * with COMPUTER_FAILED naming what happened, and isAlive() turns false, so the session's next call
 * gets a clear error and a fresh computer. close() closes the connection and deletes the desktop;
 * detach() (shared mode: this replica stops, another adopts the session) closes the connection only.
 */
export class KubernetesComputer extends Computer {
  readonly provider = 'kubernetes';
  private lost?: string;
  private closing?: Promise<void>;

  constructor(
    readonly id: string,
    private readonly inner: Computer,
    private readonly deleteDesktop: () => Promise<void>,
    /** Forgets the desktop here without deleting it (shared mode); without one, detach() is close(). */
    private readonly letGo?: () => void,
  ) {
    super();
  }

  /** What the desktop's client does, this does (the rest answers COMPUTER_UNSUPPORTED from there). */
  override supports(operation: OptionalOperation): boolean {
    return this.inner.supports(operation);
  }

  /** The cluster took the desktop away: calls fail from now on with this message. */
  markLost(message: string) {
    this.lost ??= message;
  }

  private async call<T>(work: () => Promise<T>): Promise<T> {
    this.check();
    try {
      return await work();
    } catch (e) {
      // A call cut off by the desktop's end reports the end, not the broken connection.
      this.check(e);
      throw e;
    }
  }

  private check(cause?: unknown) {
    if (this.closing) throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `Computer ${this.id} is closed.`, { cause });
    if (this.lost) {
      throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `${this.lost}; this session's computer is gone, and the next call starts a fresh one.`, { cause });
    }
  }

  screenSize(): Promise<Size> {
    return this.call(() => this.inner.screenSize());
  }
  override openVnc(signal?: AbortSignal): Promise<Duplex> {
    return this.call(() => this.inner.openVnc(signal));
  }
  capture(signal?: AbortSignal): Promise<Frame> {
    return this.call(() => this.inner.capture(signal));
  }
  moveMouse(to: Point): Promise<void> {
    return this.call(() => this.inner.moveMouse(to));
  }
  click(at: Point, button: MouseButton, count: number): Promise<void> {
    return this.call(() => this.inner.click(at, button, count));
  }
  mouseDown(button: MouseButton): Promise<void> {
    return this.call(() => this.inner.mouseDown(button));
  }
  mouseUp(button: MouseButton): Promise<void> {
    return this.call(() => this.inner.mouseUp(button));
  }
  drag(path: Point[], button: MouseButton): Promise<void> {
    return this.call(() => this.inner.drag(path, button));
  }
  scroll(at: Point, dx: number, dy: number): Promise<void> {
    return this.call(() => this.inner.scroll(at, dx, dy));
  }
  typeText(text: string): Promise<void> {
    return this.call(() => this.inner.typeText(text));
  }
  pressKeys(keys: readonly string[]): Promise<void> {
    return this.call(() => this.inner.pressKeys(keys));
  }
  setKeys(keys: readonly string[], down: boolean): Promise<void> {
    return this.call(() => this.inner.setKeys(keys, down));
  }
  holdKeys(keys: readonly string[], durationMs: number, signal?: AbortSignal): Promise<void> {
    return this.call(() => this.inner.holdKeys(keys, durationMs, signal));
  }
  cursorPosition(): Promise<Point> {
    return this.call(() => this.inner.cursorPosition());
  }
  runCommand(command: string, options?: CommandOptions): Promise<CommandResult> {
    return this.call(() => this.inner.runCommand(command, options));
  }
  override runProgram(argv: readonly string[], options?: ProgramOptions): Promise<ProgramResult> {
    return this.call(() => this.inner.runProgram(argv, options));
  }
  override setClipboard(text: string): Promise<void> {
    return this.call(() => this.inner.setClipboard(text));
  }
  override launch(command: string): Promise<LaunchResult> {
    return this.call(() => this.inner.launch(command));
  }
  override settle(options: SettleOptions): Promise<SettleResult> {
    return this.call(() => this.inner.settle(options));
  }

  async isAlive(): Promise<boolean> {
    if (this.lost || this.closing) return false;
    return this.inner.isAlive().catch(() => false);
  }

  /** Closes this process's connection and forgets the desktop, which stays as it is for another replica to adopt. */
  override detach(): Promise<void> {
    const letGo = this.letGo;
    if (!letGo) return this.close();
    this.closing ??= (async () => {
      try {
        await this.inner.close();
      } finally {
        letGo();
      }
    })();
    return this.closing;
  }

  /** Closes the connection, then deletes the desktop and waits until the cluster reports it gone. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.inner.close().catch((e: unknown) => new Error(`closing the connection failed: ${errorMessage(e)}`));
      await this.deleteDesktop();
    })();
    return this.closing;
  }
}

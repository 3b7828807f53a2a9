import { sleep } from '../../common/async';
import { abortReason, DomainError, DomainErrorCode } from '../../common/domain-error';
import { CommandOptions, CommandResult, Computer, Frame, MouseButton, Point, SettleOptions, SettleResult, Size } from '../computer.port';
import { backgroundFor, FakeScreen } from './fake-screen';

/**
 * FAKE computer, for unit tests, demos and load tests that need many computers.
 * Deterministic and in-process; its screen shows typed text and clicks (see fake-screen.ts).
 * runCommand understands only `echo ARGS`, `true`, `false` and `sleep SECONDS`. Like every
 * provider's, its input is checked by the CheckedComputer the registry wraps it in.
 */
export class FakeComputer extends Computer {
  readonly provider = 'fake';
  private readonly screen: FakeScreen;
  private cursor: Point = { x: 0, y: 0 };
  private closed = false;
  private shot?: { version: number; data: Buffer };
  readonly log: string[] = [];

  constructor(
    readonly id: string,
    size: Size,
  ) {
    super();
    this.screen = new FakeScreen(size.width, size.height, backgroundFor(id));
  }

  get isClosed() {
    return this.closed;
  }

  /** Test hook: make the computer behave as if its desktop died. */
  kill() {
    this.closed = true;
  }

  private live(action: string) {
    if (this.closed) throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `Computer ${this.id} is no longer running.`);
    this.log.push(action);
  }

  async screenSize(): Promise<Size> {
    this.live('screenSize');
    return { width: this.screen.width, height: this.screen.height };
  }

  async capture(): Promise<Frame> {
    this.live('capture');
    // Frames are read-only: captures of an unchanged screen share one copy (3 MB at 1280x800; copying
    // and collecting one per screenshot held the event loop under 8 concurrent agent tasks).
    if (this.shot?.version !== this.screen.version) this.shot = { version: this.screen.version, data: Buffer.from(this.screen.data) };
    return { kind: 'raw', width: this.screen.width, height: this.screen.height, channels: 3, data: this.shot.data };
  }

  async moveMouse(to: Point) {
    this.live(`move ${to.x},${to.y}`);
    this.cursor = { ...to };
  }

  async click(at: Point, button: MouseButton, count: number) {
    this.live(`click ${button} x${count} ${at.x},${at.y}`);
    this.cursor = { ...at };
    this.screen.markClick(at.x, at.y);
  }

  async mouseDown(button: MouseButton) {
    this.live(`down ${button}`);
  }

  async mouseUp(button: MouseButton) {
    this.live(`up ${button}`);
    this.screen.markClick(this.cursor.x, this.cursor.y);
  }

  async drag(path: Point[], button: MouseButton) {
    this.live(`drag ${button} ${path.map((p) => `${p.x},${p.y}`).join(' ')}`);
    this.cursor = { ...path[path.length - 1] };
    this.screen.markClick(this.cursor.x, this.cursor.y);
  }

  async scroll(at: Point, dx: number, dy: number) {
    this.live(`scroll ${dx},${dy} at ${at.x},${at.y}`);
    this.cursor = { ...at };
  }

  async typeText(text: string) {
    this.live(`type ${text}`);
    this.screen.typeText(text);
  }

  async pressKeys(keys: readonly string[]) {
    this.live(`key ${keys.join('+')}`);
    if (keys.length === 1 && keys[0] === 'Return') this.screen.typeText('\n');
  }

  async setKeys(keys: readonly string[], down: boolean) {
    this.live(`${down ? 'keydown' : 'keyup'} ${keys.join('+')}`);
  }

  async holdKeys(keys: readonly string[], durationMs: number, signal?: AbortSignal) {
    this.live(`hold ${keys.join('+')} ${durationMs}ms`);
    await sleep(durationMs, signal);
  }

  async cursorPosition(): Promise<Point> {
    this.live('cursor');
    return { ...this.cursor };
  }

  /** The fake screen changes while an action runs, never after it: nothing to wait for. */
  override async settle(options: SettleOptions): Promise<SettleResult> {
    if (this.closed) throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `Computer ${this.id} is no longer running.`);
    if (options.signal?.aborted) throw abortReason(options.signal, 'Waiting for the screen to settle');
    const at = this.screen.changedAt;
    return { waitedMs: 0, hitCap: false, changed: at !== undefined && at >= options.since };
  }

  async runCommand(command: string, options: CommandOptions = {}): Promise<CommandResult> {
    this.live(`run ${command}`);
    const [prog, ...args] = command.trim().split(/\s+/);
    const result = (stdout: string, exitCode: number): CommandResult => ({ stdout, stderr: '', exitCode, timedOut: false, truncated: false });
    switch (prog) {
      case 'echo':
        return result(args.join(' ') + '\n', 0);
      case 'true':
        return result('', 0);
      case 'false':
        return result('', 1);
      case 'sleep': {
        const ms = Number(args[0]) * 1000;
        const limit = options.timeoutMs ?? Infinity;
        try {
          await sleep(Math.min(ms, limit), options.signal);
        } catch (e) {
          return { stdout: '', stderr: (e as Error).message, exitCode: null, timedOut: false, truncated: false };
        }
        return ms > limit ? { stdout: '', stderr: '', exitCode: null, timedOut: true, truncated: false } : result('', 0);
      }
      default:
        return { stdout: '', stderr: `${prog}: the fake computer runs only echo, true, false and sleep\n`, exitCode: 127, timedOut: false, truncated: false };
    }
  }

  async isAlive() {
    return !this.closed;
  }

  async close() {
    this.closed = true;
  }
}

import type { Duplex } from 'node:stream';
import { DomainError, DomainErrorCode } from '../common/domain-error';
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
} from './computer.port';
import { keysymOf } from './keys';

/** Longest a chord may be held (holdKeys). */
const MAX_HOLD_MS = 60_000;
/** Most wheel clicks one scroll may turn, either way. */
const MAX_WHEEL_CLICKS = 100;

const invalid = (message: string) => new DomainError(DomainErrorCode.INVALID_ARGUMENT, message);

/**
 * The port's rules, checked once for every provider: the registry wraps each computer it hands
 * out in one of these. A call that breaks a rule gets INVALID_ARGUMENT saying what was wrong and
 * what is allowed, and never reaches the desktop; a call that keeps them goes through with
 * points rounded to whole pixels. What only one kind of desktop needs (a cua server's key names,
 * how many programs an Xvfb desktop keeps in the background) stays with its provider.
 */
export class CheckedComputer extends Computer {
  constructor(readonly inner: Computer) {
    super();
  }

  get id(): string {
    return this.inner.id;
  }
  get provider(): string {
    return this.inner.provider;
  }

  override supports(operation: OptionalOperation): boolean {
    return this.inner.supports(operation);
  }

  screenSize(): Promise<Size> {
    return this.inner.screenSize();
  }
  capture(signal?: AbortSignal): Promise<Frame> {
    return this.inner.capture(signal);
  }
  cursorPosition(): Promise<Point> {
    return this.inner.cursorPosition();
  }
  isAlive(): Promise<boolean> {
    return this.inner.isAlive();
  }
  override detach(): Promise<void> {
    return this.inner.detach();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  override settle(options: SettleOptions): Promise<SettleResult> {
    return this.inner.settle(options);
  }

  async moveMouse(to: Point): Promise<void> {
    return this.inner.moveMouse(await this.point(to));
  }

  async click(at: Point, button: MouseButton, count: number): Promise<void> {
    const p = await this.point(at);
    if (count !== 1 && count !== 2 && count !== 3) throw invalid(`Click count must be 1, 2 or 3, not ${count}.`);
    return this.inner.click(p, checkButton(button), count);
  }

  async mouseDown(button: MouseButton): Promise<void> {
    return this.inner.mouseDown(checkButton(button));
  }

  async mouseUp(button: MouseButton): Promise<void> {
    return this.inner.mouseUp(checkButton(button));
  }

  async drag(path: Point[], button: MouseButton): Promise<void> {
    if (!Array.isArray(path) || path.length < 2) throw invalid('A drag needs a path of at least two points (start and end).');
    const screen = await this.inner.screenSize();
    const points = path.map((p, i) => checkPoint(p, screen, `drag point #${i + 1}`));
    return this.inner.drag(points, checkButton(button));
  }

  async scroll(at: Point, dx: number, dy: number): Promise<void> {
    const p = await this.point(at);
    for (const [name, v] of [['dx', dx], ['dy', dy]] as const) {
      if (!Number.isInteger(v) || Math.abs(v) > MAX_WHEEL_CLICKS) {
        throw invalid(`Scroll ${name} must be a whole number of wheel clicks between -${MAX_WHEEL_CLICKS} and ${MAX_WHEEL_CLICKS}, not ${v}.`);
      }
    }
    return this.inner.scroll(p, dx, dy);
  }

  async typeText(text: string): Promise<void> {
    if (typeof text !== 'string') throw invalid('Text to type must be a string.');
    return this.inner.typeText(text);
  }

  async pressKeys(keys: readonly string[]): Promise<void> {
    return this.inner.pressKeys(checkKeys(keys));
  }

  async setKeys(keys: readonly string[], down: boolean): Promise<void> {
    return this.inner.setKeys(checkKeys(keys), down);
  }

  async holdKeys(keys: readonly string[], durationMs: number, signal?: AbortSignal): Promise<void> {
    const k = checkKeys(keys);
    if (!Number.isFinite(durationMs) || durationMs < 0 || durationMs > MAX_HOLD_MS) {
      throw invalid(`Hold duration must be between 0 and ${MAX_HOLD_MS} ms, not ${durationMs}.`);
    }
    return this.inner.holdKeys(k, durationMs, signal);
  }

  async runCommand(command: string, options?: CommandOptions): Promise<CommandResult> {
    if (typeof command !== 'string' || !command.trim()) throw invalid('A command is required, e.g. "ls -la".');
    checkTimeout(options);
    return this.inner.runCommand(command, options);
  }

  override async runProgram(argv: readonly string[], options?: ProgramOptions): Promise<ProgramResult> {
    const list: unknown = argv;
    if (!Array.isArray(list) || list.length === 0 || !list.every((a) => typeof a === 'string')) {
      throw invalid('A program needs argv: a non-empty list of strings.');
    }
    checkTimeout(options);
    return this.inner.runProgram(argv, options);
  }

  override async setClipboard(text: string): Promise<void> {
    if (typeof text !== 'string') throw invalid('Clipboard text must be a string.');
    return this.inner.setClipboard(text);
  }

  override async launch(command: string): Promise<LaunchResult> {
    if (typeof command !== 'string' || !command.trim()) throw invalid('A command is required, e.g. "xterm" or "firefox https://example.com".');
    return this.inner.launch(command);
  }

  override openVnc(signal?: AbortSignal): Promise<Duplex> {
    return this.inner.openVnc(signal);
  }

  private async point(p: Point): Promise<Point> {
    return checkPoint(p, await this.inner.screenSize(), 'point');
  }
}

/** A point rounded to whole pixels; INVALID_ARGUMENT when it is not on the screen. */
function checkPoint(p: Point, screen: Size, what: string): Point {
  const { width, height } = screen;
  if (!p || !Number.isFinite(p.x) || !Number.isFinite(p.y)) throw invalid(`The ${what} needs numeric x and y.`);
  const x = Math.round(p.x);
  const y = Math.round(p.y);
  if (x < 0 || y < 0 || x >= width || y >= height) {
    throw invalid(`The ${what} (${p.x}, ${p.y}) is outside the ${width}x${height} screen; use 0 ≤ x < ${width} and 0 ≤ y < ${height}.`);
  }
  return { x, y };
}

function checkButton(b: MouseButton): MouseButton {
  if (b !== 'left' && b !== 'right' && b !== 'middle') throw invalid(`Unknown mouse button "${String(b)}"; use left, right or middle.`);
  return b;
}

/** A non-empty list of known key names (X keysym names, as parseKeyCombo returns them). */
function checkKeys(keys: readonly string[]): string[] {
  const list: unknown = keys;
  if (!Array.isArray(list) || list.length === 0) throw invalid('At least one key is required, e.g. ["Return"].');
  if (!list.every((k) => typeof k === 'string')) throw invalid('Key names must be strings, e.g. "Control_L".');
  for (const k of list) keysymOf(k); // INVALID_ARGUMENT naming an unknown key
  return list;
}

function checkTimeout(options: CommandOptions | undefined) {
  const t = options?.timeoutMs;
  if (t !== undefined && (!Number.isFinite(t) || t <= 0)) throw invalid(`Command timeout must be a positive number of milliseconds, not ${t}.`);
}

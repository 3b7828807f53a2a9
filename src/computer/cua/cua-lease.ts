import type { Duplex } from 'node:stream';
import { DomainError, DomainErrorCode } from '../../common/domain-error';
import { CommandOptions, CommandResult, Computer, Frame, LaunchResult, MouseButton, OptionalOperation, Point, SettleOptions, SettleResult, Size } from '../computer.port';
import { CuaComputer } from './cua-computer';

/** What a session did to a remote computer, for its reset. */
export interface LeaseUse {
  /** Anything beyond looking (screenshots, size, cursor) was done. */
  touched: boolean;
  /** Keys pressed with setKeys(…, true) and not released. */
  heldKeys: string[];
  heldButtons: MouseButton[];
}

/**
 * A remote computer as one session holds it: every call goes to the CuaComputer; close() hands
 * it back to the provider (reset, check, then free or quarantine the endpoint) exactly once.
 */
export class LeasedCuaComputer extends Computer {
  readonly provider: string;
  private touched = false;
  private readonly heldKeys = new Set<string>();
  private readonly heldButtons = new Set<MouseButton>();
  private closing?: Promise<void>;

  constructor(
    readonly inner: CuaComputer,
    private readonly giveBack: (use: LeaseUse) => Promise<void>,
    /** detach(): lets go of the endpoint without a reset (another replica adopts it). */
    private readonly letGo: () => Promise<void> = giveBack.bind(undefined, { touched: true, heldKeys: [], heldButtons: [] }),
    /** Adopted from another replica: its session has used it already, so it is reset when given back. */
    adopted = false,
  ) {
    super();
    this.provider = inner.provider;
    this.touched = adopted;
  }

  get id(): string {
    return this.inner.id;
  }

  override supports(operation: OptionalOperation): boolean {
    return this.inner.supports(operation);
  }

  override openVnc(signal?: AbortSignal): Promise<Duplex> {
    this.guard();
    return this.inner.openVnc(signal);
  }

  /** The endpoint's base URL as logs show it. */
  get host(): string {
    return this.inner.host;
  }

  private touch() {
    this.guard();
    this.touched = true;
  }

  /** After close() began, the endpoint is being reset for the next session: nothing more goes through. */
  private guard() {
    if (this.closing) throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `Computer ${this.id} was closed. Start a new session to get a new computer.`);
  }

  async screenSize(): Promise<Size> {
    this.guard();
    return await this.inner.screenSize();
  }
  async capture(signal?: AbortSignal): Promise<Frame> {
    this.guard();
    return await this.inner.capture(signal);
  }
  async cursorPosition(): Promise<Point> {
    this.guard();
    return await this.inner.cursorPosition();
  }
  async moveMouse(to: Point): Promise<void> {
    this.touch();
    return await this.inner.moveMouse(to);
  }
  async click(at: Point, button: MouseButton, count: number): Promise<void> {
    this.touch();
    return await this.inner.click(at, button, count);
  }
  async mouseDown(button: MouseButton): Promise<void> {
    this.touch();
    this.heldButtons.add(button);
    await this.inner.mouseDown(button);
  }
  async mouseUp(button: MouseButton): Promise<void> {
    this.touch();
    await this.inner.mouseUp(button);
    this.heldButtons.delete(button);
  }
  async drag(path: Point[], button: MouseButton): Promise<void> {
    this.touch();
    return await this.inner.drag(path, button);
  }
  async scroll(at: Point, dx: number, dy: number): Promise<void> {
    this.touch();
    return await this.inner.scroll(at, dx, dy);
  }
  async typeText(text: string): Promise<void> {
    this.touch();
    return await this.inner.typeText(text);
  }
  async pressKeys(keys: readonly string[]): Promise<void> {
    this.touch();
    return await this.inner.pressKeys(keys);
  }
  async setKeys(keys: readonly string[], down: boolean): Promise<void> {
    this.touch();
    if (down) keys.forEach((k) => this.heldKeys.add(k));
    await this.inner.setKeys(keys, down);
    if (!down) keys.forEach((k) => this.heldKeys.delete(k));
  }
  async holdKeys(keys: readonly string[], durationMs: number, signal?: AbortSignal): Promise<void> {
    this.touch();
    return await this.inner.holdKeys(keys, durationMs, signal);
  }
  async runCommand(command: string, options?: CommandOptions): Promise<CommandResult> {
    this.touch();
    return await this.inner.runCommand(command, options);
  }
  override async setClipboard(text: string): Promise<void> {
    this.touch();
    return await this.inner.setClipboard(text);
  }
  override async launch(command: string): Promise<LaunchResult> {
    this.touch();
    return await this.inner.launch(command);
  }
  override async settle(options: SettleOptions): Promise<SettleResult> {
    this.guard();
    return await this.inner.settle(options);
  }
  isAlive(): Promise<boolean> {
    return this.closing ? Promise.resolve(false) : this.inner.isAlive();
  }

  /** Hands the endpoint back (reset, check, free or quarantine). Safe to call more than once. */
  override detach(): Promise<void> {
    this.closing ??= this.letGo();
    return this.closing;
  }

  close(): Promise<void> {
    this.closing ??= this.giveBack({ touched: this.touched, heldKeys: [...this.heldKeys], heldButtons: [...this.heldButtons] });
    return this.closing;
  }
}

import { sleep } from '../../common/async';
import { DomainError, DomainErrorCode } from '../../common/domain-error';
import { MouseButton, Point } from '../computer.port';
import { canonicalKey, keysymOf } from '../keys';
import { XTERM_MULTI_CLICK_MS } from './desktop-profile';
import { KeyboardMap, keysymForCodePoint, KeyRequest } from './keyboard-map';
import { X11Connection } from './x11-connection';

const BUTTONS: Record<MouseButton, number> = { left: 1, middle: 2, right: 3 };
const WHEEL = { up: 4, down: 5, left: 6, right: 7 } as const;
/** How long to wait for the pointer to reach a point (a window manager's grab can hold it briefly). */
const POINTER_SETTLE_MS = 1000;
const MAX_TEXT = 100_000;
/**
 * How far apart separate click actions are kept, in ms. X programs tell a double click from two
 * clicks by the X server's timestamps: a press within the multi-click time of the last release
 * is the next click of the same multi-click (xterm on our desktops: XTERM_MULTI_CLICK_MS, 600;
 * GTK: 400). The gap runs from the server's answer that it has the previous action's last release
 * (so that release is stamped already) to the sending of the next press (stamped later still), so
 * a stall of the server can only widen it: the 150 ms beyond xterm's time covers timer
 * granularity, not load (and the whole stays above GTK's 400 ms and Chromium's 500 ms). Inside one
 * multi-click each press waits only until the window manager has passed the previous one on
 * (see thawed()): a few milliseconds, more under load, which xterm's 600 ms absorbs.
 */
const SEPARATE_CLICKS_MS = XTERM_MULTI_CLICK_MS + 150;

/** Keysyms for the control characters typeText accepts. */
const CONTROL_KEYS: Record<string, string> = { '\n': 'Return', '\r': 'Return', '\t': 'Tab', '\b': 'BackSpace', '\x1b': 'Escape' };

/**
 * Mouse and keyboard through the XTEST extension: each action is a few FakeInput requests
 * followed by one round trip, so it has reached the server when the promise resolves.
 */
export class XtestInput {
  /** Keycodes pressed by setKeys(…, true), by key name, until released. */
  private readonly held = new Map<string, number[]>();
  /** When each button's last click action ended (performance.now(): monotonic, as the X server's clock). */
  private readonly lastClick = new Map<MouseButton, number>();

  constructor(
    private readonly conn: X11Connection,
    private readonly keyboard: KeyboardMap,
  ) {}

  private motion(p: Point) {
    this.conn.fakeMotion(Math.round(p.x), Math.round(p.y));
  }

  /**
   * Waits until the server reports the pointer at `p`. While a client (openbox, on a click)
   * holds a synchronous grab, motion is queued until the grab is released.
   */
  private async settle(p: Point): Promise<void> {
    const deadline = Date.now() + POINTER_SETTLE_MS;
    for (;;) {
      const at = await this.conn.queryPointer();
      if ((at.x === Math.round(p.x) && at.y === Math.round(p.y)) || Date.now() >= deadline) return;
      await sleep(5);
    }
  }

  async move(p: Point): Promise<void> {
    this.motion(p);
    await this.conn.sync();
    await this.settle(p);
  }

  async click(p: Point, button: MouseButton, count: number): Promise<void> {
    // Clicks that follow each other quickly would merge into one multi-click (a double click
    // followed by a click reads as a triple click): keep separate click actions separate.
    const since = performance.now() - (this.lastClick.get(button) ?? -Infinity);
    if (since < SEPARATE_CLICKS_MS) await sleep(SEPARATE_CLICKS_MS - since);
    await this.move(p);
    const b = BUTTONS[button];
    for (let i = 0; i < count; i++) {
      if (i > 0) await this.thawed(p);
      this.conn.fakeButton(b, true);
      this.conn.fakeButton(b, false);
    }
    await this.conn.sync();
    this.lastClick.set(button, performance.now());
    await this.settle(p);
  }

  /**
   * Waits until the pointer is no longer frozen by a window manager's synchronous grab, so the
   * next press of a multi-click reaches the X server only after the previous one was passed on.
   * openbox (like most click-to-focus window managers) grabs presses on windows synchronously and
   * replays each to the window; presses that arrive while one waits for its replay were measured
   * to get lost under load (2 of 20 desktops lost a press in 10 triple clicks each), and a lost
   * press turns a triple click into a double one. While the pointer is frozen, motion is queued
   * too, so a one-pixel step that shows in the pointer's position proves the freeze is over; the
   * pointer then steps back, and the next press comes at `p` again.
   */
  private async thawed(p: Point): Promise<void> {
    const x = Math.round(p.x);
    const step = { x: x > 0 ? x - 1 : x + 1, y: Math.round(p.y) };
    await this.move(step);
    await this.move(p);
  }

  async button(button: MouseButton, press: boolean): Promise<void> {
    this.conn.fakeButton(BUTTONS[button], press);
    await this.conn.sync();
    if (!press) this.lastClick.set(button, performance.now());
  }

  async drag(path: Point[], button: MouseButton): Promise<void> {
    await this.move(path[0]);
    this.conn.fakeButton(BUTTONS[button], true);
    await this.conn.sync();
    try {
      for (const p of path.slice(1)) {
        this.motion(p);
        // One round trip per step, so clients see each position as a separate motion event.
        await this.conn.sync();
      }
    } finally {
      if (this.conn.isOpen) {
        this.conn.fakeButton(BUTTONS[button], false);
        await this.conn.sync();
      }
    }
    await this.settle(path[path.length - 1]);
  }

  async scroll(p: Point, dx: number, dy: number): Promise<void> {
    await this.move(p);
    const wheel = (button: number, n: number) => {
      for (let i = 0; i < n; i++) {
        this.conn.fakeButton(button, true);
        this.conn.fakeButton(button, false);
      }
    };
    wheel(dy > 0 ? WHEEL.down : WHEEL.up, Math.abs(dy));
    wheel(dx > 0 ? WHEEL.right : WHEEL.left, Math.abs(dx));
    await this.conn.sync();
  }

  /** Keycodes to press, in order, for a chord of keysym names (adding Shift where a key needs it). */
  private async chordKeycodes(keys: readonly string[]): Promise<number[]> {
    const codes: number[] = [];
    for (const name of keys) {
      const stroke = await this.keyboard.strokeFor({ keysym: keysymOf(name), alt: [] });
      if (stroke.shift && !codes.includes(this.keyboard.shiftKeycode)) codes.push(this.keyboard.shiftKeycode);
      if (!codes.includes(stroke.keycode)) codes.push(stroke.keycode);
    }
    return codes;
  }

  private async releaseAll(codes: number[]) {
    if (!this.conn.isOpen) return;
    for (const kc of [...codes].reverse()) this.conn.fakeKey(kc, false);
    await this.conn.sync();
  }

  async pressKeys(keys: readonly string[]): Promise<void> {
    const codes = await this.chordKeycodes(keys);
    for (const kc of codes) this.conn.fakeKey(kc, true);
    await this.releaseAll(codes);
  }

  /**
   * Presses (in order) or releases (in reverse) keys that stay down across other actions.
   * Releases use the keycodes the press used, even if the keyboard map changed meanwhile.
   */
  async setKeys(keys: readonly string[], down: boolean): Promise<void> {
    if (down) {
      for (const name of keys) {
        const codes = await this.chordKeycodes([name]);
        for (const kc of codes) this.conn.fakeKey(kc, true);
        this.held.set(name, codes);
      }
      await this.conn.sync();
      return;
    }
    const codes: number[] = [];
    for (const name of keys) {
      const pressed = this.held.get(name) ?? (await this.chordKeycodes([name]));
      this.held.delete(name);
      for (const kc of pressed) if (!codes.includes(kc)) codes.push(kc);
    }
    await this.releaseAll(codes);
  }

  async holdKeys(keys: readonly string[], durationMs: number, signal?: AbortSignal): Promise<void> {
    const codes = await this.chordKeycodes(keys);
    for (const kc of codes) this.conn.fakeKey(kc, true);
    try {
      await this.conn.sync();
      await sleep(durationMs, signal);
    } finally {
      await this.releaseAll(codes);
    }
  }

  async typeText(text: string): Promise<void> {
    const plan = planText(text);
    let sent = 0;
    for (let i = 0; i < plan.length; ) {
      // Keys the layout lacks are mapped in batches, just before their own presses.
      const end = i + (await this.keyboard.prepare(plan.slice(i, i + 500)));
      for (; i < end; i++) {
        const stroke = this.keyboard.lookup(plan[i])!;
        if (stroke.shift) this.conn.fakeKey(this.keyboard.shiftKeycode, true);
        this.conn.fakeKey(stroke.keycode, true);
        this.conn.fakeKey(stroke.keycode, false);
        if (stroke.shift) this.conn.fakeKey(this.keyboard.shiftKeycode, false);
        // Keep the server (and the clients reading the events) from falling far behind.
        if (++sent % 200 === 0) await this.conn.sync();
      }
    }
    await this.conn.sync();
  }

  pointer(): Promise<Point> {
    return this.conn.queryPointer();
  }
}

/** Validates the whole text first, so bad input types nothing; returns the keysym of each key press. */
export function planText(text: string): KeyRequest[] {
  if (text.length > MAX_TEXT) {
    throw new DomainError(DomainErrorCode.INVALID_ARGUMENT, `Text to type is at most ${MAX_TEXT} characters; send it in parts.`);
  }
  const plan: KeyRequest[] = [];
  let prev = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const afterCr = prev === '\r';
    prev = ch;
    if (ch === '\n' && afterCr) continue; // CRLF is one Return
    const control = CONTROL_KEYS[ch];
    if (control) {
      plan.push({ keysym: keysymOf(control), alt: [] });
      continue;
    }
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
      throw new DomainError(
        DomainErrorCode.INVALID_ARGUMENT,
        `Cannot type control character U+${cp.toString(16).padStart(4, '0').toUpperCase()}; use the key action for special keys.`,
      );
    }
    // Beyond Latin-1 a layout may carry the legacy keysym (e.g. EuroSign) rather than the Unicode one.
    const legacy = cp > 0xff ? canonicalKey(ch) : undefined;
    plan.push({ keysym: keysymForCodePoint(cp), alt: legacy ? [keysymOf(legacy)] : [] });
  }
  return plan;
}

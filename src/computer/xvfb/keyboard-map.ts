import { sleep } from '../../common/async';
import { X11Connection } from './x11-connection';

export interface KeyStroke {
  keycode: number;
  /** The keysym is on the shifted level: press Shift with it. */
  shift: boolean;
}

/** A key to press: its keysym, and other keysyms that produce the same character. */
export interface KeyRequest {
  keysym: number;
  alt: number[];
}

const XK_SHIFT_L = 0xffe1;
/**
 * A spare keycode remapped to a new keysym is not reused for another keysym until this long
 * after its last press. Clients look a key event's keysym up in the keyboard mapping when they
 * process the event, not when it was sent, so remapping too soon would change what they read.
 */
const SCRATCH_REUSE_MS = 150;
/** Vendor (XF86) keysyms: media and launch keys nobody types text with. */
const isVendorKeysym = (s: number) => s >= 0x1008ff00 && s <= 0x1008ffff;

/** The keysym X clients turn into this character (Latin-1 keysyms equal the code point). */
export function keysymForCodePoint(cp: number): number {
  if ((cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xff)) return cp;
  return 0x01000000 + cp;
}

/**
 * The display's keysym → keycode map, for typing through XTEST. Keysyms on the first two levels
 * of a keycode use it (with Shift for the second level). Any other keysym (é, €, 中, or a key the
 * layout lacks) is first put on a spare keycode with ChangeKeyboardMapping.
 *
 * Every mapping change makes each X client (openbox re-grabs all its bindings) do real work, so
 * changes are batched: the spare keycodes are one contiguous run (keycodes with no keysyms or
 * only XF86 media keysyms), and all keysyms a piece of text needs are mapped with one request.
 */
export class KeyboardMap {
  private readonly strokes = new Map<number, KeyStroke>();
  /** Current keysyms of every keycode (index: keycode - minKeycode). */
  private readonly rows: number[][];
  private readonly perKeycode: number;
  /** Spare keycodes (ascending) and the keysym each carries now (0 = none of ours). */
  private readonly pool = new Map<number, number>();
  private readonly contiguous: boolean;
  private readonly lastUsed = new Map<number, number>();
  readonly shiftKeycode: number;

  private constructor(
    private readonly conn: X11Connection,
    rows: number[][],
  ) {
    this.rows = rows.map((r) => [...r]);
    this.perKeycode = Math.max(2, ...rows.map((r) => r.length));
    const free = (syms: number[]) => syms.every((s) => s === 0 || isVendorKeysym(s));
    // The longest run of free keycodes; else every keycode without keysyms, one request each.
    let best: number[] = [];
    let run: number[] = [];
    rows.forEach((syms, i) => {
      run = free(syms) ? [...run, conn.minKeycode + i] : [];
      if (run.length > best.length) best = run;
    });
    this.contiguous = best.length >= 8;
    const spare = this.contiguous ? best : rows.flatMap((syms, i) => (syms.every((s) => s === 0) ? [conn.minKeycode + i] : []));
    for (const kc of spare) this.pool.set(kc, 0);

    rows.forEach((syms, i) => {
      const keycode = conn.minKeycode + i;
      if (this.pool.has(keycode)) return;
      const [plain, shifted] = syms;
      if (plain && !this.strokes.has(plain)) this.strokes.set(plain, { keycode, shift: false });
      if (shifted && shifted !== plain && !this.strokes.has(shifted)) this.strokes.set(shifted, { keycode, shift: true });
    });
    const shift = this.strokes.get(XK_SHIFT_L);
    if (!shift) throw new Error('The keyboard map has no Shift_L key.');
    this.shiftKeycode = shift.keycode;
  }

  static async load(conn: X11Connection): Promise<KeyboardMap> {
    return new KeyboardMap(conn, await conn.getKeyboardMapping());
  }

  /** The stroke for a key that is on the keyboard now, or undefined. Marks spare keycodes used. */
  lookup(key: KeyRequest): KeyStroke | undefined {
    for (const sym of [key.keysym, ...key.alt]) {
      const found = this.strokes.get(sym);
      if (found) {
        if (this.pool.has(found.keycode)) this.lastUsed.set(found.keycode, Date.now());
        return found;
      }
    }
    return undefined;
  }

  /** The keycode to press for one key, mapping it onto a spare keycode if needed. */
  async strokeFor(key: KeyRequest): Promise<KeyStroke> {
    const found = this.lookup(key);
    if (found) return found;
    await this.prepare([key]);
    return this.lookup(key)!;
  }

  /**
   * Maps the keys the layout lacks, for as long a prefix of `keys` as the spare keycodes can
   * hold at once (in one request when possible). Returns that prefix's length (≥ 1 unless
   * `keys` is empty); lookup() then finds every key in it.
   */
  async prepare(keys: readonly KeyRequest[]): Promise<number> {
    if (keys.length === 0) return 0;
    const missing: number[] = [];
    const keep = new Set<number>(); // spare keycodes already holding a key of this prefix
    let end = 0;
    for (; end < keys.length; end++) {
      const k = keys[end];
      const found = [k.keysym, ...k.alt].map((s) => this.strokes.get(s)).find(Boolean);
      if (found) {
        if (this.pool.has(found.keycode) && !keep.has(found.keycode)) {
          if (keep.size + missing.length >= this.pool.size) break;
          keep.add(found.keycode);
        }
        continue;
      }
      if (missing.includes(k.keysym)) continue;
      if (keep.size + missing.length >= this.pool.size) break;
      missing.push(k.keysym);
    }
    if (missing.length === 0) return end;
    if (this.pool.size === 0) throw new Error(`No spare keycode to type keysym 0x${missing[0].toString(16)}.`);

    // Least recently used spare keycodes, not counting those this prefix still needs.
    const slots = [...this.pool.keys()]
      .filter((kc) => !keep.has(kc))
      .sort((a, b) => (this.lastUsed.get(a) ?? 0) - (this.lastUsed.get(b) ?? 0))
      .slice(0, missing.length);
    const wait = Math.max(0, ...slots.map((kc) => (this.lastUsed.get(kc) ?? 0) + SCRATCH_REUSE_MS - Date.now()));
    if (wait > 0) await sleep(wait);

    const assign = new Map<number, number>();
    slots.forEach((kc, i) => assign.set(kc, missing[i]));
    for (const [kc, sym] of assign) {
      const old = this.pool.get(kc);
      if (old && this.strokes.get(old)?.keycode === kc) this.strokes.delete(old);
      // Both levels carry the keysym, so Shift (or Caps Lock) cannot change what it types.
      this.rows[kc - this.conn.minKeycode] = [sym, sym, ...Array<number>(this.perKeycode - 2).fill(0)];
    }
    if (this.contiguous) {
      const first = Math.min(...slots);
      const last = Math.max(...slots);
      const syms: number[] = [];
      for (let kc = first; kc <= last; kc++) syms.push(...this.padded(this.rows[kc - this.conn.minKeycode]));
      await this.conn.changeKeyboardMapping(first, this.perKeycode, syms);
    } else {
      for (const kc of slots) await this.conn.changeKeyboardMapping(kc, this.perKeycode, this.padded(this.rows[kc - this.conn.minKeycode]));
    }
    const now = Date.now();
    for (const [kc, sym] of assign) {
      this.pool.set(kc, sym);
      this.strokes.set(sym, { keycode: kc, shift: false });
      this.lastUsed.set(kc, now);
    }
    return end;
  }

  private padded(row: number[]): number[] {
    return [...row, ...Array<number>(Math.max(0, this.perKeycode - row.length)).fill(0)].slice(0, this.perKeycode);
  }
}

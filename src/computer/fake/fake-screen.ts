/**
 * The fake computer's synthetic screen: a plain RGB framebuffer that shows what was done to it,
 * so tests can see effects in screenshots without a real display.
 *
 * - The background colour is derived from the computer id, so two computers never look alike.
 * - Typed text is drawn as "bit columns": each UTF-16 code unit becomes a column of 16 cells
 *   (3×3 px each, black = 1) in the text area, left to right, wrapping at the right edge.
 *   decodeFakeText() reads it back exactly, through PNG encoding and MCP.
 * - Each click draws a 7×7 red square centred on the click point.
 */
export const CELL = 3;
export const BITS = 16;
export const GLYPH_W = CELL + 1;
export const LINE_H = BITS * CELL + 4;
export const TEXT_TOP = 8;
export const TEXT_LEFT = 8;
export const CLICK_RGB = [255, 0, 0] as const;

export function backgroundFor(id: string): [number, number, number] {
  let h = 2166136261;
  for (const c of id) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  // Light colours, far from black (text) and pure red (click marks).
  return [128 + (h & 0x7f), 128 + ((h >> 8) & 0x7f), 128 + ((h >> 16) & 0x3f)];
}

export class FakeScreen {
  readonly data: Buffer;
  private textLen = 0;
  /** Goes up with every change to the pixels, so a capture can reuse its copy while it is the same. */
  version = 0;
  /** When the pixels last changed (performance.now()), for the fake computer's settle(). */
  changedAt: number | undefined;

  constructor(
    readonly width: number,
    readonly height: number,
    readonly background: [number, number, number],
  ) {
    // One native fill with the 3-byte pattern: a per-pixel loop held the event loop ~40 ms per 1280x800 screen.
    this.data = Buffer.alloc(width * height * 3, Buffer.from(background));
  }

  private fill(x0: number, y0: number, w: number, h: number, rgb: readonly number[]) {
    this.version++;
    for (let y = Math.max(0, y0); y < Math.min(this.height, y0 + h); y++) {
      for (let x = Math.max(0, x0); x < Math.min(this.width, x0 + w); x++) this.data.set(rgb, (y * this.width + x) * 3);
    }
  }

  private glyphOrigin(index: number) {
    const perLine = Math.floor((this.width - 2 * TEXT_LEFT) / GLYPH_W);
    return { x: TEXT_LEFT + (index % perLine) * GLYPH_W, y: TEXT_TOP + Math.floor(index / perLine) * LINE_H };
  }

  typeText(text: string) {
    if (text.length > 0) this.changedAt = performance.now();
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      const o = this.glyphOrigin(this.textLen++);
      if (o.y + LINE_H > this.height) return;
      for (let b = 0; b < BITS; b++) {
        this.fill(o.x, o.y + b * CELL, CELL, CELL, (code >> b) & 1 ? [0, 0, 0] : [255, 255, 255]);
      }
    }
  }

  markClick(x: number, y: number) {
    this.changedAt = performance.now();
    this.fill(x - 3, y - 3, 7, 7, CLICK_RGB);
  }
}

/** Reads back the text drawn by FakeScreen.typeText from raw RGB pixels of the same size. */
export function decodeFakeText(rgb: Buffer, width: number, height: number): string {
  const perLine = Math.floor((width - 2 * TEXT_LEFT) / GLYPH_W);
  let out = '';
  for (let i = 0; ; i++) {
    const x = TEXT_LEFT + (i % perLine) * GLYPH_W;
    const y = TEXT_TOP + Math.floor(i / perLine) * LINE_H;
    if (y + LINE_H > height) return out;
    let code = 0;
    for (let b = 0; b < BITS; b++) {
      const p = ((y + b * CELL + 1) * width + x + 1) * 3;
      const [r, g, bl] = [rgb[p], rgb[p + 1], rgb[p + 2]];
      const black = r < 40 && g < 40 && bl < 40;
      const white = r > 215 && g > 215 && bl > 215;
      if (!black && !white) return out; // background: no glyph here
      if (black) code |= 1 << b;
    }
    out += String.fromCharCode(code);
  }
}

import sharp from 'sharp';
import { Settings } from '../config/config.module';
import { COMPUTER_SETTINGS } from './computer.settings';
import type { Computer, Frame } from './computer.port';
import { fitForModel, MAX_ZOOM, ScreenshotService } from './screenshot.service';

/** A 4-quadrant test card: red, green / blue, white; a one-pixel black dot at (101, 51). */
function card(width: number, height: number): Frame {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const c = x === 101 && y === 51 ? [0, 0, 0] : y < height / 2 ? (x < width / 2 ? [255, 0, 0] : [0, 255, 0]) : x < width / 2 ? [0, 0, 255] : [255, 255, 255];
      data.set(c, (y * width + x) * 3);
    }
  }
  return { kind: 'raw', width, height, channels: 3, data };
}
const screenOf = (frame: Frame) => ({ capture: async () => frame, id: 'card' }) as unknown as Computer;
async function pixel(png: Buffer, x: number, y: number) {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return [...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)];
}

describe(ScreenshotService.name, () => {
  const sut = new ScreenshotService(Settings.load({}).get(COMPUTER_SETTINGS));

  it('keeps a 1280x800 screen at full size (within 1568 px and 1.15 MP)', () => {
    expect(fitForModel(1280, 800, { maxLongEdge: 1568, maxPixels: 1_150_000 })).toEqual({ width: 1280, height: 800, scale: 1 });
  });

  it('downscales a 1920x1080 screen under the pixel limit, keeping the aspect ratio', () => {
    const fit = fitForModel(1920, 1080, { maxLongEdge: 1568, maxPixels: 1_150_000 });
    expect(fit.width * fit.height).toBeLessThanOrEqual(1_150_000);
    expect(fit.width).toBeLessThanOrEqual(1568);
    expect(Math.abs(fit.width / fit.height - 16 / 9)).toBeLessThan(0.01);
  });

  it('encodes to the fitted size and steps down to JPEG when PNG is over the byte limit', async () => {
    // Random noise does not compress: a PNG of it is far above 200 kB.
    const width = 1920, height = 1080;
    const noise = Buffer.alloc(width * height * 3);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
    const shot = await sut.encode({ kind: 'raw', width, height, channels: 3, data: noise }, 'png', { maxLongEdge: 1568, maxPixels: 1_150_000, maxBytes: 200_000 });
    const meta = await sharp(shot.data).metadata();
    expect(meta.format).toBe('jpeg');
    expect(shot.mimeType).toBe('image/jpeg');
    expect([meta.width, meta.height]).toEqual([shot.width, shot.height]);
    expect(shot.data.length).toBeLessThanOrEqual(200_000);
    expect(shot.scale).toBeLessThan(1);
  });

  it('maps screenshot coordinates back to the screen and rejects points outside', () => {
    const shot = { width: 1429, height: 804, scale: 1429 / 1920, screenWidth: 1920, screenHeight: 1080 };
    expect(sut.toScreen({ x: 714, y: 402 }, shot)).toEqual({ x: 959, y: 540 });
    expect(sut.toScreen({ x: 1428, y: 803 }, shot)).toEqual({ x: 1919, y: 1079 });
    expect(() => sut.toScreen({ x: 1429, y: 10 }, shot)).toThrow(/x must be 0..1428/);
    expect(() => sut.toScreen({ x: -1, y: 10 }, shot)).toThrow(/outside the screenshot/);
  });

  it('zoom crops the region and enlarges it (nearest neighbour, at most MAX_ZOOM times), so one screen pixel becomes a block', async () => {
    const zoomed = await sut.zoom(screenOf(card(640, 400)), { x: 100, y: 50, width: 40, height: 25 });
    expect([zoomed.width, zoomed.height]).toEqual([40 * MAX_ZOOM, 25 * MAX_ZOOM]);
    expect(zoomed).toMatchObject({ screenWidth: 40, screenHeight: 25, scale: MAX_ZOOM });
    // The dot at screen (101, 51) is region (1, 1): image pixels 4..7 in both directions.
    expect(await pixel(zoomed.data, 4, 4)).toEqual([0, 0, 0]);
    expect(await pixel(zoomed.data, 7, 7)).toEqual([0, 0, 0]);
    expect(await pixel(zoomed.data, 8, 8)).toEqual([255, 0, 0]);
  });

  it('zoom of a region wider than the budget is fitted into the model limits, not enlarged', async () => {
    const zoomed = await sut.zoom(screenOf(card(2400, 1600)), { x: 0, y: 0, width: 2400, height: 800 });
    expect(zoomed.width).toBeLessThanOrEqual(1568);
    expect(zoomed.width * zoomed.height).toBeLessThanOrEqual(1_150_000);
    expect(zoomed.scale).toBeLessThan(1);
    // Top half only: the left part is red, the right part green.
    expect(await pixel(zoomed.data, 10, 10)).toEqual([255, 0, 0]);
    expect(await pixel(zoomed.data, zoomed.width - 10, zoomed.height - 10)).toEqual([0, 255, 0]);
  });
});

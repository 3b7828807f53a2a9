import sharp from 'sharp';
import { AppConfig } from '../config/config.module';
import { fitForModel, ScreenshotService } from './screenshot.service';

describe(ScreenshotService.name, () => {
  const sut = new ScreenshotService(AppConfig.fromEnv({}));

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
});

import { smartResize } from './image-sizing';

describe(smartResize.name, () => {
  // Expected sizes computed with the smart_resize of the authors' code (bytedance/UI-TARS codes/ui_tars/action_parser.py,
  // QwenLM/Qwen3-VL qwen-vl-utils vision_process.py), Python's round() included.
  const uitars = { factor: 28, minPixels: 100 * 28 * 28, maxPixels: 16384 * 28 * 28 };
  const qwen3 = { factor: 32, minPixels: 64 * 32 * 32, maxPixels: 16384 * 32 * 32 };

  it('rounds each side to the nearest multiple of the factor', () => {
    expect(smartResize(1920, 1080, { factor: 28, minPixels: 3136, maxPixels: 12_845_056 })).toEqual({ width: 1932, height: 1092 });
    expect(smartResize(1280, 800, uitars)).toEqual({ width: 1288, height: 812 });
    expect(smartResize(640, 400, uitars)).toEqual({ width: 644, height: 392 });
    expect(smartResize(1920, 1080, qwen3)).toEqual({ width: 1920, height: 1088 });
  });

  it('rounds a half to the even multiple, as Python does (400 / 32 = 12.5 → 12)', () => {
    expect(smartResize(640, 400, qwen3)).toEqual({ width: 640, height: 384 });
  });

  it('shrinks below the pixel budget and grows above the minimum, keeping the aspect ratio as near as the factor allows', () => {
    const big = smartResize(3840, 2160, { factor: 28, minPixels: 3136, maxPixels: 1_000_000 });
    expect(big).toEqual({ width: 1316, height: 728 });
    expect(big.width * big.height).toBeLessThanOrEqual(1_000_000);
    expect(smartResize(1280, 800, { ...uitars, maxPixels: 100_000 })).toEqual({ width: 392, height: 224 });
    expect(smartResize(100, 50, uitars)).toEqual({ width: 420, height: 224 });
  });

  it('leaves a size that already fits as it is (so the server\'s processor keeps the image as sent)', () => {
    for (const s of [{ width: 1288, height: 812 }, { width: 644, height: 392 }]) expect(smartResize(s.width, s.height, uitars)).toEqual(s);
    expect(smartResize(640, 384, qwen3)).toEqual({ width: 640, height: 384 });
  });
});

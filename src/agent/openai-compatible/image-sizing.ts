import sharp from 'sharp';
import type { Screenshot } from '../../computer/computer.module';

/**
 * How a Qwen-VL-based model's image processor sizes an image: each side a multiple of `factor` (the vision
 * patch times the patch merge: 28 for Qwen2/2.5-VL, 32 for Qwen3-VL), the pixel count within
 * [minPixels, maxPixels], the aspect ratio kept as closely as that allows.
 */
export interface SmartResize {
  factor: number;
  minPixels: number;
  maxPixels: number;
}

/** Python's round(): halves go to the even neighbour (the processors are Python; 12.5 → 12, 13.5 → 14). */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * The size the model's processor turns a width x height image into (the "smart resize" of Qwen's
 * vision utilities, as the UI-TARS, OpenCUA and Qwen authors document it). An image already of that
 * size is left as it is by the processor, so coordinates in its pixels are the model's own.
 */
export function smartResize(width: number, height: number, { factor, minPixels, maxPixels }: SmartResize): { width: number; height: number } {
  let w = Math.max(factor, roundHalfEven(width / factor) * factor);
  let h = Math.max(factor, roundHalfEven(height / factor) * factor);
  if (w * h > maxPixels) {
    const beta = Math.sqrt((width * height) / maxPixels);
    w = Math.max(factor, Math.floor(width / beta / factor) * factor);
    h = Math.max(factor, Math.floor(height / beta / factor) * factor);
  } else if (w * h < minPixels) {
    const beta = Math.sqrt(minPixels / (width * height));
    w = Math.ceil((width * beta) / factor) * factor;
    h = Math.ceil((height * beta) / factor) * factor;
  }
  return { width: w, height: h };
}

/** An image as it is sent to the model: a data URL and its size in pixels. */
export interface SentImage {
  url: string;
  width: number;
  height: number;
}

export function dataUrl(shot: Pick<Screenshot, 'mimeType' | 'data'>): string {
  return `data:${shot.mimeType};base64,${shot.data.toString('base64')}`;
}

/** The screenshot resized to exactly width x height (PNG stays PNG; a JPEG the byte limit forced stays JPEG). */
export async function resizeTo(shot: Screenshot, width: number, height: number): Promise<SentImage> {
  if (shot.width === width && shot.height === height) return { url: dataUrl(shot), width, height };
  const img = sharp(shot.data).resize(width, height, { fit: 'fill', kernel: 'lanczos3' }).removeAlpha();
  const data = shot.mimeType === 'image/png' ? await img.png({ compressionLevel: 6, adaptiveFiltering: false }).toBuffer() : await img.jpeg({ quality: 85 }).toBuffer();
  return { url: dataUrl({ mimeType: shot.mimeType, data }), width, height };
}

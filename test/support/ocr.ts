import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';

const run = promisify(execFile);

export interface OcrWord {
  text: string;
  /** Box in the pixels of the image that was read (not of the crop or the enlargement). */
  x: number;
  y: number;
  width: number;
  height: number;
  confidence: number;
}

export interface OcrOptions {
  /** Read only this part of the image. */
  region?: { left: number; top: number; width: number; height: number };
  /** Light text on a dark or coloured background (a panel): only the light pixels are kept, as black on white. */
  lightOnDark?: boolean;
  /** Enlargement before reading (small UI text reads better larger); default 3. */
  scale?: number;
}

/** The words tesseract reads in a PNG screenshot, with their boxes, as a person would see them. */
export async function readWords(png: Buffer, o: OcrOptions = {}): Promise<OcrWord[]> {
  const scale = o.scale ?? 3;
  const meta = await sharp(png).metadata();
  const region = o.region ?? { left: 0, top: 0, width: meta.width, height: meta.height };
  let img = sharp(png).extract(region).greyscale().resize({ width: region.width * scale, kernel: 'lanczos3' });
  if (o.lightOnDark) img = img.threshold(180).negate();
  const prepared = await img.png().toBuffer();
  const dir = mkdtempSync(join(tmpdir(), 'ocr-'));
  try {
    const file = join(dir, 'in.png');
    writeFileSync(file, prepared);
    const { stdout } = await run('tesseract', [file, '-', 'tsv'], { timeout: 30_000, maxBuffer: 16 * 1024 * 1024 });
    return stdout
      .split('\n')
      .slice(1)
      .map((line) => line.split('\t'))
      .filter((f) => f.length >= 12 && f[11].trim() !== '' && Number(f[10]) >= 0)
      .map((f) => ({
        text: f[11].trim(),
        x: region.left + Number(f[6]) / scale,
        y: region.top + Number(f[7]) / scale,
        width: Number(f[8]) / scale,
        height: Number(f[9]) / scale,
        confidence: Number(f[10]),
      }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The first word that reads exactly `text` (ignoring case and surrounding punctuation). */
export function findWord(words: OcrWord[], text: string): OcrWord | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return words.find((w) => norm(w.text) === text.toLowerCase());
}

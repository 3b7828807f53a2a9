import { Injectable } from '@nestjs/common';
import sharp from 'sharp';
import { InjectSettings } from '../config/config.module';
import { COMPUTER_SETTINGS, type ComputerSettings } from './computer.settings';
import { DomainError, DomainErrorCode } from '../common/domain-error';
import { Computer, Frame, Point } from './computer.port';

export type ImageFormat = 'png' | 'jpeg';

export interface Screenshot {
  data: Buffer;
  mimeType: 'image/png' | 'image/jpeg';
  /** Size of the returned image. */
  width: number;
  height: number;
  /** Size of the computer's screen. */
  screenWidth: number;
  screenHeight: number;
  /** Image pixels per screen pixel (1 when not downscaled). */
  scale: number;
}

export type ImageSize = Pick<ScreenshotLimits, 'maxLongEdge' | 'maxPixels'>;

/** A zoom enlarges a small region at most this much: past it, pixels only get bigger, not clearer. */
export const MAX_ZOOM = 4;

export interface ScreenshotLimits {
  maxLongEdge: number;
  maxPixels: number;
  maxBytes: number;
}

/** The largest size that fits the model limits, keeping the aspect ratio; never upscales. */
export function fitForModel(width: number, height: number, limits: Pick<ScreenshotLimits, 'maxLongEdge' | 'maxPixels'>) {
  const scale = Math.min(1, limits.maxLongEdge / Math.max(width, height), Math.sqrt(limits.maxPixels / (width * height)));
  let w = Math.max(1, Math.floor(width * scale));
  let h = Math.max(1, Math.floor(height * scale));
  while (w * h > limits.maxPixels) {
    w -= 1;
    h = Math.max(1, Math.floor((w * height) / width));
  }
  return { width: w, height: h, scale: w / width };
}

/**
 * Turns a computer's frame into an image sized for vision models, and maps coordinates
 * given in that image's space back to the screen.
 */
@Injectable()
export class ScreenshotService {
  constructor(@InjectSettings(COMPUTER_SETTINGS) private readonly settings: ComputerSettings) {}

  /** `size` overrides the long-edge and pixel limits (a model that needs other sizes); the byte limit stays. */
  async take(computer: Computer, format: ImageFormat = 'png', signal?: AbortSignal, size?: Pick<ScreenshotLimits, 'maxLongEdge' | 'maxPixels'>): Promise<Screenshot> {
    let frame: Frame;
    try {
      frame = await computer.capture(signal);
    } catch (e) {
      if (e instanceof DomainError) throw e;
      throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `Could not take a screenshot of computer ${computer.id}: ${(e as Error).message}`, { cause: e });
    }
    return this.encode(frame, format, size ? { ...this.settings.screenshot, ...size } : undefined);
  }

  async encode(frame: Frame, format: ImageFormat = 'png', limits: ScreenshotLimits = this.settings.screenshot): Promise<Screenshot> {
    const target = fitForModel(frame.width, frame.height, limits);
    const base = () => {
      const img = frame.kind === 'raw'
        ? sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: frame.channels } })
        : sharp(frame.data);
      return target.scale < 1 ? img.resize(target.width, target.height, { kernel: 'lanczos3' }) : img;
    };
    const meta = { width: target.width, height: target.height, screenWidth: frame.width, screenHeight: frame.height, scale: target.scale };
    if (format === 'png') {
      const data = await base().removeAlpha().png({ compressionLevel: 6, adaptiveFiltering: false }).toBuffer();
      if (data.length <= limits.maxBytes) return { data, mimeType: 'image/png', ...meta };
    }
    // JPEG, stepping quality down until it fits the byte limit.
    for (const quality of [85, 75, 60, 45, 30]) {
      const data = await base().removeAlpha().jpeg({ quality, mozjpeg: false }).toBuffer();
      if (data.length <= limits.maxBytes || quality === 30) return { data, mimeType: 'image/jpeg', ...meta };
    }
    throw new Error('unreachable');
  }

  /**
   * A region of the screen (in screen pixels), enlarged to fill the image limits (at most MAX_ZOOM times), so that
   * small text becomes legible. `screenWidth`/`screenHeight` describe the region; `scale` is image px per screen px.
   */
  async zoom(computer: Computer, region: { x: number; y: number; width: number; height: number }, signal?: AbortSignal, size?: ImageSize, format: ImageFormat = 'png'): Promise<Screenshot> {
    let frame: Frame;
    try {
      frame = await computer.capture(signal);
    } catch (e) {
      if (e instanceof DomainError) throw e;
      throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `Could not take a screenshot of computer ${computer.id}: ${(e as Error).message}`, { cause: e });
    }
    const limits = size ? { ...this.settings.screenshot, ...size } : this.settings.screenshot;
    const left = Math.min(region.x, frame.width - 1);
    const top = Math.min(region.y, frame.height - 1);
    const width = Math.max(1, Math.min(region.width, frame.width - left));
    const height = Math.max(1, Math.min(region.height, frame.height - top));
    const grow = Math.min(MAX_ZOOM, limits.maxLongEdge / Math.max(width, height), Math.sqrt(limits.maxPixels / (width * height)));
    const fit = fitForModel(Math.max(1, Math.floor(width * grow)), Math.max(1, Math.floor(height * grow)), limits);
    const src = frame.kind === 'raw' ? sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: frame.channels } }) : sharp(frame.data);
    // extract() before resize() crops first; nearest-neighbour keeps enlarged text edges sharp.
    const { data, info } = await src
      .extract({ left, top, width, height })
      .resize(fit.width, fit.height, { kernel: grow >= 1 ? 'nearest' : 'lanczos3' })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const shot = await this.encode({ kind: 'raw', width: info.width, height: info.height, channels: info.channels as 3 | 4, data }, format, limits);
    return { ...shot, screenWidth: width, screenHeight: height, scale: fit.width / width };
  }

  /**
   * Maps a point in a screenshot's space to screen pixels. Throws INVALID_ARGUMENT when it lies outside
   * the image, naming the valid range.
   */
  toScreen(p: Point, shot: Pick<Screenshot, 'width' | 'height' | 'scale' | 'screenWidth' | 'screenHeight'>): Point {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y) || p.x < 0 || p.y < 0 || p.x >= shot.width || p.y >= shot.height) {
      throw new DomainError(
        DomainErrorCode.INVALID_ARGUMENT,
        `Coordinate (${p.x}, ${p.y}) is outside the screenshot: x must be 0..${shot.width - 1} and y 0..${shot.height - 1}.`,
      );
    }
    return {
      x: Math.min(shot.screenWidth - 1, Math.round(p.x / shot.scale)),
      y: Math.min(shot.screenHeight - 1, Math.round(p.y / shot.scale)),
    };
  }

  /** The geometry a screenshot of this computer would have now (without capturing one). */
  async geometry(computer: Computer) {
    const size = await computer.screenSize();
    const fit = fitForModel(size.width, size.height, this.settings.screenshot);
    return { width: fit.width, height: fit.height, scale: fit.scale, screenWidth: size.width, screenHeight: size.height };
  }
}

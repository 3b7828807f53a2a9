import type { Logger } from '@nestjs/common';
import sharp from 'sharp';
import { linkSignals } from '../common/async';
import { errorMessage, isDomainError } from '../common/domain-error';
import type { Computer, Frame } from '../computer/computer.module';
import type { EncoderRun, VideoEncoder } from './video-encoder';

/** A capture that takes longer than this is given up (the video repeats the last frame meanwhile). */
const CAPTURE_TIMEOUT_MS = 5_000;

export interface VideoOptions {
  dir: string;
  fps: number;
  segmentS: number;
}

/** How a session's video went: recorded, never started (no frame), unsupported by its computer, or failed. */
export type VideoState = 'none' | 'recording' | 'recorded' | 'unsupported' | 'failed';

export interface VideoSummary {
  state: VideoState;
  /** Frames handed to the encoder, and frame slots dropped because it was behind. */
  frames: number;
  dropped: number;
  width?: number;
  height?: number;
  /** When the first frame was captured (ms since the epoch). */
  startedAt?: number;
  error?: string;
}

/**
 * The video of one session's desktop at a constant frame rate: it captures the desktop in-process (the
 * computer's own capture(), no extra connection), at most one capture at a time, and at each frame slot
 * hands the encoder the latest frame, again when nothing newer arrived (an unchanged screen, a slow
 * capture, a computer being replaced). Frame k of the video is thus the screen at about `start + k / fps`:
 * the timing is right by construction, with no timestamps to carry. Frames the encoder cannot take in time
 * are dropped (counted). A computer that cannot capture (COMPUTER_UNSUPPORTED) gives no video.
 */
export class VideoRecorder {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly lifetime = new AbortController();
  private run: EncoderRun | undefined;
  private latest: Buffer | undefined;
  private size: { width: number; height: number } | undefined;
  private t0: number | undefined;
  /** Frame slots passed since t0 (written or dropped). */
  private slots = 0;
  private frames = 0;
  private dropped = 0;
  private capturing = false;
  private state: VideoState = 'none';
  private error: string | undefined;
  private warnedCapture = false;

  constructor(
    /** The computer to film now (undefined while the session has none, e.g. while it is replaced). */
    private readonly source: () => Computer | undefined,
    private readonly encoder: VideoEncoder,
    private readonly options: VideoOptions,
    private readonly logger: Logger,
  ) {}

  private get periodMs() {
    return 1000 / this.options.fps;
  }

  start(): void {
    this.schedule(0);
  }

  private schedule(delayMs: number) {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.tick(), delayMs);
    this.timer.unref();
  }

  private tick() {
    // A fresh frame for this slot: the capture writes it when it arrives (within milliseconds). While one is
    // still running (a slow capture), the slot gets the last frame again.
    if (!this.capturing && (this.state === 'none' || this.state === 'recording')) void this.capture();
    else this.catchUp(Date.now());
    // The next frame slot after now (not after the last slot written: a capture still running must not make
    // this loop spin), or one period from now before the first frame.
    const now = Date.now();
    const next = this.t0 === undefined ? this.periodMs : this.t0 + (Math.floor(((now - this.t0) * this.options.fps) / 1000) + 1) * this.periodMs - now;
    this.schedule(Math.max(1, Math.ceil(next)));
  }

  /** Hands the encoder the latest frame for every slot that has come since the last one. */
  private catchUp(now: number) {
    if (this.t0 === undefined || !this.latest || !this.run) return;
    const due = Math.floor(((now - this.t0) * this.options.fps) / 1000) + 1;
    while (this.slots < due) {
      this.slots++;
      if (this.run.write(this.latest)) this.frames++;
      else this.dropped++;
    }
    if (this.run.failure !== undefined && this.state === 'recording') this.fail(this.run.failure);
  }

  private fail(error: string) {
    this.state = 'failed';
    this.error = error;
    this.logger.warn(`Video of ${this.options.dir} stopped: ${error}`);
  }

  private async capture() {
    const computer = this.source();
    if (!computer) return this.catchUp(Date.now());
    this.capturing = true;
    const link = linkSignals(this.lifetime.signal);
    const timer = setTimeout(() => link.controller.abort(new Error(`no frame within ${CAPTURE_TIMEOUT_MS} ms`)), CAPTURE_TIMEOUT_MS);
    try {
      const frame = await computer.capture(link.signal);
      if (this.stopped) return;
      const rgb = await toRgb(frame, this.size);
      if (this.stopped) return;
      if (!this.run) this.begin(frame.width, frame.height);
      this.latest = rgb;
    } catch (e) {
      if (this.stopped) return;
      if (isDomainError(e, 'COMPUTER_UNSUPPORTED')) {
        this.state = 'unsupported';
        this.error = errorMessage(e);
        this.logger.log(`No video for ${this.options.dir}: ${this.error}`);
      } else if (!this.warnedCapture) {
        // A computer being replaced, or a slow one: the video repeats the last frame meanwhile.
        this.warnedCapture = true;
        this.logger.debug(`A frame for ${this.options.dir} could not be captured: ${errorMessage(e)}`);
      }
    } finally {
      clearTimeout(timer);
      link.dispose();
      this.capturing = false;
      if (!this.stopped) this.catchUp(Date.now());
    }
  }

  private begin(width: number, height: number) {
    this.size = { width, height };
    this.run = this.encoder.start({ dir: this.options.dir, width, height, fps: this.options.fps, segmentS: this.options.segmentS });
    this.t0 = Date.now();
    this.state = 'recording';
    // Frame slots count from the first frame: the next tick is one period after it.
    clearTimeout(this.timer);
    this.schedule(this.periodMs);
  }

  /** Stops capturing, covers the time up to now, and waits for the encoder to close its last segment. */
  async stop(timeoutMs: number): Promise<VideoSummary> {
    if (!this.stopped) {
      this.stopped = true;
      clearTimeout(this.timer);
      this.lifetime.abort(new Error('the recording ended'));
      this.catchUp(Date.now());
      if (this.run) {
        const result = await this.run.finish(timeoutMs);
        if (this.state === 'recording') {
          if (result.ok) this.state = 'recorded';
          else this.fail(result.error ?? 'the encoder failed');
        }
      }
    }
    return this.summary();
  }

  summary(): VideoSummary {
    return {
      state: this.state,
      frames: this.frames,
      dropped: this.dropped,
      ...(this.size ?? {}),
      ...(this.t0 !== undefined ? { startedAt: this.t0 } : {}),
      ...(this.error !== undefined ? { error: this.error } : {}),
    };
  }
}

/** A frame as `width * height * 3` bytes of RGB in the video's size (the first frame's). */
async function toRgb(frame: Frame, size: { width: number; height: number } | undefined): Promise<Buffer> {
  const width = size?.width ?? frame.width;
  const height = size?.height ?? frame.height;
  if (frame.kind === 'raw' && frame.channels === 3 && frame.width === width && frame.height === height) return frame.data;
  const img = frame.kind === 'raw' ? sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: frame.channels } }) : sharp(frame.data);
  return img.removeAlpha().resize(width, height, { fit: 'fill' }).raw().toBuffer();
}

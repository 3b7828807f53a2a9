/** What an encoder run writes: segments `<prefix>-000.<ext>`, `<prefix>-001.<ext>` … in `dir`. */
export interface EncoderOptions {
  dir: string;
  width: number;
  height: number;
  fps: number;
  /** Seconds of video per segment file. */
  segmentS: number;
}

export interface EncoderResult {
  /** False when the encoder failed or had to be killed; the segments it finished are still on disk. */
  ok: boolean;
  /** Why it failed (the end of its error output), when it did. */
  error?: string;
}

/** One video being encoded: frames in, segment files out. */
export interface EncoderRun {
  /**
   * Queues one frame: `width * height * 3` bytes of RGB. False when the frame was dropped: the encoder is
   * behind by more than a few frames, or it has stopped (see `failure`).
   */
  write(frame: Buffer): boolean;
  /** Why the encoder stopped on its own (undefined while it runs or after a clean finish). */
  readonly failure: string | undefined;
  /** Ends the input and waits for the last segment to be written; kills the encoder after `timeoutMs`. */
  finish(timeoutMs: number): Promise<EncoderResult>;
}

/**
 * The port to a video encoder (the side effect of the recordings: a child process). The recording feature
 * feeds it frames at a constant rate; it writes segment files that each play on their own.
 */
export abstract class VideoEncoder {
  /** File extension and media type of the segments and of a joined video. */
  abstract readonly extension: string;
  abstract readonly mimeType: string;
  /** Boot-time check that the encoder can run; throws an error saying what to install. */
  abstract checkReady(): Promise<void>;
  abstract start(options: EncoderOptions): EncoderRun;
  /** Joins finished segments (in order) into one file without re-encoding; throws when that failed. */
  abstract join(segments: readonly string[], out: string, timeoutMs: number): Promise<void>;
}

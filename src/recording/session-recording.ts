import type { Logger } from '@nestjs/common';
import { appendFile, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../common/domain-error';
import type { Computer } from '../computer/computer.module';
import type { ActionLine } from './action-log';
import { RecordingMeta, RecordingStore, SEGMENT } from './recording.store';
import type { VideoEncoder } from './video-encoder';
import { VideoRecorder, VideoSummary } from './video-recorder';

/** How long the encoder gets to close its last segment, and the join to write the whole video. */
const ENCODER_STOP_MS = 10_000;
const JOIN_MS = 60_000;

export interface SessionRecordingOptions {
  recordingId: string;
  dir: string;
  principal: string;
  sessionId: string;
  fps: number;
  segmentS: number;
  /** The computer to film now (undefined while the session has none). */
  source: () => Computer | undefined;
}

/**
 * One session's recording: its action log (actions.jsonl, appended in order), the video of its desktop
 * (segments while it runs, one video.webm once it ended) and recording.json. Writes are queued in order;
 * a failed write is logged once and never fails the session.
 */
export class SessionRecording {
  private chain: Promise<void> = Promise.resolve();
  private warned = false;
  private lines = 0;
  private closed = false;
  private ended: Promise<RecordingMeta | undefined> | undefined;
  private readonly video: VideoRecorder;
  private meta: RecordingMeta;

  constructor(
    private readonly options: SessionRecordingOptions,
    private readonly store: RecordingStore,
    private readonly encoder: VideoEncoder,
    private readonly logger: Logger,
    now = new Date(),
  ) {
    this.video = new VideoRecorder(options.source, encoder, { dir: options.dir, fps: options.fps, segmentS: options.segmentS }, logger);
    this.meta = {
      recording_id: options.recordingId,
      session_id: options.sessionId,
      principal: options.principal,
      status: 'recording',
      started_at: now.toISOString(),
      fps: options.fps,
      segment_s: options.segmentS,
      actions: 0,
      video: { state: 'none', segments: 0, frames: 0, dropped_frames: 0, duration_s: 0 },
    };
  }

  get dir(): string {
    return this.options.dir;
  }

  /** recording.json as it stands while the session runs: the lines and frames so far. */
  snapshot(): RecordingMeta {
    const v = this.video.summary();
    return {
      ...this.meta,
      actions: this.lines,
      video: {
        ...this.meta.video,
        state: v.state,
        frames: v.frames,
        dropped_frames: v.dropped,
        duration_s: v.frames / this.options.fps,
        ...(v.width !== undefined ? { width: v.width, height: v.height } : {}),
        ...(v.startedAt !== undefined ? { started_at: new Date(v.startedAt).toISOString() } : {}),
        ...(v.error !== undefined ? { error: v.error } : {}),
      },
    };
  }

  /** Whether this is the recording `meta` describes. */
  is(meta: Pick<RecordingMeta, 'recording_id' | 'session_id' | 'principal'>): boolean {
    return meta.recording_id === this.options.recordingId && meta.session_id === this.options.sessionId && meta.principal === this.options.principal;
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(work).catch((e: unknown) => {
      if (!this.warned) this.logger.warn(`Could not write recording ${this.options.dir}: ${errorMessage(e)}`);
      this.warned = true;
    });
    return this.chain;
  }

  /** Creates the folder and its files, then starts filming. */
  begin(): Promise<void> {
    const meta = this.meta;
    return this.enqueue(async () => {
      await mkdir(this.options.dir, { recursive: true, mode: 0o700 });
      await writeFile(join(this.options.dir, 'actions.jsonl'), '', { flag: 'a' });
      await this.store.writeMeta(this.options.dir, meta);
      if (!this.closed) this.video.start();
    });
  }

  /** Appends one line to the action log (ignored once the recording has ended). */
  append(line: ActionLine): void {
    if (this.closed) return;
    this.lines++;
    const text = JSON.stringify(line) + '\n';
    void this.enqueue(() => appendFile(join(this.options.dir, 'actions.jsonl'), text));
  }

  /**
   * Ends the recording: stops the video, joins its segments into video.webm, writes recording.json. A session
   * that never got a computer and left nothing to keep is removed instead (resolves undefined). Idempotent.
   */
  end(reason: string): Promise<RecordingMeta | undefined> {
    return (this.ended ??= this.finish(reason));
  }

  private async finish(reason: string): Promise<RecordingMeta | undefined> {
    this.closed = true;
    try {
      const video = await this.video.stop(ENCODER_STOP_MS);
      await this.chain;
      if (reason === 'start-failed' && this.lines === 0 && video.frames === 0) {
        await rm(this.options.dir, { recursive: true, force: true });
        return undefined;
      }
      const joined = await this.joinSegments(video);
      const error = video.error ?? joined.error;
      this.meta = {
        ...this.meta,
        status: 'done',
        ended_at: new Date().toISOString(),
        end_reason: reason,
        actions: this.lines,
        video: {
          state: video.state,
          ...(joined.file ? { file: joined.file } : {}),
          segments: joined.segments,
          frames: video.frames,
          dropped_frames: video.dropped,
          duration_s: video.frames / this.options.fps,
          ...(video.width !== undefined ? { width: video.width, height: video.height } : {}),
          ...(video.startedAt !== undefined ? { started_at: new Date(video.startedAt).toISOString() } : {}),
          ...(error !== undefined ? { error } : {}),
        },
      };
      const meta = this.meta;
      await this.enqueue(() => this.store.writeMeta(this.options.dir, meta));
      return meta;
    } finally {
      this.store.release(this.options.dir);
    }
  }

  /** One video.webm from the segments (renamed when there is one, joined without re-encoding otherwise); the segments stay when that fails. */
  private async joinSegments(video: VideoSummary): Promise<{ file?: string; segments: number; error?: string }> {
    const names = (await readdir(this.options.dir).catch(() => [] as string[]))
      .map((n) => ({ n, m: SEGMENT.exec(n) }))
      .filter((x) => x.m)
      .sort((a, b) => Number(a.m![1]) - Number(b.m![1]))
      .map((x) => x.n);
    if (!names.length || video.frames === 0) return { segments: names.length };
    const out = join(this.options.dir, `video.${this.encoder.extension}`);
    try {
      if (names.length === 1) await rename(join(this.options.dir, names[0]), out);
      else {
        await this.encoder.join(names.map((n) => join(this.options.dir, n)), out, JOIN_MS);
        await Promise.all(names.map((n) => rm(join(this.options.dir, n), { force: true })));
      }
      return { file: `video.${this.encoder.extension}`, segments: names.length };
    } catch (e) {
      await rm(out, { force: true });
      const error = `the segments could not be joined (they are kept as they are): ${errorMessage(e)}`;
      this.logger.warn(`Recording ${this.options.dir}: ${error}`);
      return { segments: names.length, error };
    }
  }
}

import { Injectable } from '@nestjs/common';
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { errorMessage } from '../common/domain-error';
import { EncoderOptions, EncoderResult, EncoderRun, VideoEncoder } from './video-encoder';

const FFMPEG = 'ffmpeg';
/** Frames the encoder may be behind before new ones are dropped (about a second at the highest rate). */
const MAX_QUEUED_FRAMES = 10;
const STDERR_TAIL = 2048;
/** The recorder runs below the desktops: a busy machine slows the encoder, not the agents. */
const NICENESS = 10;

/** Segment names: video-000.webm, video-001.webm … */
export const SEGMENT_PATTERN = 'video-%03d.webm';

/**
 * The ffmpeg arguments for one recording: raw RGB frames on stdin at a constant rate, VP9 in WebM segments.
 * VP9 at libvpx's realtime speed 8 costs about 7 ms a frame at 1280x800 on one thread (the same for a changed or
 * an unchanged frame: the colour conversion and the analysis run anyway), against ~70 ms for VP8. No look-ahead
 * (`-lag-in-frames 0`): frames reach the file as they come, not 25 frames late. Every segment starts with a key
 * frame, so each plays on its own and they join without re-encoding. When the server dies, ffmpeg reads the end
 * of its input and closes the segment it was writing; when ffmpeg itself is killed, that segment is lost.
 */
export function ffmpegArgs(o: EncoderOptions): string[] {
  const even = o.width % 2 === 0 && o.height % 2 === 0;
  return [
    '-hide_banner', '-nostats', '-loglevel', 'error',
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${o.width}x${o.height}`, '-framerate', String(o.fps), '-i', 'pipe:0',
    // yuv420p needs even sizes: pad an odd edge with one black line.
    ...(even ? [] : ['-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2']),
    '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-crf', '36', '-b:v', '0', '-lag-in-frames', '0', '-threads', '1', '-pix_fmt', 'yuv420p',
    '-force_key_frames', `expr:gte(t,n_forced*${o.segmentS})`,
    '-f', 'segment', '-segment_time', String(o.segmentS), '-segment_format', 'webm', '-reset_timestamps', '1',
    join(o.dir, SEGMENT_PATTERN),
  ];
}

/** Every ffmpeg still running, so that a server that exits tells them to finish their segment (SIGTERM). */
const live = new Set<ChildProcess>();
let exitHook = false;
function track(child: ChildProcess) {
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGTERM');
    });
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
}

class FfmpegRun implements EncoderRun {
  private readonly child: ChildProcess;
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly frameBytes: number;
  private stderr = '';
  failure: string | undefined;
  private ending = false;

  constructor(options: EncoderOptions) {
    this.frameBytes = options.width * options.height * 3;
    // Not detached: it shares the server's fate. Its stdin is a pipe from this process, so when the server
    // dies for any reason ffmpeg reads the end of its input, closes the segment it is writing and exits.
    this.child = spawn(FFMPEG, ffmpegArgs(options), { stdio: ['pipe', 'ignore', 'pipe'] });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        if (!this.ending && this.failure === undefined) this.failure = `ffmpeg exited (${signal ?? `code ${code}`}): ${this.tail()}`;
        resolve({ code, signal });
      });
      this.child.once('error', (e) => {
        this.failure ??= `ffmpeg could not run: ${e.message}`;
        if (this.child.pid === undefined) resolve({ code: null, signal: null });
      });
    });
    if (this.child.pid !== undefined) {
      track(this.child);
      try {
        setPriority(this.child.pid, NICENESS);
      } catch {
        // Not allowed here: it runs at the server's priority.
      }
    }
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });
    // EPIPE when ffmpeg died: reported through `failure` by the exit handler.
    this.child.stdin?.on('error', (e) => {
      this.failure ??= `ffmpeg stopped reading frames: ${e.message}`;
    });
  }

  private tail() {
    return this.stderr.trim().split('\n').slice(-3).join(' | ') || 'no error output';
  }

  write(frame: Buffer): boolean {
    const stdin = this.child.stdin;
    if (this.failure !== undefined || this.ending || !stdin || stdin.destroyed) return false;
    if (stdin.writableLength > MAX_QUEUED_FRAMES * this.frameBytes) return false;
    stdin.write(frame);
    return true;
  }

  async finish(timeoutMs: number): Promise<EncoderResult> {
    this.ending = true;
    this.child.stdin?.end();
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const first = await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    if (first === 'timeout') {
      this.child.kill('SIGKILL');
      await this.exited;
      return { ok: false, error: `ffmpeg did not finish within ${timeoutMs} ms and was killed; the last segment may be cut short` };
    }
    if (first.code === 0 && this.failure === undefined) return { ok: true };
    return { ok: false, error: this.failure ?? `ffmpeg exited (${first.signal ?? `code ${first.code}`}): ${this.tail()}` };
  }
}

/** Runs ffmpeg (Debian's, from PATH) as the recordings' encoder. */
@Injectable()
export class FfmpegVideoEncoder extends VideoEncoder {
  readonly extension = 'webm';
  readonly mimeType = 'video/webm';

  async checkReady(): Promise<void> {
    const encoders = await run([FFMPEG, '-hide_banner', '-encoders'], 15_000).catch((e: unknown) => {
      throw new Error(`RECORDING=true needs ffmpeg on the PATH (Debian: apt-get install ffmpeg): ${errorMessage(e)}`);
    });
    if (!/\blibvpx-vp9\b/.test(encoders)) {
      throw new Error('RECORDING=true needs an ffmpeg with the VP9 encoder (libvpx-vp9), as Debian\'s ffmpeg has; this one lacks it.');
    }
  }

  start(options: EncoderOptions): EncoderRun {
    return new FfmpegRun(options);
  }

  async join(segments: readonly string[], out: string, timeoutMs: number): Promise<void> {
    const list = join(dirname(out), '.segments.txt');
    // The concat demuxer reads names relative to the list's folder; ours are plain file names.
    await writeFile(list, segments.map((s) => `file '${basename(s)}'\n`).join(''));
    try {
      await run([FFMPEG, '-hide_banner', '-loglevel', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy', out], timeoutMs);
    } finally {
      await rm(list, { force: true });
    }
  }
}

/** Runs a program to the end (killed after timeoutMs) and returns its stdout; rejects with its stderr's tail. */
function run(argv: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(argv[0], argv.slice(1), { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${basename(argv[0])} failed: ${(stderr || error.message).trim().slice(-500)}`));
      else resolve(stdout);
    });
  });
}

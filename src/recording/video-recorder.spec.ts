import { Logger } from '@nestjs/common';
import { sleep } from '../common/async';
import { DomainError, DomainErrorCode } from '../common/domain-error';
import { Computer, decodeFakeText, FakeComputer, Frame } from '../computer/computer.module';
import { EncoderOptions, EncoderResult, EncoderRun, VideoEncoder } from './video-encoder';
import { VideoRecorder } from './video-recorder';

const W = 320;
const H = 200;
const FPS = 5;

/** FAKE encoder run: keeps the frames it is given; `accepting` false plays an encoder that is behind. */
class FakeRun implements EncoderRun {
  readonly frames: Buffer[] = [];
  accepting = true;
  failure: string | undefined;
  finishedWith: number | undefined;
  constructor(readonly options: EncoderOptions) {}
  write(frame: Buffer) {
    if (!this.accepting || this.failure) return false;
    this.frames.push(frame);
    return true;
  }
  async finish(timeoutMs: number): Promise<EncoderResult> {
    this.finishedWith = timeoutMs;
    return this.failure ? { ok: false, error: this.failure } : { ok: true };
  }
}

/** FAKE encoder: hands out FakeRuns; strict about what it is not expected to do. */
class FakeEncoder extends VideoEncoder {
  readonly extension = 'webm';
  readonly mimeType = 'video/webm';
  readonly runs: FakeRun[] = [];
  async checkReady() {}
  start(options: EncoderOptions) {
    const run = new FakeRun(options);
    this.runs.push(run);
    return run;
  }
  async join(): Promise<void> {
    throw new Error('not expected in this test');
  }
}

/** A computer whose capture the test controls: it fails as unsupported, or hangs until aborted. */
class ScriptedCaptureComputer extends FakeComputer {
  captures = 0;
  aborted = 0;
  constructor(private readonly mode: 'unsupported' | 'hang') {
    super('scripted', { width: W, height: H });
  }
  override async capture(signal?: AbortSignal): Promise<Frame> {
    this.captures++;
    if (this.mode === 'unsupported') throw new DomainError(DomainErrorCode.COMPUTER_UNSUPPORTED, 'Computers of the scripted provider cannot take screenshots.');
    return new Promise((_resolve, reject) =>
      signal?.addEventListener('abort', () => {
        this.aborted++;
        reject(new Error('aborted'));
      }),
    );
  }
}

/** A computer whose captures take 60 ms (of the fake clock), as a remote one's may. */
class SlowCaptureComputer extends FakeComputer {
  captures = 0;
  override async capture(): Promise<Frame> {
    this.captures++;
    await sleep(60);
    return super.capture();
  }
}

describe(VideoRecorder.name, () => {
  const T0 = Date.parse('2026-12-01T10:00:00.000Z');
  let encoder: FakeEncoder;
  beforeEach(() => {
    jest.useFakeTimers({ now: T0 });
    encoder = new FakeEncoder();
  });
  afterEach(() => jest.useRealTimers());

  const make = (source: () => Computer | undefined) => new VideoRecorder(source, encoder, { dir: '/rec/x', fps: FPS, segmentS: 2 }, new Logger('spec'));
  const textOf = (frame: Buffer) => decodeFakeText(frame, W, H);

  it('films at a constant rate: frame k shows the screen at start + k / fps, repeated while nothing changes', async () => {
    const computer = new FakeComputer('c', { width: W, height: H });
    const sut = make(() => computer);
    sut.start();
    await jest.advanceTimersByTimeAsync(0);
    const [run] = encoder.runs;
    expect(run.options).toEqual({ dir: '/rec/x', width: W, height: H, fps: FPS, segmentS: 2 });
    expect(run.frames).toHaveLength(1);

    await jest.advanceTimersByTimeAsync(1000);
    expect(run.frames).toHaveLength(1 + FPS);
    expect(run.frames.map(textOf)).toEqual(Array(1 + FPS).fill(''));
    await computer.typeText('hi');
    await jest.advanceTimersByTimeAsync(1000);
    expect(run.frames).toHaveLength(1 + 2 * FPS);
    // The new screen shows from the next frame slot on.
    expect(textOf(run.frames[1 + FPS])).toBe('hi');
    expect(textOf(run.frames.at(-1)!)).toBe('hi');

    const summary = await sut.stop(3000);
    expect(run.finishedWith).toBe(3000);
    expect(summary).toEqual({ state: 'recorded', frames: 1 + 2 * FPS, dropped: 0, width: W, height: H, startedAt: T0 });
    // Nothing more once stopped.
    await jest.advanceTimersByTimeAsync(5000);
    expect(run.frames).toHaveLength(1 + 2 * FPS);
  });

  it('gives each frame slot a fresh capture even when captures are slow, asking once per slot', async () => {
    const computer = new SlowCaptureComputer('c', { width: W, height: H });
    const sut = make(() => computer);
    sut.start();
    await jest.advanceTimersByTimeAsync(60);
    const [run] = encoder.runs;
    expect(run.frames).toHaveLength(1);
    await computer.typeText('new');
    // The slot at 260 ms (one period after the first frame) gets the screen captured from then on (it arrives
    // at 320 ms), not the old one again.
    await jest.advanceTimersByTimeAsync(300);
    expect(run.frames.map(textOf)).toEqual(['', 'new']);
    // Two more seconds: ten more slots, one capture each, no more.
    await jest.advanceTimersByTimeAsync(2000);
    expect(run.frames).toHaveLength(2 + 2 * FPS);
    expect(computer.captures).toBe(2 + 2 * FPS);
    await sut.stop(1000);
  });

  it('waits for a computer (a session still leasing one, or having it replaced) and repeats the last frame meanwhile', async () => {
    let computer: FakeComputer | undefined;
    const sut = make(() => computer);
    sut.start();
    await jest.advanceTimersByTimeAsync(2000);
    expect(encoder.runs).toEqual([]);

    computer = new FakeComputer('c', { width: W, height: H });
    await jest.advanceTimersByTimeAsync(400);
    const [run] = encoder.runs;
    const started = Date.now() - 400;
    const before = run.frames.length;
    computer = undefined;
    await jest.advanceTimersByTimeAsync(1000);
    expect(run.frames.length - before).toBe(FPS);
    expect((await sut.stop(1000)).startedAt).toBeGreaterThanOrEqual(started);
  });

  it('gives no video for a computer that cannot capture, and stops asking it', async () => {
    const computer = new ScriptedCaptureComputer('unsupported');
    const sut = make(() => computer);
    sut.start();
    await jest.advanceTimersByTimeAsync(2000);
    expect(computer.captures).toBe(1);
    expect(encoder.runs).toEqual([]);
    expect(await sut.stop(1000)).toEqual({ state: 'unsupported', frames: 0, dropped: 0, error: expect.stringContaining('cannot take screenshots') });
  });

  it('drops (and counts) frames the encoder cannot take in time; an encoder that fails stops the video with its reason', async () => {
    const computer = new FakeComputer('c', { width: W, height: H });
    const sut = make(() => computer);
    sut.start();
    await jest.advanceTimersByTimeAsync(0);
    const [run] = encoder.runs;
    run.accepting = false;
    await jest.advanceTimersByTimeAsync(1000);
    run.accepting = true;
    await jest.advanceTimersByTimeAsync(400);
    expect(sut.summary()).toMatchObject({ state: 'recording', frames: 3, dropped: FPS });

    run.failure = 'ffmpeg exited (code 1): disk full';
    await jest.advanceTimersByTimeAsync(400);
    expect(sut.summary()).toMatchObject({ state: 'failed', error: 'ffmpeg exited (code 1): disk full' });
    const asked = run.frames.length;
    await jest.advanceTimersByTimeAsync(1000);
    expect(run.frames).toHaveLength(asked);
    expect((await sut.stop(1000)).state).toBe('failed');
  });

  it('keeps time while a capture hangs (the last frame again), gives it up after its timeout, and aborts it on stop', async () => {
    let computer: Computer = new FakeComputer('c', { width: W, height: H });
    const sut = make(() => computer);
    sut.start();
    await jest.advanceTimersByTimeAsync(0);
    const hanging = new ScriptedCaptureComputer('hang');
    computer = hanging;
    await jest.advanceTimersByTimeAsync(2000);
    const [run] = encoder.runs;
    expect(run.frames).toHaveLength(1 + 2 * FPS);
    expect(hanging.captures).toBe(1);
    // Given up after 5 s: the next slot asks again.
    await jest.advanceTimersByTimeAsync(3400);
    expect(hanging.captures).toBe(2);
    expect(hanging.aborted).toBe(1);
    const summary = await sut.stop(1000);
    expect(hanging.aborted).toBe(2);
    expect(summary.frames).toBe(run.frames.length);
    expect(summary.frames).toBe(1 + Math.floor((5400 * FPS) / 1000));
  });
});

import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../../test/support/wait-for';
import { ffmpegArgs, FfmpegVideoEncoder } from './ffmpeg-encoder';

const run = promisify(execFile);

/** Frames and duration of a video, as ffprobe decodes it. */
async function probe(file: string) {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,nb_read_frames:format=duration', '-of', 'json', file]);
  const j = JSON.parse(stdout) as { streams: { width: number; height: number; nb_read_frames: string }[]; format: { duration: string } };
  return { width: j.streams[0].width, height: j.streams[0].height, frames: Number(j.streams[0].nb_read_frames), duration: Number(j.format.duration) };
}

/** Debian's ffmpeg, for real: the adapter's arguments must make segments that decode and join. */
describe(FfmpegVideoEncoder.name, () => {
  let dir: string;
  const sut = new FfmpegVideoEncoder();
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ffmpeg-encoder-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  const frame = (w: number, h: number, shade: number) => Buffer.alloc(w * h * 3, shade);

  it('finds its ffmpeg with VP9 at boot', async () => {
    await expect(sut.checkReady()).resolves.toBeUndefined();
  });

  it('encodes frames into segments of the set length (odd sizes padded) that join into one video of every frame', async () => {
    const [w, h] = [65, 49];
    const r = sut.start({ dir, width: w, height: h, fps: 5, segmentS: 1 });
    for (let i = 0; i < 12; i++) expect(r.write(frame(w, h, i * 20))).toBe(true);
    expect(await r.finish(10_000)).toEqual({ ok: true });
    const segments = (await readdir(dir)).sort();
    expect(segments).toEqual(['video-000.webm', 'video-001.webm', 'video-002.webm']);
    expect((await probe(join(dir, 'video-000.webm'))).frames).toBe(5);

    const out = join(dir, 'video.webm');
    await sut.join(segments.map((s) => join(dir, s)), out, 10_000);
    expect(await probe(out)).toEqual({ width: 66, height: 50, frames: 12, duration: 2.4 });
    expect((await readdir(dir)).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('reports an ffmpeg that stopped on its own, with its error, and takes no more frames', async () => {
    const r = sut.start({ dir: join(dir, 'missing', 'folder'), width: 16, height: 16, fps: 5, segmentS: 1 });
    r.write(frame(16, 16, 0));
    await waitFor('ffmpeg to fail', () => r.failure);
    expect(r.failure).toMatch(/ffmpeg (exited|stopped reading frames)/);
    expect(r.write(frame(16, 16, 0))).toBe(false);
    expect(await r.finish(10_000)).toMatchObject({ ok: false, error: expect.stringMatching(/ffmpeg/) });
  });

  it('builds the arguments for raw RGB on stdin at a constant rate and VP9 WebM segments with a key frame each', () => {
    const args = ffmpegArgs({ dir: '/rec/x', width: 1280, height: 800, fps: 2, segmentS: 30 }).join(' ');
    expect(args).toContain('-f rawvideo -pix_fmt rgb24 -s 1280x800 -framerate 2 -i pipe:0');
    expect(args).toContain('-c:v libvpx-vp9 -deadline realtime');
    expect(args).toContain('-lag-in-frames 0');
    expect(args).toContain('-force_key_frames expr:gte(t,n_forced*30)');
    expect(args).toMatch(/-f segment -segment_time 30 .* \/rec\/x\/video-%03d\.webm$/);
    expect(args).not.toContain('pad=');
  });
});

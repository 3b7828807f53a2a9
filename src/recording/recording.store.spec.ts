import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Settings } from '../config/config.module';
import { RECORDING_SETTINGS } from './recording.settings';
import { RecordingMeta, RecordingStore } from './recording.store';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-12-01T10:00:00.000Z');

describe(RecordingStore.name, () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'recording-store-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  async function make(env: Record<string, string> = {}) {
    const sut = new RecordingStore(Settings.load({ RECORDING: 'true', RECORDING_DIR: dir, ...env }).get(RECORDING_SETTINGS));
    await sut.init();
    return sut;
  }

  /** A recording as its writer leaves it: recording.json, an action log and `videoBytes` of video; `ended` undefined: still being written. */
  async function record(sut: RecordingStore, principal: string, sessionId: string, o: { started: number; ended?: number; videoBytes?: number; segments?: number[] }) {
    const { recordingId, dir: folder } = sut.reserve(principal, sessionId, new Date(o.started));
    await mkdir(folder, { recursive: true });
    const meta: RecordingMeta = {
      recording_id: recordingId,
      session_id: sessionId,
      principal,
      status: o.ended === undefined ? 'recording' : 'done',
      started_at: new Date(o.started).toISOString(),
      ...(o.ended !== undefined ? { ended_at: new Date(o.ended).toISOString() } : {}),
      fps: 2,
      segment_s: 30,
      actions: 1,
      video: { state: 'recorded', segments: 1, frames: 10, dropped_frames: 0, duration_s: 5 },
    };
    await sut.writeMeta(folder, meta);
    await writeFile(join(folder, 'actions.jsonl'), `{"session":"${sessionId}"}\n`);
    if (o.videoBytes) await writeFile(join(folder, 'video.webm'), Buffer.alloc(o.videoBytes, 1));
    for (const [i, bytes] of (o.segments ?? []).entries()) await writeFile(join(folder, `video-${String(i).padStart(3, '0')}.webm`), Buffer.alloc(bytes, 2));
    if (o.ended !== undefined) sut.release(folder);
    return { recordingId, folder, ref: { principal, sessionId, recordingId } };
  }

  it('is off without RECORDING: lists nothing', async () => {
    const sut = new RecordingStore(Settings.load({ RECORDING_DIR: dir }).get(RECORDING_SETTINGS));
    await sut.init();
    expect(await sut.list('alice')).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  });

  it("lists, reads and opens only the principal's own recordings, even under the same session id", async () => {
    const sut = await make();
    const mine = await record(sut, 'alice', 'shared', { started: T0, ended: T0 + 1000, videoBytes: 100 });
    const theirs = await record(sut, 'bob', 'shared', { started: T0, ended: T0 + 1000, videoBytes: 50 });
    expect((await sut.list('alice')).map((e) => e.meta.recording_id)).toEqual([mine.recordingId]);
    expect((await sut.list('bob')).map((e) => e.meta.recording_id)).toEqual([theirs.recordingId]);
    expect(await sut.read({ ...theirs.ref, principal: 'alice' })).toBeUndefined();
    expect(await sut.open({ ...theirs.ref, principal: 'alice' }, 'video.webm')).toBeUndefined();

    const entry = (await sut.read(mine.ref))!;
    expect(entry.files).toEqual([
      { name: 'actions.jsonl', bytes: 21, mimeType: 'application/x-ndjson' },
      { name: 'recording.json', bytes: expect.any(Number), mimeType: 'application/json' },
      { name: 'video.webm', bytes: 100, mimeType: 'video/webm' },
    ]);
    const download = (await sut.open(mine.ref, 'video.webm'))!;
    expect({ bytes: download.bytes, mimeType: download.mimeType }).toEqual({ bytes: 100, mimeType: 'video/webm' });
    const chunks: Buffer[] = [];
    for await (const c of download.stream) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks)).toEqual(Buffer.alloc(100, 1));
    // Over the cap only the size comes back.
    expect(await sut.readFile(mine.ref, 'video.webm', 99)).toEqual({ bytes: 100, mimeType: 'video/webm' });
    expect((await sut.readFile(mine.ref, 'actions.jsonl', 99))?.data?.toString()).toBe('{"session":"shared"}\n');
  });

  it('names folders by a keyed hash of the principal, kept across restarts; odd ids and file names reach nothing', async () => {
    const sut = await make();
    const { folder, ref } = await record(sut, 'alice@example.com', 'desk', { started: T0, ended: T0 + 1000 });
    const principalFolder = folder.slice(dir.length + 1).split('/')[0];
    expect(principalFolder).toMatch(/^p-[0-9a-f]{32}$/);
    expect(await readdir(dir)).toEqual(expect.arrayContaining(['.principal-key']));
    expect((await stat(join(dir, '.principal-key'))).mode & 0o777).toBe(0o600);
    // A second server on the same folder finds the same recordings.
    const again = await make();
    expect((await again.list('alice@example.com')).map((e) => e.meta.recording_id)).toEqual([ref.recordingId]);
    // Another folder (another key) names the same principal differently.
    const other = await mkdtemp(join(tmpdir(), 'recording-store-'));
    try {
      const elsewhere = new RecordingStore(Settings.load({ RECORDING: 'true', RECORDING_DIR: other }).get(RECORDING_SETTINGS));
      await elsewhere.init();
      expect(elsewhere.dirOf(ref)).not.toContain(principalFolder);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
    for (const bad of [{ ...ref, sessionId: '../desk' }, { ...ref, sessionId: 'a/b' }, { ...ref, recordingId: '../../x' }]) expect(await sut.read(bad)).toBeUndefined();
    for (const file of ['../recording.json', '.principal-key', 'recording.json/..', 'other.txt']) expect(await sut.open(ref, file)).toBeUndefined();
  });

  it('deletes recordings past the retention, never one still being written, and marks one a stopped server left behind as interrupted', async () => {
    const sut = await make({ RECORDING_RETENTION_MS: String(24 * HOUR) });
    const old = await record(sut, 'alice', 'old', { started: T0, ended: T0 + HOUR });
    const recent = await record(sut, 'alice', 'recent', { started: T0 + 10 * HOUR, ended: T0 + 11 * HOUR });
    const writing = await record(sut, 'alice', 'writing', { started: T0 });
    // Left "recording" by an earlier server on the same folder: its files were last written at T0 + 2 h.
    const orphan = await record(await make(), 'bob', 'orphan', { started: T0 });
    for (const f of await readdir(orphan.folder)) await utimes(join(orphan.folder, f), (T0 + 2 * HOUR) / 1000, (T0 + 2 * HOUR) / 1000);

    const first = await sut.sweep(T0 + 20 * HOUR);
    expect(first.deleted).toEqual([]);
    // This server's own recording, still being written, stays as it is.
    expect(JSON.parse(await readFile(join(writing.folder, 'recording.json'), 'utf8'))).toMatchObject({ status: 'recording' });
    const orphanMeta = JSON.parse(await readFile(join(orphan.folder, 'recording.json'), 'utf8')) as RecordingMeta;
    expect(orphanMeta).toMatchObject({ status: 'interrupted', ended_at: new Date(T0 + 2 * HOUR).toISOString() });

    const later = await sut.sweep(T0 + 26 * HOUR + 1);
    expect(later.deleted.map((d) => [d.dir, d.reason]).sort()).toEqual([[old.folder, 'retention'], [orphan.folder, 'retention']].sort());
    expect((await sut.list('alice')).map((e) => e.meta.session_id).sort()).toEqual(['recent', 'writing']);
    // bob has nothing left: his folder goes too.
    expect(await sut.list('bob')).toEqual([]);
    expect((await readdir(dir)).filter((n) => n.startsWith('p-'))).toHaveLength(1);

    await sut.sweep(T0 + 1000 * HOUR);
    expect((await sut.list('alice')).map((e) => e.meta.session_id)).toEqual(['writing']);
    expect(recent.folder).toBeDefined();
    expect(writing.folder).toBeDefined();
  });

  it('keeps all recordings within the disk cap: oldest finished first, then the oldest finished segments of ones being written', async () => {
    const KB = 1024;
    const sut = await make({ RECORDING_MAX_BYTES: String(1024 * KB) });
    const oldest = await record(sut, 'alice', 'a', { started: T0, ended: T0 + HOUR, videoBytes: 400 * KB });
    const writing = await record(sut, 'bob', 'b', { started: T0 + HOUR, segments: [200 * KB, 200 * KB, 100 * KB] });
    const newer = await record(sut, 'alice', 'c', { started: T0 + 2 * HOUR, ended: T0 + 3 * HOUR, videoBytes: 400 * KB });

    // 1300 KB: the oldest finished recording goes; the one being written stays whole though it is older than "c".
    const first = await sut.sweep(T0 + 4 * HOUR);
    expect(first.deleted).toEqual([{ dir: oldest.folder, reason: 'disk-cap' }]);
    expect(first.trimmedSegments).toBe(0);
    expect(first.bytes).toBeLessThanOrEqual(1024 * KB);

    // More video: over the cap again with only "c" finished: it goes, then bob's oldest segment, never his newest.
    await writeFile(join(writing.folder, 'video-003.webm'), Buffer.alloc(700 * KB));
    const second = await sut.sweep(T0 + 5 * HOUR);
    expect(second.deleted).toEqual([{ dir: newer.folder, reason: 'disk-cap' }]);
    expect(second.trimmedSegments).toBe(1);
    expect((await readdir(writing.folder)).filter((n) => n.startsWith('video-')).sort()).toEqual(['video-001.webm', 'video-002.webm', 'video-003.webm']);
    expect(second.bytes).toBeLessThanOrEqual(1024 * KB);

    // Even far over the cap, the segment being written stays.
    await writeFile(join(writing.folder, 'video-004.webm'), Buffer.alloc(2000 * KB));
    await sut.sweep(T0 + 6 * HOUR);
    expect((await readdir(writing.folder)).filter((n) => n.startsWith('video-'))).toEqual(['video-004.webm']);
  });
});

// Every built-in feature's settings are declared (by importing the app), as in the server: the redactor knows every secret.
import '../app.module';
import { Test, TestingModule } from '@nestjs/testing';
import { appendFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { once, EventEmitter } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretRedactor } from '../agent/agent.module';
import { FakeComputer } from '../computer/computer.module';
import { Settings } from '../config/config.module';
import type { Lease } from '../pool/pool.module';
import { Session, SessionService } from '../session/session.module';
import { TaskService } from '../task/task.module';
import type { TaskEvents } from '../task/task.module';
import { waitFor } from '../../test/support/wait-for';
import { RECORDING_SETTINGS } from './recording.settings';
import { RecordingService } from './recording.service';
import { RecordingStore } from './recording.store';
import { EncoderOptions, EncoderRun, VideoEncoder } from './video-encoder';

const KEY = 'key-alice-0123456789abcdef';

/** FAKE encoder: writes one byte per frame into segment files of 3 frames each; joins by concatenating. */
class FakeFileEncoder extends VideoEncoder {
  readonly extension = 'webm';
  readonly mimeType = 'video/webm';
  ready: Error | undefined;
  async checkReady() {
    if (this.ready) throw this.ready;
  }
  start(o: EncoderOptions): EncoderRun {
    let frames = 0;
    return {
      failure: undefined,
      write() {
        appendFileSync(join(o.dir, `video-${String(Math.floor(frames / 3)).padStart(3, '0')}.webm`), Buffer.from([frames % 256]));
        frames++;
        return true;
      },
      finish: async () => ({ ok: true }),
    };
  }
  async join(segments: readonly string[], out: string) {
    await writeFile(out, Buffer.concat(await Promise.all(segments.map((s) => readFile(s)))));
  }
}

describe(RecordingService.name, () => {
  let dir: string;
  let moduleRef: TestingModule | undefined;
  let sut: RecordingService;
  let encoder: FakeFileEncoder;
  const sessions = { events: new EventEmitter() };
  const tasks = { events: new EventEmitter<TaskEvents>() };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'recording-service-'));
    encoder = new FakeFileEncoder();
  });
  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
    sessions.events.removeAllListeners();
    tasks.events.removeAllListeners();
    await rm(dir, { recursive: true, force: true });
  });

  async function boot(env: Record<string, string> = { RECORDING: 'true', RECORDING_DIR: dir, RECORDING_FPS: '10' }) {
    const settings = Settings.load({ API_KEYS: `${KEY}:alice`, ...env });
    const built = await Test.createTestingModule({
      providers: [
        RecordingService,
        RecordingStore,
        { provide: RECORDING_SETTINGS.token, useValue: settings.get(RECORDING_SETTINGS) },
        { provide: VideoEncoder, useValue: encoder },
        { provide: SessionService, useValue: sessions },
        { provide: TaskService, useValue: tasks },
        { provide: SecretRedactor, useValue: new SecretRedactor(settings) },
      ],
    }).compile();
    // A module whose init failed cannot be closed (close() awaits the failed init): keep only one that booted.
    await built.init();
    moduleRef = built;
    sut = built.get(RecordingService);
  }

  function session(id: string, principal = 'alice', computer: FakeComputer | undefined = new FakeComputer(`c-${id}`, { width: 64, height: 48 })) {
    const s = new Session(id, principal, 'named', 60_000, 60_000);
    if (computer) s.lease = { id: `l-${id}`, computer, owner: id, principal, leasedAt: Date.now(), warm: false, waitedMs: 0 } satisfies Lease;
    return s;
  }

  const ref = async (principal: string) => {
    const entry = await waitFor(`a recording of ${principal}`, async () => (await sut.list(principal))[0]);
    return { principal, sessionId: entry.meta.session_id, recordingId: entry.meta.recording_id };
  };

  it('records a session from its opening to its end: tool calls and agent steps in order, one video, recording.json', async () => {
    await boot();
    const desk = session('desk');
    sessions.events.emit('opened', desk);
    sut.toolCall(desk, { tool: 'computer', args: { action: 'type', text: `echo ${KEY}`, session_id: 'desk' }, outcome: 'ok', startedAt: 1_000, durationMs: 5 });
    tasks.events.emit('step', { session: desk, task: 0, computerId: 'c-desk', maxSteps: 5, startedAt: 2_000, durationMs: 7, step: { step: 1, actions: [{ action: 'key', text: 'Return' }], results: [], outcomes: [{ status: 'ok', text: 'pressed Return' }] } });
    sut.toolCall(desk, { tool: 'run_cua_task', args: { task: 'press return' }, outcome: 'ok', startedAt: 1_500, durationMs: 900 });
    // Another session's calls do not land here.
    sut.toolCall(session('other'), { tool: 'computer', args: { action: 'key', text: 'a' }, outcome: 'ok', startedAt: 3_000, durationMs: 1 });
    const folder = moduleRef!.get(RecordingStore).dirOf(await ref('alice'))!;
    await waitFor('a second segment', async () => (await readdir(folder)).includes('video-001.webm'));
    // While it runs, it is listed as it stands.
    const [running] = await sut.list('alice');
    expect(running.meta).toMatchObject({ status: 'recording', actions: 3, video: { state: 'recording', width: 64, height: 48 } });
    expect(running.meta.video.frames).toBeGreaterThanOrEqual(4);
    expect(running.meta.video.segments).toBeGreaterThanOrEqual(2);

    const finished = once(sut.events, 'finished');
    sessions.events.emit('ended', desk, 'cleanup');
    await finished;
    sut.toolCall(desk, { tool: 'computer', args: { action: 'key', text: 'late' }, outcome: 'SESSION_ENDED', startedAt: 4_000, durationMs: 1 });

    const [entry] = await sut.list('alice');
    expect(entry.meta).toMatchObject({ session_id: 'desk', principal: 'alice', status: 'done', end_reason: 'cleanup', actions: 3, fps: 10 });
    expect(entry.meta.video).toMatchObject({ state: 'recorded', file: 'video.webm', width: 64, height: 48, dropped_frames: 0 });
    expect(entry.meta.video.segments).toBeGreaterThanOrEqual(2);
    expect(entry.files.map((f) => f.name)).toEqual(['actions.jsonl', 'recording.json', 'video.webm']);
    // The joined video holds every frame, in order.
    const video = await readFile(join(folder, 'video.webm'));
    expect(video.length).toBe(entry.meta.video.frames);
    expect([...video]).toEqual([...Array(video.length).keys()].map((i) => i % 256));

    const log = (await readFile(join(folder, 'actions.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(log.map((l) => [l.source, l.name, l.outcome])).toEqual([['tool', 'computer', 'ok'], ['agent', 'step', 'ok'], ['tool', 'run_cua_task', 'ok']]);
    expect(log[0].args).toEqual({ text: 'echo [redacted]' });

    // For the dashboard: the owner opens the video as a stream; nobody else does.
    const download = (await sut.open(await ref('alice'), 'video.webm'))!;
    expect(download).toMatchObject({ bytes: video.length, mimeType: 'video/webm' });
    download.stream.destroy();
    expect(await sut.list('bob')).toEqual([]);
    expect(await sut.open({ ...(await ref('alice')), principal: 'bob' }, 'video.webm')).toBeUndefined();
  });

  it('keeps nothing of a session that never got its computer and did nothing', async () => {
    await boot();
    const failed = session('never', 'alice', undefined);
    sessions.events.emit('opened', failed);
    sessions.events.emit('ended', failed, 'start-failed');
    const folders = async () => (await Promise.all((await readdir(dir)).filter((n) => n.startsWith('p-')).map((p) => readdir(join(dir, p))))).flat();
    await waitFor('the recording to be closed', () => sut.activeCount() === 0);
    expect(await folders()).toEqual([]);
    expect(await sut.list('alice')).toEqual([]);
  });

  it('closes every recording when the server shuts down; serves files over the MCP cap by size only', async () => {
    await boot({ RECORDING: 'true', RECORDING_DIR: dir, RECORDING_RESOURCE_MAX_BYTES: '65536' });
    const desk = session('desk');
    sessions.events.emit('opened', desk);
    const folder = moduleRef!.get(RecordingStore).dirOf(await ref('alice'))!;
    await waitFor('a frame', async () => (await readdir(folder)).some((n) => n.startsWith('video-')));
    await moduleRef!.close();
    moduleRef = undefined;
    const [entry] = await sut.list('alice');
    expect(entry.meta).toMatchObject({ status: 'done', end_reason: 'shutdown', video: { state: 'recorded', file: 'video.webm' } });
    await writeFile(join(folder, 'video.webm'), Buffer.alloc(65537));
    expect(await sut.readFile(await ref('alice'), 'video.webm')).toEqual({ bytes: 65537, mimeType: 'video/webm', overCap: 65536 });
    expect((await sut.readFile(await ref('alice'), 'recording.json'))?.data).toBeDefined();
  });

  it('does not boot when RECORDING=true and the encoder cannot run', async () => {
    encoder.ready = new Error('RECORDING=true needs ffmpeg on the PATH');
    await expect(boot()).rejects.toThrow('RECORDING=true needs ffmpeg on the PATH');
  });

  it('is off by default: no session is recorded, nothing is written', async () => {
    await boot({ RECORDING_DIR: dir });
    sessions.events.emit('opened', session('desk'));
    expect(sut.activeCount()).toBe(0);
    expect(await readdir(dir)).toEqual([]);
    expect(await sut.list('alice')).toEqual([]);
  });
});

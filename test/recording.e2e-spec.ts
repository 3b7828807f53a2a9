import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ActionLine, RecordingMeta } from '../src/recording/recording.module';
import { call, startApp, type TestApp, textOf } from './support/app';
import { findWord, readWords } from './support/ocr';
import { waitFor } from './support/wait-for';

const run = promisify(execFile);
const KEY_A = 'key-alice-0123456789abcdef';
const KEY_B = 'key-bob-fedcba9876543210';
const FPS = 5;

/** The text of a resource, or its blob decoded. */
async function readResource(client: Client, uri: string) {
  const r = await client.readResource({ uri });
  const c = r.contents[0] as { text?: string; blob?: string; mimeType?: string };
  return { text: c.text, blob: c.blob !== undefined ? Buffer.from(c.blob, 'base64') : undefined, mimeType: c.mimeType };
}

/** What ffprobe says of a video: its codec, size, duration and the frames it decoded. */
async function probe(file: string) {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height,nb_read_frames:format=duration', '-of', 'json', file]);
  const j = JSON.parse(stdout) as { streams: { codec_name: string; width: number; height: number; nb_read_frames: string }[]; format: { duration: string } };
  return { codec: j.streams[0].codec_name, width: j.streams[0].width, height: j.streams[0].height, frames: Number(j.streams[0].nb_read_frames), duration: Number(j.format.duration) };
}

/**
 * Recordings on a real Xvfb desktop with Debian's ffmpeg, over real MCP with two principals: a session's calls
 * and its agent's steps land in actions.jsonl in order with their outcomes and secrets redacted; its video
 * decodes, with a duration and frame count that fit the session's length and the frame rate; only its owner
 * lists and reads it.
 */
describe('Recordings of sessions', () => {
  let t: TestApp;
  let dir: string;
  afterEach(async () => {
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps an action log matching the calls and a decodable video of the desktop, readable by its owner only', async () => {
    dir = await mkdtemp(join(tmpdir(), 'recordings-e2e-'));
    t = await startApp({
      COMPUTER_PROVIDER: 'xvfb',
      DESKTOP_PROFILE: 'minimal',
      SCREEN_WIDTH: '640',
      SCREEN_HEIGHT: '400',
      API_KEYS: `${KEY_A}:alice,${KEY_B}:bob`,
      RECORDING: 'true',
      RECORDING_DIR: dir,
      RECORDING_FPS: String(FPS),
      RECORDING_SEGMENT_S: '2',
      SCRIPTED_MODEL_STEPS: '4',
    });
    const alice = await t.connect('e2e', KEY_A);
    const bob = await t.connect('e2e', KEY_B);

    const typed = await call(alice, 'computer', { session_id: 'desk', action: 'type', text: 'echo recorded' });
    expect(typed.isError).toBeFalsy();
    const firstDone = Date.now();
    expect((await call(alice, 'computer', { session_id: 'desk', action: 'key', text: 'Return', screenshot: false })).isError).toBeFalsy();
    const outside = await call(alice, 'computer', { session_id: 'desk', action: 'left_click', coordinate: [5000, 5000] });
    expect(textOf(outside)).toMatch(/^\[INVALID_ARGUMENT\]/);
    expect((await call(alice, 'run_command', { session_id: 'desk', command: `echo token=${KEY_A} > /dev/null` })).isError).toBeFalsy();
    const task = await call(alice, 'run_cua_task', { session_id: 'desk', task: 'hello' });
    expect(textOf(task)).toMatch(/Done: hello/);

    // A few seconds of desktop: the first segment finished, the second being written.
    const recordingDir = await waitFor('a recording folder', async () => {
      const [p] = (await readdir(dir)).filter((n) => n.startsWith('p-'));
      const [r] = p ? await readdir(join(dir, p)) : [];
      return r ? join(dir, p, r) : undefined;
    });
    await waitFor('a second video segment', async () => (await readdir(recordingDir)).includes('video-001.webm'), 20_000, 100);
    const closing = Date.now();
    expect((await call(alice, 'cleanup_session', { session_id: 'desk' })).isError).toBeFalsy();

    // The owner lists it and reads it once it is closed.
    const listed = await waitFor('the recording, closed', async () => {
      const { resources } = await alice.listResources();
      const mine = resources.filter((r) => r.uri.startsWith('recording://'));
      return mine.length === 1 && /^done;/.test(mine[0].description ?? '') ? mine : undefined;
    });
    const uri = listed[0].uri;
    expect(uri).toMatch(/^recording:\/\/desk\/\d{8}-\d{6}-[0-9a-f]{6}$/);
    const meta = JSON.parse((await readResource(alice, uri)).text!) as RecordingMeta & { files: { name: string }[] };
    expect(meta).toMatchObject({ session_id: 'desk', principal: 'alice', status: 'done', end_reason: 'cleanup', fps: FPS, actions: 9 });
    expect(meta.video).toMatchObject({ state: 'recorded', file: 'video.webm', width: 640, height: 400, dropped_frames: 0 });
    expect(meta.video.segments).toBeGreaterThanOrEqual(2);
    expect(meta.files.map((f) => f.name).sort()).toEqual(['actions.jsonl', 'recording.json', 'video.webm']);

    // The action log: the calls in order, with their outcomes; the agent's steps before the task's own line.
    const log = (await readResource(alice, `${uri}/actions.jsonl`)).text!;
    expect(log).not.toContain(KEY_A);
    const lines = log.trim().split('\n').map((l) => JSON.parse(l) as ActionLine);
    expect(lines.map((l) => [l.source, l.name, l.action ?? l.actions?.map((a) => a.action).join('+') ?? '', l.outcome])).toEqual([
      ['tool', 'computer', 'type', 'ok'],
      ['tool', 'computer', 'key', 'ok'],
      ['tool', 'computer', 'left_click', 'INVALID_ARGUMENT'],
      ['tool', 'run_command', '', 'ok'],
      ['agent', 'step', 'left_click', 'ok'],
      ['agent', 'step', 'type', 'ok'],
      ['agent', 'step', 'key', 'ok'],
      ['agent', 'step', '', 'ok'],
      ['tool', 'run_cua_task', '', 'ok'],
    ]);
    for (const l of lines) {
      expect(l).toMatchObject({ session: 'desk', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), duration_ms: expect.any(Number) });
    }
    expect(lines[0].args).toEqual({ text: 'echo recorded' });
    expect(lines[2].args).toEqual({ coordinate: [5000, 5000] });
    expect(lines[3].args!.command).toBe('echo token=[redacted] > /dev/null');
    expect(lines[5]).toMatchObject({ step: 2, task: 0, actions: [{ action: 'type', args: { text: 'hello' }, outcome: 'ok' }] });
    expect(lines[8].args).toEqual({ task: 'hello' });
    const times = lines.filter((l) => l.source === 'tool').map((l) => Date.parse(l.time));
    expect(times).toEqual([...times].sort((a, b) => a - b));

    // The video decodes, and its length and frame count fit the session and the frame rate.
    const file = join(dir, 'downloaded.webm');
    const video = await readResource(alice, `${uri}/video.webm`);
    expect(video.mimeType).toBe('video/webm');
    await writeFile(file, video.blob!);
    const p = await probe(file);
    expect(p).toMatchObject({ codec: 'vp9', width: 640, height: 400 });
    expect(p.frames).toBe(meta.video.frames);
    expect(Math.abs(p.frames - p.duration * FPS)).toBeLessThanOrEqual(1);
    // From before the first call returned to after the session ended, give or take a frame.
    expect(p.duration).toBeGreaterThanOrEqual((closing - firstDone) / 1000 - 2 / FPS);
    expect(p.duration).toBeLessThanOrEqual((Date.now() - firstDone) / 1000 + 2);
    const decoded = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-']);
    expect(decoded.stderr).toBe('');
    // And it shows the desktop: its last frame has what the terminal printed for the typed command.
    const last = join(dir, 'last.png');
    await run('ffmpeg', ['-v', 'error', '-sseof', '-0.5', '-i', file, '-frames:v', '1', '-y', last]);
    expect(findWord(await readWords(await readFile(last)), 'recorded')).toBeDefined();

    // The owner's dashboard lists it and downloads its files, the same bytes; another principal's dashboard finds none of it.
    const dashboardCookie = async (client: Client) => {
      const link = (await call(client, 'dashboard')).structuredContent as { url: string };
      const opened = await fetch(link.url);
      const cookie = /^(cua_dashboard=[^;]+)/.exec(opened.headers.get('set-cookie') ?? '')?.[1];
      if (!cookie) throw new Error(`no dashboard cookie (HTTP ${opened.status})`);
      return { base: new URL('./', link.url).toString(), cookie };
    };
    const mine = await dashboardCookie(alice);
    const catalog = (await (await fetch(`${mine.base}recordings`, { headers: { Cookie: mine.cookie } })).json()) as { enabled: boolean; recordings: { session_id: string; files: { name: string; url: string }[] }[] };
    expect(catalog.enabled).toBe(true);
    expect(catalog.recordings.map((r) => r.session_id)).toEqual(['desk']);
    const urlOf = (name: string) => `${mine.base}${catalog.recordings[0].files.find((f) => f.name === name)!.url}`;
    const downloadedVideo = await fetch(urlOf('video.webm'), { headers: { Cookie: mine.cookie } });
    expect(downloadedVideo.headers.get('content-type')).toBe('video/webm');
    expect(downloadedVideo.headers.get('content-disposition')).toMatch(/^attachment; filename="desk-\d{8}-\d{6}-[0-9a-f]{6}-video\.webm"$/);
    expect(Buffer.from(await downloadedVideo.arrayBuffer()).equals(video.blob!)).toBe(true);
    expect(await (await fetch(urlOf('actions.jsonl'), { headers: { Cookie: mine.cookie } })).text()).toBe(log);
    const theirs = await dashboardCookie(bob);
    expect(((await (await fetch(`${theirs.base}recordings`, { headers: { Cookie: theirs.cookie } })).json()) as { recordings: unknown[] }).recordings).toEqual([]);
    const path = new URL(urlOf('video.webm')).pathname.split('/').slice(-4).join('/');
    expect((await fetch(`${theirs.base}${path}`, { headers: { Cookie: theirs.cookie } })).status).toBe(404);
    expect((await fetch(urlOf('video.webm'), { headers: { Cookie: theirs.cookie } })).status).toBe(403);
    expect((await fetch(urlOf('video.webm'))).status).toBe(403);

    // Another principal sees none of it, not even by its address; the folders do not name the principals.
    expect((await bob.listResources()).resources.filter((r) => r.uri.startsWith('recording://'))).toEqual([]);
    await expect(bob.readResource({ uri })).rejects.toThrow(/not found \(or not yours\)/);
    await expect(bob.readResource({ uri: `${uri}/actions.jsonl` })).rejects.toThrow(/not found \(or not yours\)/);
    const names = (await readdir(dir)).filter((n) => !['downloaded.webm', 'last.png'].includes(n));
    expect(names.sort()).toEqual(['.principal-key', expect.stringMatching(/^p-[0-9a-f]{32}$/)]);
    expect(names.join()).not.toMatch(/alice|bob/);
  });
});

// Every built-in feature's settings are declared (by importing the app), as in the server: the redactor knows every secret.
import '../../app.module';
import { mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Settings } from '../../config/config.module';
import { COMPUTER_SETTINGS } from '../../computer/computer.settings';
import { TRAJECTORY_SETTINGS } from './trajectory.settings';
import { FakeComputer, ScreenshotService } from '../../computer/computer.module';
import { SecretRedactor } from '../secret-redactor';
import { TrajectoryStore } from './trajectory.store';

const withRedactor = (settings: Settings) => [settings.get(TRAJECTORY_SETTINGS), new SecretRedactor(settings)] as const;

describe(TrajectoryStore.name, () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'traj-spec-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));
  const make = (env: Record<string, string> = {}) => new TrajectoryStore(...withRedactor(Settings.load({ TRAJECTORY_DIR: dir, ...env })));
  const shot = () => new ScreenshotService(Settings.load({}).get(COMPUTER_SETTINGS)).take(new FakeComputer('t', { width: 64, height: 48 }));

  async function record(sut: TrajectoryStore, principal: string, sessionId: string) {
    const w = (await sut.start({ principal, sessionId }, `task of ${principal}`, 'scripted/demo'))!;
    await w.step({ step: 1, actions: [{ action: 'type', text: 'x' }], results: ['typed "x"'], outcomes: [{ status: 'ok', text: 'typed "x"' }] }, await shot(), new Date());
    await w.finish({ status: 'done', answer: 'ok', steps: 1 }, await shot());
    return w.taskId;
  }

  it('is off without TRAJECTORY_DIR', async () => {
    const sut = new TrajectoryStore(...withRedactor(Settings.load({})));
    expect(sut.enabled).toBe(false);
    expect(await sut.start({ principal: 'a', sessionId: 's' }, 't', 'm')).toBeUndefined();
  });

  it("lists and reads only the principal's own trajectories, even for the same session id", async () => {
    const sut = make();
    const mine = await record(sut, 'alice', 'shared');
    const theirs = await record(sut, 'bob', 'shared');
    expect((await sut.list('alice')).map((m) => m.task_id)).toEqual([mine]);
    expect((await sut.list('bob')).map((m) => m.task_id)).toEqual([theirs]);
    expect(await sut.read({ principal: 'alice', sessionId: 'shared' }, theirs)).toBeUndefined();
    expect(await sut.read({ principal: 'alice', sessionId: 'shared' }, mine)).toMatchObject({ meta: { task: 'task of alice', status: 'done' }, files: ['final.png', 'step-001.png', 'steps.jsonl', 'task.json'] });
    expect((await sut.readFile({ principal: 'alice', sessionId: 'shared' }, mine, 'step-001.png'))?.mimeType).toBe('image/png');
  });

  it('writes no configured secret: model output and errors are stored with every piece of a key redacted, ids intact', async () => {
    const key = 'sk-ant-api03-Zq8vR2mKx7LpT4wN9cYb6HdF3jUe5sGa1oQi0kVh';
    const sut = make({ ANTHROPIC_API_KEY: key });
    const owner = { principal: 'alice', sessionId: 's' };
    const w = (await sut.start(owner, 'a task', 'anthropic/claude-sonnet-5-5'))!;
    const state = { id: 'msg_01AbCdEf23GhIj45KlMn67', content: [{ type: 'text', text: `I can see ${key.slice(0, 22)}… on the screen` }] };
    await w.step({ step: 1, thought: `the key ends in ${key.slice(-12)}`, actions: [], results: [], outcomes: [], state }, await shot(), new Date());
    await w.finish({ status: 'failed', error: `[MODEL_ERROR] 401: echo ${Buffer.from(key).toString('base64')}`, steps: 1 });
    const read = (await sut.read(owner, w.taskId))!;
    const stored = JSON.stringify(read);
    for (let i = 0; i + 8 <= key.length; i++) expect(stored).not.toContain(key.slice(i, i + 8));
    expect(read.steps[0]).toMatchObject({ thought: 'the key ends in [redacted]', model_output: { id: 'msg_01AbCdEf23GhIj45KlMn67', content: [{ text: 'I can see [redacted] on the screen' }] } });
    expect(read.meta.error).toBe('[MODEL_ERROR] 401: echo [redacted]');
  });

  it('never leaves its folder: bad session ids, task ids and file names are not found', async () => {
    const sut = make();
    const id = await record(sut, 'alice', '..');
    const owner = { principal: 'alice', sessionId: '..' };
    expect(await sut.read(owner, id)).toBeDefined(); // ".." is a valid session id: stored encoded, not as a path
    expect((await readdir(dir)).length).toBe(1);
    for (const [sessionId, taskId, file] of [
      ['..', id, '../task.json'],
      ['..', '../../etc', 'task.json'],
      ['../..', id, 'task.json'],
      ['a/b', id, 'task.json'],
      ['..', id, 'notes.txt'],
    ]) {
      expect(await sut.readFile({ principal: 'alice', sessionId }, taskId, file)).toBeUndefined();
    }
  });

  it('prunes trajectories older than TRAJECTORY_MAX_AGE_MS, but never one still being written', async () => {
    const sut = make({ TRAJECTORY_MAX_AGE_MS: '60000' });
    const old = await record(sut, 'alice', 's1');
    const fresh = await record(sut, 'alice', 's2');
    const running = (await sut.start({ principal: 'alice', sessionId: 's3' }, 'still going', 'm'))!;
    const [p] = await readdir(dir);
    const past = new Date(Date.now() - 3_600_000);
    for (const s of await readdir(join(dir, p))) {
      const folder = join(dir, p, s);
      for (const t of await readdir(folder)) {
        if (t === fresh) continue;
        for (const f of await readdir(join(folder, t))) await utimes(join(folder, t, f), past, past);
        await utimes(join(folder, t), past, past);
      }
    }
    expect(await sut.prune()).toBe(1);
    expect((await sut.list('alice')).map((m) => m.task_id).sort()).toEqual([fresh, running.taskId].sort());
    expect((await sut.list('alice')).map((m) => m.task_id)).not.toContain(old);
    expect((await readdir(join(dir, p))).length).toBe(2); // the emptied session folder is gone too
  });
});

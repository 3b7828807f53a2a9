import { Injectable, Module } from '@nestjs/common';
import { Computer, ComputerProvider, CreateComputerOptions, FakeComputer, RegisterComputerProvider } from '../src';
import { call, startApp, TestApp, textOf } from './support/app';
import { xvfbPids } from './support/processes';
import { waitFor } from './support/wait-for';

/** A FAKE provider whose computer starts can be made to fail for a while (set `failing`). */
@Injectable()
@RegisterComputerProvider()
class FlakyProvider extends ComputerProvider {
  readonly name = 'flaky';
  static failing = false;
  static made: FakeComputer[] = [];
  async create(_o: CreateComputerOptions): Promise<Computer> {
    if (FlakyProvider.failing) throw new Error('the desktop host is down');
    const c = new FakeComputer(`flaky-${FlakyProvider.made.length + 1}`, { width: 320, height: 200 });
    FlakyProvider.made.push(c);
    return c;
  }
}
@Module({ providers: [FlakyProvider] })
class FlakyModule {}

/** The highest progress a task has reported (steps done, for run_cua_task); -1 before any. */
function progressOf() {
  const seen = { value: -1 };
  return { seen, onprogress: (p: { progress: number }) => void (seen.value = Math.max(seen.value, p.progress)) };
}

describe('Faults: the affected caller gets a clear error, everyone else carries on', () => {
  let t: TestApp;
  afterEach(async () => t?.close());

  it('a desktop killed in the middle of a task: that task fails with COMPUTER_FAILED, another session finishes, the next call gets a new desktop', async () => {
    t = await startApp({ COMPUTER_PROVIDER: 'xvfb', SCRIPTED_MODEL_STEP_MS: '400', SCREEN_WIDTH: '800', SCREEN_HEIGHT: '600' });
    const [victim, bystander] = await Promise.all([t.connect('victim'), t.connect('bystander')]);
    await call(victim, 'screenshot_cua');
    const [victimPid] = xvfbPids();
    await call(bystander, 'screenshot_cua');
    const doomedSteps = progressOf();
    const doomed = call(victim, 'run_cua_task', { task: 'doomed' }, { onprogress: doomedSteps.onprogress });
    const fine = call(bystander, 'run_cua_task', { task: 'fine' });
    // The task is under way on its desktop (it has done a step) when the desktop dies.
    await waitFor('the doomed task to have done a step', () => doomedSteps.seen.value >= 1);
    process.kill(victimPid, 'SIGKILL');
    const t0 = Date.now();
    const failed = await doomed;
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(failed.isError).toBe(true);
    expect(textOf(failed)).toMatch(/COMPUTER_FAILED/);
    expect(textOf(await fine)).toMatch(/Answer: Done: fine/);
    const again = await call(victim, 'screenshot_cua');
    expect(again.isError).toBeFalsy();
    expect((await fetch(t.url.replace('/mcp', '/health/ready'))).status).toBe(200);
  }, 60_000);

  it('a client that disconnects mid-call: its task stops at once (nothing keeps driving the computer); another client is unaffected', async () => {
    t = await startApp({ SCRIPTED_MODEL_STEP_MS: '300', SCRIPTED_MODEL_STEPS: '50' });
    const [leaver, stayer] = await Promise.all([t.connect('leaver'), t.connect('stayer')]);
    await call(stayer, 'screenshot_cua', { session_id: 'stayer' });
    await call(leaver, 'screenshot_cua', { session_id: 'leaver' });
    const leaverComputer = t.fake.created[1];
    const leaverSteps = progressOf();
    const abandoned = call(leaver, 'run_cua_task', { task: 'abandoned', session_id: 'leaver' }, { onprogress: leaverSteps.onprogress }).catch((e: Error) => e);
    await waitFor('the task to have done a step', () => leaverSteps.seen.value >= 1);
    const activeTasks = async () =>
      ((await call(stayer, 'get_session_stats')).structuredContent as { sessions: Record<string, { active_tasks: number }> }).sessions.leaver.active_tasks;
    expect(await activeTasks()).toBe(1);
    await leaver.close(); // the client goes away mid-call, without ending its MCP session
    await abandoned;
    await waitFor('the task to stop', async () => (await activeTasks()) === 0, 3000);
    const actions = leaverComputer.log.length;
    // A task of the same model on another session is the clock: two more of its steps, and the
    // abandoned task (had it gone on) would have acted on its computer meanwhile.
    const clockSteps = progressOf();
    const clock = new AbortController();
    const ticking = call(stayer, 'run_cua_task', { task: 'clock', session_id: 'clock' }, { signal: clock.signal, onprogress: clockSteps.onprogress }).catch(() => undefined);
    await waitFor('the clock task to do two steps', () => clockSteps.seen.value >= 2);
    clock.abort();
    await ticking;
    expect(leaverComputer.log.length).toBe(actions);
    const stayed = await call(stayer, 'computer', { action: 'type', text: 'still here', session_id: 'stayer' });
    expect(stayed.isError).toBeFalsy();
  }, 60_000);

  it('computer starts failing for a while: clear errors at once, readiness reports it, and service resumes when they work again', async () => {
    FlakyProvider.failing = false;
    FlakyProvider.made = [];
    t = await startApp({ COMPUTER_PROVIDER: 'flaky', POOL_RETRY_BASE_MS: '20', POOL_RETRY_MAX_MS: '50', MAX_SESSIONS: '20', POOL_MAX_SIZE: '20' }, [FlakyModule]);
    const client = await t.connect();
    expect((await call(client, 'screenshot_cua', { session_id: 'healthy' })).isError).toBeFalsy();
    FlakyProvider.failing = true;
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      const r = await call(client, 'screenshot_cua', { session_id: `new-${i}` });
      expect(Date.now() - t0).toBeLessThan(3000); // the create error, not the 30 s acquire timeout
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(/COMPUTER_FAILED.*the desktop host is down/);
    }
    const ready = await fetch(t.url.replace('/mcp', '/health/ready'));
    expect(ready.status).toBe(503);
    expect(await ready.text()).toMatch(/computer starts failed: the desktop host is down/);
    // The session that had a computer keeps working throughout.
    expect((await call(client, 'screenshot_cua', { session_id: 'healthy' })).isError).toBeFalsy();
    FlakyProvider.failing = false;
    // No pause needed: a start asked for during the failure backoff waits for it to end.
    expect((await call(client, 'screenshot_cua', { session_id: 'new-again' })).isError).toBeFalsy();
    expect((await fetch(t.url.replace('/mcp', '/health/ready'))).status).toBe(200);
    const stats = (await call(client, 'get_session_stats')).structuredContent as { total_sessions: number; pool: { leased: number; waiting: number } };
    expect(stats).toMatchObject({ total_sessions: 2, pool: { leased: 2, waiting: 0 } });
    expect(FlakyProvider.made.filter((c) => !c.isClosed)).toHaveLength(2);
  });
});

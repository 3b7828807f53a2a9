import { SessionService } from '../src/session/session.module';
import { call, fakeScreenText, startApp, TestApp, textOf } from './support/app';
import { waitFor } from './support/wait-for';

/**
 * Take-over, over real MCP (the SDK's Client on Streamable HTTP): a person takes control of a session's
 * desktop (here through the app's SessionService, as the live view does), and the client's input tools are
 * refused with SESSION_UNDER_HUMAN_CONTROL, a running task pauses, and release_control hands control back.
 */
describe('A person controlling a desktop (take-over) over MCP', () => {
  let t: TestApp;
  afterEach(async () => t?.close());

  const sessionOf = (id: string) => {
    const session = t.app.get(SessionService).get('anonymous', id);
    if (!session) throw new Error(`no session ${id}`);
    return session;
  };

  it('input tools are refused with SESSION_UNDER_HUMAN_CONTROL while screenshots work; release_control hands control back and the call works', async () => {
    t = await startApp();
    const client = await t.connect();
    await call(client, 'computer', { action: 'type', text: 'mine', session_id: 'desk' });
    sessionOf('desk').control.take('alice (live view)');

    const typed = await call(client, 'computer', { action: 'type', text: ' more', session_id: 'desk' });
    expect(typed.isError).toBe(true);
    expect(textOf(typed)).toMatch(
      /^\[SESSION_UNDER_HUMAN_CONTROL\] A person \(alice \(live view\)\) is controlling the desktop of session "desk" in the live view, so the computer action "type" was refused\..*refused, not queued.*release_control/,
    );
    const command = await call(client, 'run_command', { command: 'echo hi', session_id: 'desk' });
    expect(textOf(command)).toMatch(/^\[SESSION_UNDER_HUMAN_CONTROL\].*so run_command was refused/);
    const shot = await call(client, 'screenshot_cua', { session_id: 'desk' });
    expect(shot.isError).toBeFalsy();
    expect(await fakeScreenText(shot)).toBe('mine');
    const listed = (await call(client, 'list_sessions')).structuredContent as { sessions: { session_id: string; controlled_by: string | null }[] };
    expect(listed.sessions).toEqual([expect.objectContaining({ session_id: 'desk', controlled_by: 'alice (live view)' })]);

    const released = await call(client, 'release_control', { session_id: 'desk' });
    expect(released.isError).toBeFalsy();
    expect(textOf(released)).toMatch(/Took control of session desk's desktop back from alice \(live view\)/);
    expect(released.structuredContent).toEqual({ session_id: 'desk', released: true, released_from: 'alice (live view)' });

    const again = await call(client, 'computer', { action: 'type', text: ' more', session_id: 'desk' });
    expect(again.isError).toBeFalsy();
    expect(await fakeScreenText(again)).toBe('mine more');
    const nobody = await call(client, 'release_control', { session_id: 'desk' });
    expect(nobody.structuredContent).toEqual({ session_id: 'desk', released: false, released_from: null });
    expect(textOf(nobody)).toMatch(/Nobody controlled session desk's desktop/);
    // Asking about a session that does not exist creates none.
    const none = await call(client, 'release_control', { session_id: 'elsewhere' });
    expect(none.structuredContent).toEqual({ session_id: 'elsewhere', released: false, released_from: null });
    expect(t.app.get(SessionService).get('anonymous', 'elsewhere')).toBeUndefined();
    expect(t.fake.open()).toHaveLength(1);
  });

  it('a running run_cua_task pauses while a person holds control (its progress says so), touches nothing meanwhile, and goes on after release_control', async () => {
    // Six steps: click, type, Return, click, type, answer; the person takes over during the first few.
    t = await startApp({ SCRIPTED_MODEL_STEPS: '6', SCRIPTED_MODEL_STEP_MS: '300', PROGRESS_HEARTBEAT_MS: '100' });
    const client = await t.connect();
    const progress: string[] = [];
    const task = call(client, 'run_cua_task', { task: 'hello', session_id: 'desk' }, {
      onprogress: (p) => {
        progress.push(p.message ?? '');
        // The person takes over as soon as the agent has done its first step.
        if (/^step 1: /.test(p.message ?? '')) sessionOf('desk').control.take('alice (live view)');
      },
    });
    await waitFor('the task to say it paused', () => progress.find((m) => /^paused at step \d+: a person \(alice \(live view\)\) has taken control/.test(m)));
    const [computer] = t.fake.open();
    const actionsAtPause = computer.log.length;
    // Two heartbeats later, still paused, and the agent has not touched the computer.
    const pausedAt = progress.length;
    await waitFor('two heartbeats saying the task is paused', () => progress.slice(pausedAt).filter((m) => /^paused for \d+ s: a person \(alice \(live view\)\) controls the desktop/.test(m)).length >= 2);
    expect(computer.log.length).toBe(actionsAtPause);
    expect(progress.slice(pausedAt).some((m) => /^working/.test(m))).toBe(false);
    // The client's own input is refused meanwhile, its screenshots are not.
    expect(textOf(await call(client, 'computer', { action: 'key', text: 'Return', session_id: 'desk' }))).toMatch(/^\[SESSION_UNDER_HUMAN_CONTROL\]/);
    expect((await call(client, 'computer', { action: 'screenshot', session_id: 'desk' })).isError).toBeFalsy();
    const beforeRelease = computer.log.length;

    expect(textOf(await call(client, 'release_control', { session_id: 'desk' }))).toMatch(/back from alice \(live view\)/);
    const result = await task;
    expect(result.isError).toBeFalsy();
    expect(textOf(result)).toMatch(/Answer: Done: hello/);
    expect(progress.filter((m) => /^resumed at step \d+: control of the desktop was handed back after \d+\.\d s/.test(m))).toHaveLength(1);
    expect(computer.log.slice(beforeRelease).filter((l) => l.startsWith('click'))).not.toEqual([]);
  });
});

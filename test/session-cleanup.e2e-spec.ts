import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ToolRunner } from '../src/mcp/mcp.module';
import { ComputerPool } from '../src/pool/pool.module';
import { call, fakeScreenText, startApp, TestApp, textOf } from './support/app';
import { waitFor } from './support/wait-for';

interface Stats {
  total_sessions: number;
  /** Your own sessions, by id. */
  sessions: Record<string, { computer: string | null }>;
  pool: { leased: number; idle: number; creating: number; waiting: number };
}

const stats = async (client: Client) => (await call(client, 'get_session_stats')).structuredContent as unknown as Stats;


describe('cleanup_session while calls on the same session_id are in flight (MCP over HTTP, fake computers)', () => {
  let t: TestApp;
  afterEach(async () => t?.close());

  it('calls waiting for the session\'s first computer get SESSION_ENDED; no "x" and no leased computer is left; a call after cleanup starts afresh', async () => {
    t = await startApp({ FAKE_CREATE_DELAY_MS: '1500' });
    const first = await t.connect('first');
    const second = await t.connect('second');
    const admin = await t.connect('admin');

    // The first call creates "x" and waits for its computer; the second waits for the same one.
    const creating = call(first, 'screenshot_cua', { session_id: 'x' });
    await waitFor('the pool and sessions to show it', async () => {
      const s = await stats(admin);
      return s.pool.creating === 1 && s.sessions.x?.computer === null;
    });
    const waiting = call(second, 'run_cua_task', { task: 'never runs', session_id: 'x' });
    const runner = t.app.get(ToolRunner);
    await waitFor('both calls to be running', () => runner.count() === 2);

    const cleaned = await call(admin, 'cleanup_session', { session_id: 'x' });
    expect(cleaned.structuredContent).toMatchObject({ session_id: 'x', ended: true, computers_destroyed: [] });
    for (const r of [await creating, await waiting]) {
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(/^\[SESSION_ENDED\] Session "x" was ended by cleanup_session while this call was running/);
    }

    // Once the computer that was being started is there, it is not leased to anyone: "x" is gone for good.
    await waitFor('the pool and sessions to show it', async () => (await stats(admin)).pool.creating === 0);
    const after = await stats(admin);
    expect(after.total_sessions).toBe(0);
    expect(after.sessions).toEqual({});
    expect(after.pool).toMatchObject({ leased: 0, waiting: 0 });
    expect(t.app.get(ComputerPool).leasesOf('x')).toEqual([]);
    expect((await call(first, 'list_sessions')).structuredContent).toEqual({ sessions: [] });

    // After cleanup_session returned, the name is free: the next call creates a new "x".
    const fresh = await call(first, 'screenshot_cua', { session_id: 'x' });
    expect(fresh.isError).toBeFalsy();
    expect((await stats(admin)).sessions).toEqual({ x: expect.objectContaining({ computer: expect.any(String) }) });
  });

  it('a call that arrives while cleanup_session is still destroying the computer gets SESSION_ENDED and starts nothing', async () => {
    t = await startApp();
    const client = await t.connect('client');
    const admin = await t.connect('admin');
    expect((await call(client, 'computer', { action: 'type', text: 'private', session_id: 'x' })).isError).toBeFalsy();
    const [computer] = t.fake.created;
    const close = computer.close.bind(computer);
    let finishClose: (() => void) | undefined;
    computer.close = () => new Promise<void>((r) => (finishClose = r)).then(close);

    const cleaning = call(admin, 'cleanup_session', { session_id: 'x' });
    await waitFor('cleanup_session to be destroying the computer', () => finishClose !== undefined);
    const late = await call(client, 'screenshot_cua', { session_id: 'x' });
    expect(late.isError).toBe(true);
    expect(textOf(late)).toMatch(/^\[SESSION_ENDED\] Session "x" was ended by cleanup_session.*once cleanup_session has returned/);
    expect((await call(client, 'list_sessions')).structuredContent).toEqual({ sessions: [] });
    expect((await stats(admin)).pool).toMatchObject({ leased: 0, creating: 0 });
    expect(t.fake.created).toHaveLength(1);

    finishClose!();
    expect((await cleaning).structuredContent).toMatchObject({ ended: true, computers_destroyed: [computer.id] });
    expect(computer.isClosed).toBe(true);
    const fresh = await call(client, 'screenshot_cua', { session_id: 'x' });
    expect(fresh.isError).toBeFalsy();
    expect(await fakeScreenText(fresh)).toBe('');
    expect(t.fake.created).toHaveLength(2);
  });
});

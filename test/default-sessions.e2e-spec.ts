import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { alive, xvfbPids } from './support/processes';
import { call, sessionIdOf, startApp, TestApp, textOf } from './support/app';
import { waitFor } from './support/wait-for';

interface Stats {
  total_sessions: number;
  max_concurrent: number;
  sessions: Record<string, { kind: string; computer: string | null }>;
  pool: { size: number; leased: number; waiting: number; max: number };
}

const stats = async (client: Client) => (await call(client, 'get_session_stats')).structuredContent as unknown as Stats;

/** The Xvfb process that appeared while `work` ran (the desktop of the session it opened). */
async function newDesktop(work: () => Promise<unknown>): Promise<number> {
  const before = new Set(xvfbPids());
  await work();
  const added = xvfbPids().filter((p) => !before.has(p));
  expect(added).toHaveLength(1);
  return added[0];
}

describe('Default sessions and caps on real Xvfb desktops (MCP over Streamable HTTP)', () => {
  let t: TestApp;
  afterEach(async () => t?.close());

  it('a client that leaves without DELETE frees its default session\'s desktop after DEFAULT_SESSION_IDLE_TIMEOUT_MS; a named session of the same age stays', async () => {
    t = await startApp({
      COMPUTER_PROVIDER: 'xvfb',
      DESKTOP_PROFILE: 'minimal',
      POOL_MAX_SIZE: '2',
      DEFAULT_SESSION_IDLE_TIMEOUT_MS: '2000',
      SESSION_SWEEP_INTERVAL_MS: '200',
    });
    const leaver = await t.connect('one-shot');
    const keeper = await t.connect('keeper');

    // One id-less call, as the Inspector's one-shot calls make, and a named session opened right after it.
    let defaultId = '';
    const defaultDesktop = await newDesktop(async () => {
      const shot = await call(leaver, 'screenshot_cua');
      expect(shot.isError).toBeFalsy();
      defaultId = sessionIdOf(shot);
    });
    const namedDesktop = await newDesktop(async () => expect((await call(keeper, 'screenshot_cua', { session_id: 'kept' })).isError).toBeFalsy());
    const namedComputer = (await stats(keeper)).sessions.kept.computer;
    expect((await stats(keeper)).total_sessions).toBe(2);

    // The client goes away without DELETE: only its transport closes, as the SDK's close() does.
    await leaver.transport!.close();

    // The sweep ends the default session and its desktop is gone; the named session, no younger, is untouched.
    await waitFor('the default session to end', async () => (await stats(keeper)).total_sessions === 1, 20_000, 100);
    await waitFor("the default session's Xvfb to exit", () => !alive(defaultDesktop), 10_000, 100);
    expect(alive(namedDesktop)).toBe(true);
    const after = await stats(keeper);
    expect(Object.keys(after.sessions)).toEqual(['kept']);
    expect(after.sessions.kept.computer).toBe(namedComputer);
    expect(after.sessions).not.toHaveProperty(defaultId);

    // The freed computer serves a new client at once: with two computers, one held by "kept", this call would
    // otherwise get SESSION_LIMIT (MAX_SESSIONS follows the pool).
    const next = await t.connect('next');
    const fresh = await call(next, 'screenshot_cua');
    expect(fresh.isError).toBeFalsy();
    expect(sessionIdOf(fresh)).not.toBe(defaultId);
    const kept = await call(keeper, 'screenshot_cua', { session_id: 'kept' });
    expect(kept.isError).toBeFalsy();
    expect((await stats(keeper)).sessions.kept.computer).toBe(namedComputer);
  }, 60_000);

  it('with MAX_SESSIONS unset it follows POOL_MAX_SIZE: the session beyond the pool gets SESSION_LIMIT, not a wait for a computer', async () => {
    t = await startApp({ COMPUTER_PROVIDER: 'xvfb', DESKTOP_PROFILE: 'minimal', POOL_MAX_SIZE: '2' });
    const client = await t.connect();
    for (const id of ['s0', 's1']) expect((await call(client, 'screenshot_cua', { session_id: id })).isError).toBeFalsy();
    expect(xvfbPids()).toHaveLength(2);

    const third = await call(client, 'screenshot_cua', { session_id: 's2' });
    expect(third.isError).toBe(true);
    expect(textOf(third)).toMatch(/^\[SESSION_LIMIT\] The server already has its maximum of 2 sessions \(MAX_SESSIONS\)/);
    // It never queued for a computer, and no third desktop was started.
    const s = await stats(client);
    expect(s).toMatchObject({ total_sessions: 2, max_concurrent: 2, pool: { max: 2, leased: 2, waiting: 0 } });
    expect(xvfbPids()).toHaveLength(2);

    // A freed slot is a free computer: the next session gets one.
    await call(client, 'cleanup_session', { session_id: 's0' });
    expect((await call(client, 'screenshot_cua', { session_id: 's2' })).isError).toBeFalsy();
  }, 60_000);
});

import { Client as V2Client } from '@modelcontextprotocol/client';
import { StdioClientTransport as V2StdioTransport } from '@modelcontextprotocol/client/stdio';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { call, fakeScreenText, imagesOf, sessionIdOf, textOf } from './support/app';
import { alive, xvfbPids } from './support/processes';
import { MAIN } from './support/server-process';
import { waitFor } from './support/wait-for';

/** This process's environment without CONTAINER_NAME (see the protocol reference), plus `extra`. */
function serverEnv(extra: Record<string, string>): Record<string, string> {
  const { CONTAINER_NAME: _c, ...env } = process.env as Record<string, string>;
  return { ...env, CUA_MODEL_NAME: 'scripted/demo', SCREEN_WIDTH: '640', SCREEN_HEIGHT: '400', ...extra };
}

interface Stats {
  sessions: Record<string, { active_tasks: number }>;
  pool: { size: number; leased: number; idle: number };
}

/**
 * The command clients are told to use. Not `npm run …`: npm writes its banner ("> cua-mcp-server@… start")
 * on stdout before the server starts, and a stdio client reads those lines as broken JSON-RPC.
 */
describe('MCP over stdio (node dist/main.js --stdio)', () => {
  it('serves the tools on stdin/stdout, keeps one default session, logs only to stderr, and exits when the client leaves', async () => {
    const { CONTAINER_NAME: _c, ...env } = process.env as Record<string, string>;
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [MAIN, '--stdio'],
      env: { ...env, COMPUTER_PROVIDER: 'fake', CUA_MODEL_NAME: 'scripted/demo', SCREEN_WIDTH: '640', SCREEN_HEIGHT: '400', LOG_LEVEL: 'debug' },
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const client = new Client({ name: 'stdio-e2e', version: '1' });
    // Anything on stdout that is not a JSON-RPC message (a banner, a stray log line) arrives here.
    const garbage: string[] = [];
    client.onerror = (e) => garbage.push(e.message);
    await client.connect(transport);
    const pid = transport.pid!;

    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['screenshot_cua', 'run_cua_task', 'run_multi_cua_tasks', 'get_session_stats', 'cleanup_session']));
    const first = await call(client, 'computer', { action: 'type', text: 'via stdio' });
    const task = await call(client, 'run_cua_task', { task: 'then this' });
    expect(textOf(task)).toMatch(/Answer: Done: then this/);
    const shot = await call(client, 'screenshot_cua');
    expect(sessionIdOf(shot)).toBe(sessionIdOf(first));
    expect(await fakeScreenText(shot)).toBe('via stdiothen this\n');
    expect(stderr).toMatch(/Serving MCP on stdio/);
    await expect(call(client, 'nope')).rejects.toMatchObject({ code: ErrorCode.InvalidParams, message: expect.stringMatching(/Unknown tool "nope"/) });
    expect(garbage).toEqual([]);

    await client.close();
    await waitFor('the server process to exit', () => !alive(pid), 10_000);
  }, 60_000);
});

describe('MCP over stdio with the SDK 2 client: pinned to 2026-07-28, in legacy mode, in auto mode', () => {
  let dir: string | undefined;
  const clients: V2Client[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  /** The server as a stdio client starts it; each start of it (the probe's and the session's) is noted in `spawns`. */
  async function connect(mode: 'auto' | 'legacy' | { pin: string }, env: Record<string, string>) {
    dir = await mkdtemp(join(tmpdir(), 'stdio-eras-'));
    const spawns = join(dir, 'spawns');
    const transport = new V2StdioTransport({
      command: '/bin/sh',
      args: ['-c', 'echo $$ >> "$SPAWN_LOG"; exec "$0" "$@"', process.execPath, MAIN, '--stdio'],
      env: serverEnv({ ...env, SPAWN_LOG: spawns }),
      stderr: 'ignore',
    });
    const client = new V2Client({ name: 'stdio-v2', version: '1' }, { versionNegotiation: { mode } });
    await client.connect(transport);
    clients.push(client);
    const pids = async () => (await readFile(spawns, 'utf8')).trim().split('\n').map(Number);
    return { client, pid: transport.pid!, pids };
  }

  it('pinned: server/discover, the tools, a default session named in results, and progress', async () => {
    const { client } = await connect({ pin: '2026-07-28' }, { COMPUTER_PROVIDER: 'fake', SCRIPTED_MODEL_STEP_MS: '100' });
    expect(client.getProtocolEra()).toBe('modern');
    expect(client.getDiscoverResult()).toMatchObject({ supportedVersions: expect.arrayContaining(['2026-07-28']), capabilities: { tools: expect.any(Object) } });
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(expect.arrayContaining(['screenshot_cua', 'run_cua_task', 'computer', 'create_session']));
    const typed = await client.callTool({ name: 'computer', arguments: { action: 'type', text: 'via stdio 2026' } });
    const shot = await client.callTool({ name: 'screenshot_cua', arguments: {} });
    expect(sessionIdOf(shot)).toMatch(/^ses_/);
    expect(sessionIdOf(shot)).toBe(sessionIdOf(typed));
    expect(await fakeScreenText(shot)).toBe('via stdio 2026');
    // Over stdio a client may drop the last notifications when the result comes right after them: at least one arrives.
    const progress: number[] = [];
    const done = await client.callTool({ name: 'run_cua_task', arguments: { task: 'steps' } }, { onprogress: (p) => void progress.push(p.progress) });
    expect(textOf(done)).toMatch(/Answer: Done: steps/);
    expect(progress.length).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('pinned: cancelling a call stops its tasks and frees the computers they took, well before their slow model steps end', async () => {
    const { client } = await connect({ pin: '2026-07-28' }, { COMPUTER_PROVIDER: 'fake', POOL_MAX_SIZE: '3', SCRIPTED_MODEL_STEP_MS: '30000' });
    const stats = async () => (await client.callTool({ name: 'get_session_stats', arguments: {} })).structuredContent as Stats;
    const ac = new AbortController();
    const running = client.callTool({ name: 'run_multi_cua_tasks', arguments: { tasks: ['x', 'y', 'z'], concurrent: true, session_id: 'slow' } }, { signal: ac.signal });
    await waitFor('three computers in use', async () => (await stats()).pool.leased === 3, 20_000);
    ac.abort();
    await expect(running).rejects.toThrow();
    await waitFor('the extra computers to be freed and the tasks to stop', async () => {
      const s = await stats();
      return s.pool.leased === 1 && s.sessions.slow.active_tasks === 0;
    }, 10_000);
  }, 60_000);

  it('legacy mode: the 2025 handshake on the same command; one default session across calls; logging/setLevel is honoured', async () => {
    const { client } = await connect('legacy', { COMPUTER_PROVIDER: 'fake', SCRIPTED_MODEL_STEP_MS: '50' });
    expect(client.getProtocolEra()).toBe('legacy');
    expect(client.getDiscoverResult()).toBeUndefined();
    expect(client.getServerCapabilities()).toMatchObject({ tools: { listChanged: false }, logging: {} });
    const typed = await client.callTool({ name: 'computer', arguments: { action: 'type', text: 'via stdio 2025' } });
    const shot = await client.callTool({ name: 'screenshot_cua', arguments: {} });
    expect(sessionIdOf(shot)).toBe(sessionIdOf(typed));
    expect(await fakeScreenText(shot)).toBe('via stdio 2025');
    const logs: unknown[] = [];
    client.setNotificationHandler('notifications/message', (n) => void logs.push(n.params.data));
    await client.setLoggingLevel('info');
    expect(textOf(await client.callTool({ name: 'run_cua_task', arguments: { task: 'loud' } }))).toMatch(/Answer: Done: loud/);
    await waitFor('a log message of the task', () => logs.length > 0, 5_000);
    await client.setLoggingLevel('error');
    logs.length = 0;
    expect(textOf(await client.callTool({ name: 'run_cua_task', arguments: { task: 'quiet' } }))).toMatch(/Answer: Done: quiet/);
    expect(logs).toEqual([]);
  }, 60_000);

  it('in auto mode the client finds 2026-07-28; over stdio no desktop starts before a call needs one, though the client may start the server twice', async () => {
    const { client, pid, pids } = await connect('auto', { COMPUTER_PROVIDER: 'xvfb', DESKTOP_PROFILE: 'minimal', POOL_MIN_WARM: '1' });
    expect(client.getProtocolEra()).toBe('modern');
    // The SDK's probe runs in a sibling process that it stops again, and the session's process is the other one.
    // A 2026-07-28 connection needs no handshake, so connect() returns once the session's process is spawned,
    // maybe before its shell has written its pid to the log: wait for it. (A probe stopped before its shell ran
    // writes none.) Either way, a probe leaves nothing behind.
    const spawned = await waitFor('the session process in the spawn log', async () => {
      const logged = await pids();
      return logged.includes(pid) && logged;
    }, 10_000);
    const probes = spawned.filter((p) => p !== pid);
    expect(probes.length).toBeLessThanOrEqual(1);
    for (const probe of probes) await waitFor('the probe process to exit', () => !alive(probe), 10_000);
    // No warm desktop yet, though POOL_MIN_WARM=1: the tool list and the statistics need none.
    expect((await client.listTools()).tools.length).toBeGreaterThan(5);
    const stats = async () => (await client.callTool({ name: 'get_session_stats', arguments: {} })).structuredContent as Stats;
    expect((await stats()).pool).toMatchObject({ size: 0, idle: 0 });
    expect(xvfbPids(pid)).toEqual([]);
    // The first call that needs a desktop gets one; from then on the pool keeps its warm one.
    const shot = await client.callTool({ name: 'screenshot_cua', arguments: {} });
    expect(await sharp(Buffer.from(imagesOf(shot)[0].data, 'base64')).metadata()).toMatchObject({ format: 'png', width: 640, height: 400 });
    await waitFor('the warm desktop', async () => (await stats()).pool.idle === 1, 20_000);
    expect(xvfbPids(pid)).toHaveLength(2);
  }, 60_000);
});


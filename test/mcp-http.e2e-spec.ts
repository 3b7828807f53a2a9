import sharp from 'sharp';
import { ProgressNotificationSchema, LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { call, fakeScreenText, imagesOf, sessionIdOf, startApp, TestApp, textOf } from './support/app';
import { waitFor } from './support/wait-for';

const SEED_TOOLS = ['screenshot_cua', 'run_cua_task', 'run_multi_cua_tasks', 'get_session_stats', 'cleanup_session'];

describe('MCP over Streamable HTTP (fake computers)', () => {
  let t: TestApp;
  afterEach(async () => t?.close());

  it('lists the five seed tools plus computer/run_command/create_session/list_sessions, each with a description', async () => {
    t = await startApp();
    const client = await t.connect();
    const { tools } = await client.listTools();
    const names = tools.map((x) => x.name);
    expect(names).toEqual(expect.arrayContaining([...SEED_TOOLS, 'computer', 'run_command', 'create_session', 'list_sessions']));
    for (const tool of tools) expect(tool.description!.length).toBeGreaterThan(40);
    expect(client.getServerCapabilities()?.logging).toBeDefined();
  });

  it('screenshot_cua returns a PNG of the session computer, with its size and scale', async () => {
    t = await startApp();
    const client = await t.connect();
    const r = await call(client, 'screenshot_cua');
    expect(r.isError).toBeFalsy();
    expect(imagesOf(r)[0].mimeType).toBe('image/png');
    expect(Buffer.from(imagesOf(r)[0].data, 'base64').subarray(1, 4).toString()).toBe('PNG');
    expect(textOf(r)).toMatch(/640x400 PNG.*scale 1\.0000/);
  });

  it('run_cua_task drives the computer with the scripted model: answer, steps, and the typed task in the final screenshot', async () => {
    t = await startApp();
    const client = await t.connect();
    const r = await call(client, 'run_cua_task', { task: 'write a poem' });
    expect(r.isError).toBeFalsy();
    expect(textOf(r)).toMatch(/Answer: Done: write a poem/);
    expect(textOf(r)).toMatch(/1\. left_click.*\n.*2\. typed "write a poem"\n.*3\. pressed Return/);
    expect(await fakeScreenText(r)).toBe('write a poem\n');
  });

  it('a failing task is an isError result with the reason, not a blank image', async () => {
    t = await startApp();
    const client = await t.connect();
    const r = await call(client, 'run_cua_task', { task: 'do this [fail]' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/\[MODEL_ERROR\].*\[fail\]/);
  });

  it('run_command runs in the session computer and reports output, exit code and timeouts', async () => {
    t = await startApp();
    const client = await t.connect();
    const ok = await call(client, 'run_command', { command: 'echo hello there' });
    expect(ok.structuredContent).toEqual({ exit_code: 0, stdout: 'hello there\n', stderr: '', timed_out: false, truncated: false });
    const slow = await call(client, 'run_command', { command: 'sleep 30', timeout_ms: 200 });
    expect(slow.structuredContent).toMatchObject({ exit_code: null, timed_out: true });
    expect(textOf(slow)).toMatch(/killed after 200 ms \(timeout\)/);
  });

  it('invalid arguments get a clear error and the server keeps serving', async () => {
    t = await startApp();
    const client = await t.connect();
    const empty = await call(client, 'run_cua_task', { task: '   ' });
    expect(empty.isError).toBe(true);
    expect(textOf(empty)).toMatch(/task must not be empty/);
    const wrongType = await call(client, 'run_multi_cua_tasks', { tasks: 'not an array' });
    expect(wrongType.isError).toBe(true);
    expect(textOf(wrongType)).toMatch(/tasks/);
    const extra = await call(client, 'screenshot_cua', { sesion_id: 'typo' });
    expect(textOf(extra)).toMatch(/sesion_id/);
    const badKey = await call(client, 'computer', { action: 'key', text: 'ctrl+nosuchkey' });
    expect(textOf(badKey)).toMatch(/Unknown key "nosuchkey"/);
    const outside = await call(client, 'computer', { action: 'left_click', coordinate: [640, 10] });
    expect(textOf(outside)).toMatch(/x must be 0..639/);
    expect((await call(client, 'screenshot_cua')).isError).toBeFalsy();
    const badZoom = await call(client, 'computer', { action: 'zoom', region: [100, 100, 50, 200] });
    expect(textOf(badZoom)).toMatch(/x0 < x1 <= 640/);
    // The fake computer has no background programs: a clear error naming the provider, not a silent foreground run.
    const bg = await call(client, 'run_command', { command: 'xterm', background: true });
    expect(bg.isError).toBe(true);
    expect(textOf(bg)).toMatch(/COMPUTER_UNSUPPORTED.*fake provider cannot run programs in the background/);
  });

  it('computer zoom returns only the region, enlarged, with what it covered', async () => {
    t = await startApp();
    const client = await t.connect();
    await call(client, 'computer', { action: 'type', text: 'zoom' });
    const r = await call(client, 'computer', { action: 'zoom', region: [0, 0, 160, 100] });
    expect(r.isError).toBeFalsy();
    expect(textOf(r)).toMatch(/zoomed into \(0, 0\)-\(160, 100\) at 640x400/);
    const [img] = imagesOf(r);
    expect(imagesOf(r)).toHaveLength(1);
    const meta = await sharp(Buffer.from(img.data, 'base64')).metadata();
    expect([meta.width, meta.height]).toEqual([640, 400]);
  });

  it('two clients at once get different computers and never see each other\'s screen', async () => {
    t = await startApp();
    const [a, b] = await Promise.all([t.connect('a'), t.connect('b')]);
    await Promise.all([call(a, 'computer', { action: 'type', text: 'alice' }), call(b, 'computer', { action: 'type', text: 'bob' })]);
    const [sa, sb] = await Promise.all([call(a, 'screenshot_cua'), call(b, 'screenshot_cua')]);
    expect(await fakeScreenText(sa)).toBe('alice');
    expect(await fakeScreenText(sb)).toBe('bob');
    expect(sessionIdOf(sa)).not.toBe(sessionIdOf(sb));
    expect(t.fake.open()).toHaveLength(2);
  });

  it('the same session_id reaches the same computer, from any connection', async () => {
    t = await startApp();
    const [a, b] = await Promise.all([t.connect('a'), t.connect('b')]);
    await call(a, 'computer', { action: 'type', text: 'shared', session_id: 'project-x' });
    const seen = await call(b, 'screenshot_cua', { session_id: 'project-x' });
    expect(await fakeScreenText(seen)).toBe('shared');
  });

  it('calls without session_id reuse one default session per connection (never a fresh one per call)', async () => {
    t = await startApp();
    const client = await t.connect();
    const first = await call(client, 'computer', { action: 'type', text: 'one' });
    const second = await call(client, 'computer', { action: 'type', text: 'two' });
    expect(sessionIdOf(first)).toBe(sessionIdOf(second));
    expect(await fakeScreenText(second)).toBe('onetwo');
    const stats = await call(client, 'get_session_stats');
    expect((stats.structuredContent as { total_sessions: number }).total_sessions).toBe(1);
  });

  it('over MAX_SESSIONS the next session gets SESSION_LIMIT at once, and the server keeps serving (no sixth-session hang)', async () => {
    t = await startApp({ MAX_SESSIONS: '5', POOL_MAX_SIZE: '5' });
    const client = await t.connect();
    for (let i = 0; i < 5; i++) expect((await call(client, 'screenshot_cua', { session_id: `s${i}` })).isError).toBeFalsy();
    const t0 = Date.now();
    const sixth = await call(client, 'screenshot_cua', { session_id: 's5' });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(sixth.isError).toBe(true);
    expect(textOf(sixth)).toMatch(/\[SESSION_LIMIT\].*maximum of 5 sessions.*cleanup_session/s);
    expect(textOf(sixth).match(/cleanup_session/g)).toHaveLength(1);
    expect((await call(client, 'screenshot_cua', { session_id: 's0' })).isError).toBeFalsy();
    await call(client, 'cleanup_session', { session_id: 's0' });
    expect((await call(client, 'screenshot_cua', { session_id: 's5' })).isError).toBeFalsy();
  });

  it('with POOL_MIN_WARM, a new session gets a computer already in stock, and the stock is refilled', async () => {
    t = await startApp({ POOL_MIN_WARM: '1', FAKE_CREATE_DELAY_MS: '200' });
    await waitFor('the warm computer', () => t.fake.created.length === 1);
    const client = await t.connect();
    const shot = await call(client, 'computer', { action: 'cursor_position', screenshot: false });
    expect(textOf(shot)).toMatch(/cursor at/);
    await waitFor('the stock to be refilled', () => t.fake.created.length === 2);
    const stats = (await call(client, 'get_session_stats')).structuredContent as { pool: object; pool_activity: { acquire_warm: { count: number } } };
    expect(stats.pool).toMatchObject({ leased: 1, idle: 1, min_warm: 1 });
    expect(stats.pool_activity.acquire_warm.count).toBe(1);
  });

  it('pool exhaustion gives POOL_EXHAUSTED within the acquire timeout', async () => {
    t = await startApp({ MAX_SESSIONS: '5', POOL_MAX_SIZE: '1', POOL_ACQUIRE_TIMEOUT_MS: '500' });
    const client = await t.connect();
    await call(client, 'screenshot_cua', { session_id: 'holder' });
    const t0 = Date.now();
    const r = await call(client, 'screenshot_cua', { session_id: 'waiter' });
    const waited = Date.now() - t0;
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/\[POOL_EXHAUSTED\].*500 ms.*cleanup_session/);
    expect(textOf(r).match(/retry later/gi)).toHaveLength(1);
    expect(waited).toBeGreaterThanOrEqual(450);
    expect(waited).toBeLessThan(5000);
    const stats = await call(client, 'get_session_stats');
    expect(stats.structuredContent).toMatchObject({ total_sessions: 1, pool: { leased: 1, waiting: 0 } });
  });

  it('cleanup_session ends a session with a running task, destroys its computer, and is idempotent (no deadlock)', async () => {
    t = await startApp({ SCRIPTED_MODEL_STEP_MS: '20000' });
    const client = await t.connect();
    const other = await t.connect('other');
    await call(client, 'screenshot_cua', { session_id: 'job' });
    let started = false;
    const running = call(client, 'run_cua_task', { task: 'slow', session_id: 'job' }, { onprogress: () => void (started = true) });
    await waitFor('the task to start', () => started);
    const r = await call(other, 'cleanup_session', { session_id: 'job' });
    expect(textOf(r)).toMatch(/1 running task\(s\) stopped/);
    const task = await running;
    expect(task.isError).toBe(true);
    expect(textOf(task)).toMatch(/SESSION_ENDED/);
    expect(t.fake.open()).toHaveLength(0);
    expect(textOf(await call(other, 'cleanup_session', { session_id: 'job' }))).toMatch(/does not exist/);
  });

  it('a released computer is never reused: a new session with the same id starts on a clean screen', async () => {
    t = await startApp({ POOL_MAX_SIZE: '1' });
    const client = await t.connect();
    await call(client, 'computer', { action: 'type', text: 'private', session_id: 'a' });
    await call(client, 'cleanup_session', { session_id: 'a' });
    const fresh = await call(client, 'screenshot_cua', { session_id: 'b' });
    expect(await fakeScreenText(fresh)).toBe('');
    expect(t.fake.created).toHaveLength(2);
    expect(t.fake.created[0].isClosed).toBe(true);
  });

  it('run_multi_cua_tasks concurrent: each task on its own computer, results in input order, a failure does not stop the others', async () => {
    t = await startApp({ POOL_MAX_SIZE: '3' });
    const client = await t.connect();
    const r = await call(client, 'run_multi_cua_tasks', { tasks: ['first', 'second [fail]', 'third'], concurrent: true });
    expect(textOf(r)).toMatch(/2 of 3 tasks succeeded \(run concurrently\)/);
    const texts = r.content.filter((c) => c.type === 'text').map((c) => (c as { text: string }).text);
    expect(texts[1]).toMatch(/^Task 1 finished/);
    expect(texts[2]).toMatch(/^Task 2 failed: \[MODEL_ERROR\]/);
    expect(texts[3]).toMatch(/^Task 3 finished/);
    const computers = [texts[1], texts[3]].map((x) => /on computer (\S+)/.exec(x)![1]);
    expect(new Set(computers).size).toBe(2);
    expect(await fakeScreenText({ content: [imagesOf(r)[0]] })).toBe('first\n');
    expect(await fakeScreenText({ content: [imagesOf(r)[2]] })).toBe('third\n');
    // The same outcome, machine-readable: per task in input order, each success carrying run_cua_task's fields.
    const sc = r.structuredContent as { succeeded: number; failed: number; concurrent: boolean; results: { task: number; ok: boolean; error?: string; result?: { answer: string; computer_id: string } }[] };
    expect(sc).toMatchObject({ succeeded: 2, failed: 1, concurrent: true });
    expect(sc.results.map((x) => [x.task, x.ok])).toEqual([[1, true], [2, false], [3, true]]);
    expect(sc.results[1].error).toMatch(/MODEL_ERROR/);
    expect([sc.results[0].result!.computer_id, sc.results[2].result!.computer_id]).toEqual(computers);
    // The extra computers went back to the pool and were destroyed; the session keeps its own.
    expect(t.fake.open()).toHaveLength(1);
  });

  it('run_multi_cua_tasks sequential: one computer, tasks in order', async () => {
    t = await startApp();
    const client = await t.connect();
    const r = await call(client, 'run_multi_cua_tasks', { tasks: ['ab', 'cd'] });
    expect(textOf(r)).toMatch(/2 of 2 tasks succeeded\./);
    expect(r.structuredContent).toMatchObject({ succeeded: 2, failed: 0, concurrent: false });
    expect(await fakeScreenText({ content: [imagesOf(r)[1]] })).toBe('ab\ncd\n');
    expect(t.fake.created).toHaveLength(1);
  });

  it('progress notifications and log messages arrive on the request while a task runs', async () => {
    t = await startApp({ SCRIPTED_MODEL_STEP_MS: '150', PROGRESS_HEARTBEAT_MS: '100' });
    const client = await t.connect();
    const progress: { progress: number; message?: string }[] = [];
    const logs: unknown[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params.data));
    await call(client, 'run_cua_task', { task: 'hello' }, { onprogress: (p) => void progress.push(p) });
    expect(progress.length).toBeGreaterThanOrEqual(4);
    const values = progress.map((p) => p.progress);
    expect([...values].sort((x, y) => x - y)).toEqual(values);
    expect(new Set(values).size).toBe(values.length);
    expect(progress.some((p) => /step 2: typed "hello"/.test(p.message ?? ''))).toBe(true);
    expect(progress.some((p) => /^working/.test(p.message ?? ''))).toBe(true);
    expect(logs).toEqual(expect.arrayContaining([expect.objectContaining({ step: 1 })]));
    // logging/setLevel is honoured: above info, step logs stop.
    await client.setLoggingLevel('warning');
    logs.length = 0;
    await call(client, 'run_cua_task', { task: 'quiet' });
    expect(logs).toEqual([]);
    void ProgressNotificationSchema;
  });

  it('run_multi_cua_tasks reports progress 0..N as tasks finish', async () => {
    t = await startApp({ POOL_MAX_SIZE: '3' });
    const client = await t.connect();
    const progress: { progress: number; total?: number }[] = [];
    await call(client, 'run_multi_cua_tasks', { tasks: ['a', 'b', 'c'], concurrent: true }, { onprogress: (p) => void progress.push(p) });
    expect(progress.map((p) => p.progress)).toEqual([0, 1, 2, 3]);
    expect(progress.every((p) => p.total === 3)).toBe(true);
  });

  it('run_multi_cua_tasks sends heartbeats while its tasks run, so a client never waits without progress', async () => {
    t = await startApp({ SCRIPTED_MODEL_STEP_MS: '150', PROGRESS_HEARTBEAT_MS: '50' });
    const client = await t.connect();
    const progress: { progress: number; message?: string }[] = [];
    const r = await call(client, 'run_multi_cua_tasks', { tasks: ['a', 'b'] }, { onprogress: (p) => void progress.push(p) });
    expect(r.isError).toBeFalsy();
    const heartbeats = progress.filter((p) => /working for/.test(p.message ?? ''));
    expect(heartbeats.length).toBeGreaterThanOrEqual(2);
    // Heartbeats before the first task finished stay below 1; values only go up, ending at 2 of 2.
    expect(heartbeats[0].progress).toBeLessThan(1);
    const values = progress.map((p) => p.progress);
    expect([...values].sort((x, y) => x - y)).toEqual(values);
    expect(values.at(-1)).toBe(2);
  });

  it('cancelling a slow task stops it at once (not after the model step) and frees what it leased', async () => {
    t = await startApp({ SCRIPTED_MODEL_STEP_MS: '30000', POOL_MAX_SIZE: '3' });
    const client = await t.connect();
    await call(client, 'screenshot_cua');
    const ac = new AbortController();
    const running = call(client, 'run_multi_cua_tasks', { tasks: ['x', 'y', 'z'], concurrent: true }, { signal: ac.signal });
    await waitFor('three computers in use', () => t.fake.open().length === 3);
    ac.abort();
    await expect(running).rejects.toThrow();
    // Well before the 30 s model step would end: only the session's own computer is left.
    await waitFor('the extra computers to be freed', () => t.fake.open().length === 1, 10_000);
    const stats = await call(client, 'get_session_stats');
    expect(stats.structuredContent).toMatchObject({ pool: { leased: 1 } });
    const sessions = (stats.structuredContent as { sessions: Record<string, { active_tasks: number }> }).sessions;
    expect(Object.values(sessions).map((s) => s.active_tasks)).toEqual([0]);
  });

  it('create_session mints unguessable ids; list_sessions and get_session_stats show only them', async () => {
    t = await startApp();
    const client = await t.connect();
    const created = await call(client, 'create_session', { idle_timeout_ms: 5000 });
    const id = (created.structuredContent as { session_id: string }).session_id;
    expect(id).toMatch(/^ses_[A-Za-z0-9_-]{22}$/);
    const listed = await call(client, 'list_sessions');
    expect((listed.structuredContent as { sessions: { session_id: string; idle_timeout_ms: number }[] }).sessions).toEqual([
      expect.objectContaining({ session_id: id, idle_timeout_ms: 5000 }),
    ]);
    const stats = await call(client, 'get_session_stats');
    expect(stats.structuredContent).toMatchObject({ total_sessions: 1, max_concurrent: 5, pool: { max: 5, leased: 1 } });
    expect(Object.keys((stats.structuredContent as { sessions: object }).sessions)).toEqual([id]);
    const guess = await call(client, 'screenshot_cua', { session_id: 'ses_AAAAAAAAAAAAAAAAAAAAAA' });
    expect(textOf(guess)).toMatch(/SESSION_NOT_FOUND/);
  });

  it('DELETE of the MCP session releases its default session computer', async () => {
    t = await startApp();
    const client = await t.connect();
    await call(client, 'screenshot_cua');
    expect(t.fake.open()).toHaveLength(1);
    const transport = client.transport as unknown as { terminateSession(): Promise<void> };
    await transport.terminateSession();
    await waitFor('its computer to be released', () => t.fake.open().length === 0, 5000);
  });

  it('a client that vanishes without DELETE: its MCP connection and default session are closed once idle', async () => {
    t = await startApp({ SESSION_SWEEP_INTERVAL_MS: '100', SESSION_IDLE_TIMEOUT_MS: '1000', SESSION_MAX_IDLE_TIMEOUT_MS: '1000' });
    const client = await t.connect();
    await call(client, 'screenshot_cua');
    const sid = (client.transport as unknown as { sessionId: string }).sessionId;
    await client.close(); // no DELETE
    expect(t.fake.open()).toHaveLength(1);
    await waitFor('the idle sweep to release the computer', () => t.fake.open().length === 0, 10_000);
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', 'Mcp-Session-Id': sid },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(404);
  });

  it('the idle sweep ends idle sessions and releases their computers', async () => {
    t = await startApp({ SESSION_SWEEP_INTERVAL_MS: '100', SESSION_IDLE_TIMEOUT_MS: '1000', SESSION_MAX_IDLE_TIMEOUT_MS: '1000' });
    const client = await t.connect();
    await call(client, 'screenshot_cua', { session_id: 'sleepy' });
    expect(t.fake.open()).toHaveLength(1);
    await waitFor('the idle sweep to release the computer', () => t.fake.open().length === 0, 10_000);
    // The idle MCP connection was closed as well; a new one sees no session left.
    const fresh = await t.connect('fresh');
    expect((await call(fresh, 'get_session_stats')).structuredContent).toMatchObject({ total_sessions: 0 });
  });
});

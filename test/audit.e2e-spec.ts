/**
 * The audit trail (AUDIT_LOG) of the real app, written to real files in a folder of the test's own: one line per
 * tool call of every tool the server lists and per session event on every lifecycle path, each valid against the
 * versioned schema, and nothing typed, no key, no token, no image in it. Over stdio, AUDIT_LOG=stdout goes to stderr.
 */
import { Client as V2Client, StreamableHTTPClientTransport as V2HttpTransport } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditLine, type AuditLine } from '../src/audit/audit.module';
import { SessionRegistry } from '../src/cluster/cluster.module';
import { SessionService } from '../src/session/session.module';
import { call, startApp, textOf, type TestApp } from './support/app';
import { MAIN } from './support/server-process';
import { waitFor } from './support/wait-for';

const KEY = 'key-alice-0123456789abcdef';
const OPS_KEY = 'key-ops-0123456789abcdef';
const API_KEYS = `${KEY}:alice,${OPS_KEY}:ops`;
const TYPED = 'correct horse battery staple';
const PASSWORD = 'Tr0ub4dor&3-hunter2';
const LIVE_VIEW_TOKEN = 'lvt-9b1e4c7d2a5f8e3b6c9d0a1f';

/** Arguments for one call of each tool. A tool the server lists without an entry here fails the first test: add one. */
const SAMPLE_ARGS: Record<string, Record<string, unknown>> = {
  screenshot_cua: { session_id: 'desk' },
  computer: { action: 'type', text: TYPED, session_id: 'desk' },
  run_command: { command: `mysql --user=app --password=${PASSWORD} -e 'select 1'`, session_id: 'desk' },
  run_cua_task: { task: 'say hello', session_id: 'desk' },
  run_multi_cua_tasks: { tasks: ['one', 'two'], session_id: 'desk' },
  get_session_stats: {},
  create_session: {},
  list_sessions: {},
  release_control: { session_id: 'desk' },
  live_view: { session_id: 'desk' },
  live_view_control: { token: LIVE_VIEW_TOKEN, action: 'state' },
  dashboard: {},
  cleanup_session: { session_id: 'desk' },
};

let dir: string;
let t: TestApp | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'audit-'));
});
afterEach(async () => {
  await t?.close();
  t = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** Every line of the trail so far, each checked against the schema (version 1). */
function trail(file = join(dir, 'audit.jsonl')): AuditLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => auditLine.parse(JSON.parse(l)));
}

async function connect(key: string, name = 'audit-e2e') {
  const client = new Client({ name, version: '1.2.3' });
  const transport = new StreamableHTTPClientTransport(new URL(t!.url), { requestInit: { headers: { Authorization: `Bearer ${key}` } } });
  await client.connect(transport);
  t!.clients.push(client);
  return { client, transport };
}

const sessionsOf = (app: TestApp) => app.app.get(SessionService);

describe('the audit trail', () => {
  it('writes exactly one line per call of every tool the server lists, saying who, how, which client and what came of it; never typed text, secrets, keys or images', async () => {
    t = await startApp({ API_KEYS, AUDIT_LOG: join(dir, 'audit.jsonl'), SCRIPTED_MODEL_STEPS: '2' });
    const { client, transport } = await connect(KEY);
    const tools = (await client.listTools()).tools.map((x) => x.name);
    expect(tools.filter((name) => !(name in SAMPLE_ARGS))).toEqual([]);
    const order = [...tools.filter((n) => n !== 'cleanup_session'), 'cleanup_session'];
    for (const name of order) await call(client, name, SAMPLE_ARGS[name]);

    const calls = trail().filter((l) => l.audit === 'tool_call');
    expect(calls.map((l) => l.tool).sort()).toEqual([...tools].sort());
    for (const line of calls) {
      expect(line).toMatchObject({ v: 1, principal: 'alice', auth: 'api-key', client: { name: 'audit-e2e', version: '1.2.3' }, transport: 'http', era: '2025', mcp_session: transport.sessionId });
    }
    const byTool = Object.fromEntries(calls.map((l) => [l.tool, l]));
    expect(byTool.screenshot_cua).toMatchObject({ session: 'desk', args: {}, outcome: 'ok' });
    expect(byTool.computer).toMatchObject({ session: 'desk', args: { action: 'type', text: `[typed text, ${TYPED.length} characters]` }, outcome: 'ok' });
    expect(byTool.run_cua_task).toMatchObject({ session: 'desk', args: { task: 'say hello' }, outcome: 'ok' });
    expect(byTool.live_view_control).toMatchObject({ args: { token: '[redacted]', action: 'state' }, outcome: 'INVALID_ARGUMENT' });
    expect(byTool.cleanup_session).toMatchObject({ session: 'desk', outcome: 'ok' });
    expect((byTool.run_command.args as { command: string }).command).toMatch(/^mysql --user=app --password=\[redacted\]/);

    // A call the SDK refuses for its arguments is one line too; an unknown tool (a protocol error) is none.
    expect((await call(client, 'computer', { action: 'fly' })).isError).toBe(true);
    await expect(call(client, 'no_such_tool')).rejects.toThrow(/Unknown tool/);
    const after = trail().filter((l) => l.audit === 'tool_call');
    expect(after.slice(calls.length).map((l) => [l.tool, l.outcome])).toEqual([['computer', 'INVALID_ARGUMENT']]);

    // A 2026-07-28 request: its era, its client from the request's envelope, no MCP session.
    const modern = new V2Client({ name: 'audit-v2', version: '2.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await modern.connect(new V2HttpTransport(new URL(t.url), { requestInit: { headers: { Authorization: `Bearer ${KEY}` } } }));
    await modern.callTool({ name: 'list_sessions', arguments: {} });
    await modern.close();
    const last = trail().at(-1)!;
    expect(last).toMatchObject({ audit: 'tool_call', tool: 'list_sessions', era: '2026', client: { name: 'audit-v2', version: '2.0.0' }, outcome: 'ok' });
    expect(last).not.toHaveProperty('mcp_session');

    const text = readFileSync(join(dir, 'audit.jsonl'), 'utf8');
    for (const secret of [TYPED, PASSWORD, LIVE_VIEW_TOKEN, KEY, 'iVBORw0KGgo', '"data":', '"image"']) expect(text).not.toContain(secret);
    expect(Math.max(...text.split('\n').map((l) => l.length))).toBeLessThan(2_000);
  });

  it('writes exactly one line per session event on every lifecycle path: created (named, minted, default), computer assigned (and extra ones), ended (cleanup, operator, idle, connection-closed, unregistered, shutdown), control taken and returned (tool, holder, idle, session-ended)', async () => {
    t = await startApp({ API_KEYS, API_KEY_OPERATORS: 'ops', AUDIT_LOG: join(dir, 'audit.jsonl'), SESSION_SWEEP_INTERVAL_MS: '100', LIVE_VIEW_CONTROL_IDLE_MS: '1000', SCRIPTED_MODEL_STEPS: '1' });
    const sessions = sessionsOf(t);
    const a = await connect(KEY);
    const ops = await connect(OPS_KEY);

    await call(a.client, 'screenshot_cua', { session_id: 'named' });
    const minted = (await call(a.client, 'create_session')).structuredContent as { session_id: string };
    const dflt = textOf(await call(a.client, 'screenshot_cua')).match(/session (ses_\S+?):/)![1];
    expect(textOf(await call(a.client, 'run_multi_cua_tasks', { tasks: ['a', 'b'], concurrent: true, session_id: 'named' }))).toMatch(/2 of 2 tasks succeeded/);

    const named = sessions.get('alice', 'named')!;
    named.control.take('bob (live view)');
    await call(a.client, 'release_control', { session_id: 'named' });
    named.control.take('bob (live view)');
    named.control.release('bob (live view)');
    named.control.take('bob (live view)');
    await waitFor('control to return after the holder\'s idle time', () => trail().some((l) => l.audit === 'control_returned' && l.reason === 'idle'), 5_000, 50);
    await call(a.client, 'cleanup_session', { session_id: 'named' });

    await call(ops.client, 'cleanup_session', { session_id: minted.session_id, principal: 'alice' });
    const idle = (await call(a.client, 'create_session', { idle_timeout_ms: 1000 })).structuredContent as { session_id: string };
    await waitFor('the idle sweep to end a session', () => trail().some((l) => l.audit === 'session_ended' && l.session === idle.session_id), 5_000, 50);
    await a.transport.terminateSession();

    const b = await connect(KEY);
    await call(b.client, 'screenshot_cua', { session_id: 'gone' });
    await t.app.get(SessionRegistry).end('alice', 'gone');
    expect(textOf(await call(b.client, 'screenshot_cua', { session_id: 'gone' }))).toMatch(/^\[SESSION_ENDED\]/);
    await call(b.client, 'screenshot_cua', { session_id: 'held' });
    sessions.get('alice', 'held')!.control.take('carol (live view)');
    await call(b.client, 'cleanup_session', { session_id: 'held' });
    await call(b.client, 'screenshot_cua', { session_id: 'last' });
    await t.close();
    t = undefined;

    const events = trail().filter((l) => l.audit !== 'tool_call');
    const of = (session: string) =>
      events
        .filter((l) => 'session' in l && l.session === session)
        .map((l) => [l.audit, 'kind' in l ? l.kind : 'reason' in l ? l.reason : 'extra' in l ? (l.extra ? 'extra' : 'own') : 'holder' in l ? l.holder : undefined]);
    expect(of('named')).toEqual([
      ['session_created', 'named'],
      ['computer_assigned', 'own'],
      ['computer_assigned', 'extra'],
      ['control_taken', 'bob (live view)'],
      ['control_returned', 'tool'],
      ['control_taken', 'bob (live view)'],
      ['control_returned', 'holder'],
      ['control_taken', 'bob (live view)'],
      ['control_returned', 'idle'],
      ['session_ended', 'cleanup'],
    ]);
    expect(of(minted.session_id)).toEqual([['session_created', 'minted'], ['computer_assigned', 'own'], ['session_ended', 'operator']]);
    expect(events.find((l) => l.audit === 'session_ended' && l.session === minted.session_id)).toMatchObject({ principal: 'alice', by: 'ops' });
    expect(of(dflt)).toEqual([['session_created', 'default'], ['computer_assigned', 'own'], ['session_ended', 'connection-closed']]);
    expect(of(idle.session_id)).toEqual([['session_created', 'minted'], ['computer_assigned', 'own'], ['session_ended', 'idle']]);
    expect(of('gone')).toEqual([['session_created', 'named'], ['computer_assigned', 'own'], ['session_ended', 'unregistered']]);
    // The session ends, and with it the person's control.
    expect(of('held')).toEqual([['session_created', 'named'], ['computer_assigned', 'own'], ['control_taken', 'carol (live view)'], ['session_ended', 'cleanup'], ['control_returned', 'session-ended']]);
    expect(of('last')).toEqual([['session_created', 'named'], ['computer_assigned', 'own'], ['session_ended', 'shutdown']]);
    // Nothing else: every event belongs to one of these sessions.
    expect(events).toHaveLength(10 + 3 + 3 + 3 + 3 + 5 + 3);
    expect(events.every((l) => l.principal === 'alice')).toBe(true);
  });

  it('writes one line per read of a session\'s trajectory, found or not, with the session it names and no content', async () => {
    t = await startApp({ API_KEYS, AUDIT_LOG: join(dir, 'audit.jsonl'), TRAJECTORY_DIR: join(dir, 'trajectories') });
    const { client } = await connect(KEY);
    await call(client, 'run_cua_task', { task: `type ${TYPED}`, session_id: 'desk' });
    const uri = (await client.listResources()).resources.find((r) => r.uri.startsWith('trajectory://'))!.uri;
    const read = await client.readResource({ uri });
    expect(JSON.stringify(read.contents)).toContain(TYPED.split(' ')[0]);
    await expect(client.readResource({ uri: 'trajectory://desk/no-such-task' })).rejects.toThrow(/not found/);
    const reads = trail().filter((l) => l.audit === 'resource_read');
    expect(reads).toEqual([
      expect.objectContaining({ principal: 'alice', auth: 'api-key', transport: 'http', session: 'desk', uri, outcome: 'ok' }),
      expect.objectContaining({ principal: 'alice', session: 'desk', uri: 'trajectory://desk/no-such-task', outcome: 'NOT_FOUND' }),
    ]);
    expect(JSON.stringify(reads)).not.toContain(TYPED.split(' ')[1]);
  });

  it('a session whose computer never came writes created and ended (start-failed), and no computer line', async () => {
    t = await startApp({ API_KEYS, AUDIT_LOG: join(dir, 'audit.jsonl'), POOL_MAX_SIZE: '1', MAX_SESSIONS: '2', POOL_ACQUIRE_TIMEOUT_MS: '300' });
    const { client } = await connect(KEY);
    await call(client, 'screenshot_cua', { session_id: 'first' });
    expect(textOf(await call(client, 'screenshot_cua', { session_id: 'second' }))).toMatch(/^\[POOL_EXHAUSTED\]/);
    const second = trail().filter((l) => l.audit !== 'tool_call' && l.session === 'second');
    expect(second.map((l) => [l.audit, 'reason' in l ? l.reason : l.audit === 'session_created' ? l.kind : undefined])).toEqual([
      ['session_created', 'named'],
      ['session_ended', 'start-failed'],
    ]);
  });

  it('rotates the file by size and keeps AUDIT_KEEP_FILES of them, every line whole and valid', async () => {
    const file = join(dir, 'audit.jsonl');
    t = await startApp({ API_KEYS, AUDIT_LOG: file, AUDIT_MAX_BYTES: '4096', AUDIT_KEEP_FILES: '2' });
    const { client } = await connect(KEY);
    for (let i = 0; i < 40; i++) await call(client, 'list_sessions');
    const files = [`${file}.2`, `${file}.1`, file];
    for (const f of files) expect(readFileSync(f).length).toBeLessThanOrEqual(4096);
    expect(existsSync(`${file}.3`)).toBe(false);
    const kept = files.flatMap((f) => trail(f));
    expect(kept.length).toBeGreaterThan(10);
    expect(kept.length).toBeLessThan(40);
    expect(kept.every((l) => l.audit === 'tool_call' && l.tool === 'list_sessions')).toBe(true);
  });

  it('over stdio (node dist/main.js --stdio), AUDIT_LOG=stdout goes to stderr and stdout carries only MCP; the caller is the stdio principal', async () => {
    const { CONTAINER_NAME: _c, ...env } = process.env as Record<string, string>;
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [MAIN, '--stdio'],
      env: { ...env, COMPUTER_PROVIDER: 'fake', CUA_MODEL_NAME: 'scripted/demo', SCREEN_WIDTH: '640', SCREEN_HEIGHT: '400', AUDIT_LOG: 'stdout', STDIO_PRINCIPAL: 'desktop-user' },
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const client = new Client({ name: 'stdio-audit', version: '0.9' });
    // Anything on stdout that is not MCP would reach the client as an error.
    const errors: Error[] = [];
    client.onerror = (e) => errors.push(e);
    await client.connect(transport);
    try {
      expect((await call(client, 'computer', { action: 'type', text: TYPED })).isError).toBeFalsy();
      const lines = () => stderr.split('\n').filter((l) => l.startsWith('{"v":1,')).map((l) => auditLine.parse(JSON.parse(l)));
      await waitFor('the audit line on stderr', () => lines().some((l) => l.audit === 'tool_call'), 5_000, 50);
      expect(lines().find((l) => l.audit === 'tool_call')).toMatchObject({ principal: 'desktop-user', auth: 'stdio', transport: 'stdio', client: { name: 'stdio-audit', version: '0.9' } });
      expect(lines().map((l) => l.audit)).toEqual(expect.arrayContaining(['session_created', 'computer_assigned']));
      expect(stderr).not.toContain(TYPED);
      expect(errors).toEqual([]);
    } finally {
      await client.close();
    }
  });
});

import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { request } from 'node:http';
import { call, startApp, TestApp, textOf } from './support/app';

/**
 * Generated malformed input: wrong types, missing and extra fields, huge strings and arrays,
 * bad coordinates and key names, unknown tools and sessions, malformed JSON-RPC, oversized
 * bodies and bad headers. Each must get a clear error naming the problem; afterwards the server
 * is healthy, no computer leaked, and a normal call works.
 */

/** `protocolError`: answered with a JSON-RPC error (an unknown tool), not an isError result. */
type ToolCase = { name: string; tool: string; args: unknown; expect: RegExp; protocolError?: boolean };
type RawCase = { name: string; body?: string; headers?: Record<string, string>; session?: boolean; method?: string; status: number | number[]; expect: RegExp };

const WRONG_VALUES: [string, unknown][] = [
  ['a number', 42],
  ['a boolean', true],
  ['null', null],
  ['an object', { a: 1 }],
  ['an array', [1, 2]],
];

/** The fields of each tool and a valid value, to mutate one at a time. */
const FIELDS: Record<string, Record<string, unknown>> = {
  screenshot_cua: { session_id: 'fuzz', format: 'png' },
  run_cua_task: { task: 'hello', session_id: 'fuzz' },
  run_multi_cua_tasks: { tasks: ['a'], concurrent: false, session_id: 'fuzz' },
  cleanup_session: { session_id: 'fuzz' },
  dashboard: {},
  create_session: { idle_timeout_ms: 5000 },
  computer: { action: 'left_click', coordinate: [10, 10], text: 'shift', scroll_direction: 'up', scroll_amount: 1, duration: 0, screenshot: false, format: 'png', session_id: 'fuzz' },
  run_command: { command: 'echo hi', timeout_ms: 1000, session_id: 'fuzz' },
  release_control: { session_id: 'fuzz' },
  live_view_control: { token: 'x'.repeat(43), action: 'state' },
};
const REQUIRED: Record<string, string[]> = {
  run_cua_task: ['task'],
  run_multi_cua_tasks: ['tasks'],
  cleanup_session: ['session_id'],
  computer: ['action'],
  run_command: ['command'],
  live_view_control: ['token', 'action'],
};

function toolCases(): ToolCase[] {
  const cases: ToolCase[] = [];
  for (const [tool, fields] of Object.entries(FIELDS)) {
    for (const [field, valid] of Object.entries(fields)) {
      for (const [label, wrong] of WRONG_VALUES) {
        // Some wrong values are accidentally valid for some fields (an array for tasks, an array for coordinate).
        if (Array.isArray(valid) && Array.isArray(wrong)) continue;
        if (!Array.isArray(valid) && typeof valid === typeof wrong && wrong !== null) continue;
        cases.push({ name: `${tool}.${field} as ${label}`, tool, args: { ...pick(tool), [field]: wrong }, expect: new RegExp(field) });
      }
    }
    for (const field of REQUIRED[tool] ?? []) {
      const args = pick(tool);
      delete args[field];
      cases.push({ name: `${tool} without ${field}`, tool, args, expect: new RegExp(field) });
    }
    cases.push({ name: `${tool} with an unknown field`, tool, args: { ...pick(tool), bogus_field: 1 }, expect: /bogus_field/ });
    if ('session_id' in fields) {
      cases.push({ name: `${tool} with a 10,000-character session_id`, tool, args: { ...pick(tool), session_id: 's'.repeat(10_000) }, expect: /session_id/ });
      cases.push({ name: `${tool} with a session_id of bad characters`, tool, args: { ...pick(tool), session_id: '../../etc/passwd' }, expect: /session_id/ });
      cases.push({ name: `${tool} with an empty session_id`, tool, args: { ...pick(tool), session_id: '' }, expect: /session_id/ });
    }
  }
  const huge = 'x'.repeat(200_000);
  cases.push(
    { name: 'run_cua_task with a 200,000-character task', tool: 'run_cua_task', args: { task: huge }, expect: /task.*20000|20000.*task|at most 20000/i },
    { name: 'run_cua_task with an empty task', tool: 'run_cua_task', args: { task: '' }, expect: /task must not be empty/ },
    { name: 'run_cua_task with a whitespace task', tool: 'run_cua_task', args: { task: ' \n\t ' }, expect: /task must not be empty/ },
    { name: 'run_multi_cua_tasks with 1,000 tasks', tool: 'run_multi_cua_tasks', args: { tasks: Array.from({ length: 1000 }, () => 'a') }, expect: /at most 16 tasks/ },
    { name: 'run_multi_cua_tasks with no tasks', tool: 'run_multi_cua_tasks', args: { tasks: [] }, expect: /at least one task/ },
    { name: 'run_multi_cua_tasks with a non-string task', tool: 'run_multi_cua_tasks', args: { tasks: ['a', 5] }, expect: /tasks/ },
    { name: 'computer type with 20,000 characters', tool: 'computer', args: { action: 'type', text: 'a'.repeat(20_000) }, expect: /text/ },
    { name: 'run_command with an empty command', tool: 'run_command', args: { command: '' }, expect: /command must not be empty/ },
    { name: 'run_command with a 50 ms timeout', tool: 'run_command', args: { command: 'true', timeout_ms: 50 }, expect: /timeout_ms/ },
    { name: 'create_session with a 10 ms idle timeout', tool: 'create_session', args: { idle_timeout_ms: 10 }, expect: /idle_timeout_ms/ },
    { name: 'screenshot_cua in bmp', tool: 'screenshot_cua', args: { format: 'bmp' }, expect: /format/ },
    { name: 'an unknown minted session', tool: 'screenshot_cua', args: { session_id: 'ses_AAAAAAAAAAAAAAAAAAAAAA' }, expect: /SESSION_NOT_FOUND/ },
  );
  // Coordinates and actions.
  const coords: [string, unknown][] = [
    ['negative', [-1, 5]],
    ['past the right edge', [640, 5]],
    ['past the bottom edge', [5, 400]],
    ['one number', [5]],
    ['three numbers', [1, 2, 3]],
    ['strings', ['1', '2']],
    ['huge', [1e12, 1e12]],
    ['an object', { x: 1, y: 2 }],
  ];
  for (const action of ['left_click', 'right_click', 'double_click', 'triple_click', 'mouse_move']) {
    for (const [label, c] of coords) cases.push({ name: `${action} at ${label} coordinates`, tool: 'computer', args: { action, coordinate: c }, expect: /coordinate|outside the screenshot|x must be|y must be/ });
  }
  for (const [label, c] of coords.slice(0, 4)) {
    cases.push({ name: `left_click_drag from ${label} coordinates`, tool: 'computer', args: { action: 'left_click_drag', start_coordinate: c, coordinate: [1, 1] }, expect: /coordinate|outside/ });
  }
  cases.push(
    { name: 'mouse_move without coordinate', tool: 'computer', args: { action: 'mouse_move' }, expect: /needs coordinate/ },
    { name: 'left_click_drag without coordinate', tool: 'computer', args: { action: 'left_click_drag', start_coordinate: [1, 1] }, expect: /needs coordinate/ },
    { name: 'an unknown action', tool: 'computer', args: { action: 'teleport' }, expect: /action/ },
    { name: 'scroll without direction', tool: 'computer', args: { action: 'scroll', coordinate: [1, 1] }, expect: /scroll_direction/ },
    { name: 'scroll sideways-up', tool: 'computer', args: { action: 'scroll', scroll_direction: 'sideways' }, expect: /scroll_direction/ },
    { name: 'scroll 0 clicks', tool: 'computer', args: { action: 'scroll', scroll_direction: 'up', scroll_amount: 0 }, expect: /scroll_amount/ },
    { name: 'scroll 1.5 clicks', tool: 'computer', args: { action: 'scroll', scroll_direction: 'up', scroll_amount: 1.5 }, expect: /scroll_amount/ },
    { name: 'type without text', tool: 'computer', args: { action: 'type' }, expect: /needs text/ },
    { name: 'wait without duration', tool: 'computer', args: { action: 'wait' }, expect: /duration/ },
    { name: 'wait for -1 s', tool: 'computer', args: { action: 'wait', duration: -1 }, expect: /duration/ },
    { name: 'wait for an hour', tool: 'computer', args: { action: 'wait', duration: 3600 }, expect: /duration/ },
    { name: 'hold_key without a key', tool: 'computer', args: { action: 'hold_key', duration: 1 }, expect: /needs text/ },
  );
  for (const key of ['', 'ctrl+', 'hyper+q', 'ctrl+shift+nosuchkey', 'F99', 'enter+', '++++', 'k'.repeat(300), 'ctrl+\u0000']) {
    cases.push({ name: `key ${JSON.stringify(key.slice(0, 20))}`, tool: 'computer', args: { action: 'key', text: key }, expect: /key|text/i });
  }
  for (const tool of ['nope', '', 'screenshot_cua ', 'SCREENSHOT_CUA', '../run_command', 'x'.repeat(5000)]) {
    cases.push({ name: `unknown tool ${JSON.stringify(tool.slice(0, 20))}`, tool, args: {}, expect: /Unknown tool ".*"\. Call tools\/list for the tools this server offers\./, protocolError: true });
  }
  return cases;
}

function pick(tool: string): Record<string, unknown> {
  const valid: Record<string, Record<string, unknown>> = {
    screenshot_cua: {},
    run_cua_task: { task: 'hello' },
    run_multi_cua_tasks: { tasks: ['a'] },
    cleanup_session: { session_id: 'fuzz' },
    create_session: {},
    computer: { action: 'cursor_position' },
    run_command: { command: 'true' },
  };
  return { ...valid[tool] };
}

const ACCEPT = 'application/json, text/event-stream';

/** A raw HTTP request (node:http, so Host can be set too); reads the body, stopping an endless stream after a moment. */
function raw(url: string, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let data = '';
      const done = () => resolve({ status: res.statusCode ?? 0, body: data });
      const timer = setTimeout(() => (res.destroy(), done()), 1000);
      res.on('data', (d: Buffer) => (data += d.toString()));
      res.on('end', () => (clearTimeout(timer), done()));
      res.on('error', () => (clearTimeout(timer), done()));
    });
    req.on('error', reject);
    req.end(body);
  });
}
function rawCases(): RawCase[] {
  const rpc = (o: unknown) => JSON.stringify(o);
  return [
    { name: 'not JSON', body: '{"jsonrpc":', status: 400, expect: /Parse error/ },
    { name: 'JSON but an empty object', body: '{}', session: true, status: 400, expect: /"error"/ },
    { name: 'a JSON string', body: '"hello"', session: true, status: 400, expect: /"error"/ },
    { name: 'a JSON number', body: '42', session: true, status: 400, expect: /"error"/ },
    { name: 'an empty batch', body: '[]', session: true, status: 400, expect: /empty batch/ },
    { name: 'a batch of garbage', body: '[1, 2, 3]', session: true, status: 400, expect: /"error"/ },
    { name: 'wrong jsonrpc version', body: rpc({ jsonrpc: '1.0', id: 1, method: 'tools/list' }), session: true, status: 400, expect: /"error"/ },
    { name: 'method is a number', body: rpc({ jsonrpc: '2.0', id: 1, method: 7 }), session: true, status: 400, expect: /"error"/ },
    { name: 'unknown method', body: rpc({ jsonrpc: '2.0', id: 1, method: 'tools/teleport' }), session: true, status: 200, expect: /-32601|Method not found/ },
    { name: 'tools/call without params', body: rpc({ jsonrpc: '2.0', id: 1, method: 'tools/call' }), session: true, status: 200, expect: /"error"/ },
    { name: 'tools/call with params as an array', body: rpc({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: [1] }), session: true, status: [200, 400], expect: /"error"/ },
    { name: 'tools/call with a numeric tool name', body: rpc({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 5 } }), session: true, status: 200, expect: /"error"/ },
    { name: 'tools/call with arguments as a string', body: rpc({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'screenshot_cua', arguments: 'x' } }), session: true, status: 200, expect: /"error"/ },
    { name: 'a second initialize on a live session', body: rpc({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }), session: true, status: 400, expect: /"error"/ },
    { name: 'an oversized body', body: rpc({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { pad: 'x'.repeat(6 * 1024 * 1024) } }), status: 413, expect: /too large/ },
    { name: 'text/plain content type', body: rpc({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), session: true, headers: { 'Content-Type': 'text/plain' }, status: [400, 415], expect: /"error"/ },
    { name: 'no Accept header', body: rpc({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), session: true, headers: { Accept: '' }, status: 406, expect: /"error"/ },
    { name: 'an unsupported protocol version header', body: rpc({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), session: true, headers: { 'Mcp-Protocol-Version': '1999-01-01' }, status: 400, expect: /protocol version/i },
    { name: 'an unknown session id', body: rpc({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), headers: { 'Mcp-Session-Id': 'not-a-session' }, status: 404, expect: /Session not found/ },
    { name: 'a 10 kB session id', body: rpc({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), headers: { 'Mcp-Session-Id': 'a'.repeat(10_000) }, status: 404, expect: /Session not found/ },
    { name: 'no session id', body: rpc({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), status: 400, expect: /Mcp-Session-Id/ },
    { name: 'a foreign Host', body: rpc({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), session: true, headers: { Host: 'evil.example:80' }, status: 403, expect: /Host/ },
    { name: 'a foreign Origin', body: rpc({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), session: true, headers: { Origin: 'https://evil.example' }, status: 403, expect: /Origin/ },
    { name: 'an unparsable Origin', body: rpc({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), session: true, headers: { Origin: '::::' }, status: 403, expect: /Origin/ },
    { name: 'PUT /mcp', method: 'PUT', body: '{}', status: 404, expect: /./ },
    // No server-to-client stream: GET is refused whatever it carries (the client carries on without one).
    { name: 'GET on an MCP session', method: 'GET', session: true, status: 405, expect: /Method not allowed/ },
    { name: 'GET without a session', method: 'GET', status: 405, expect: /Method not allowed/ },
    { name: 'DELETE of an unknown session', method: 'DELETE', headers: { 'Mcp-Session-Id': 'nope' }, status: 404, expect: /Session not found/ },
  ];
}

describe('Bad input (generated): every malformed request gets a clear error, and the server stays healthy', () => {
  let t: TestApp;
  let client: Client;
  let sessionId: string;
  beforeAll(async () => {
    t = await startApp({ MAX_SESSIONS: '20', POOL_MAX_SIZE: '20' });
    client = await t.connect();
    sessionId = (client.transport as unknown as { sessionId: string }).sessionId;
    await call(client, 'screenshot_cua'); // a session with a computer that must survive all of this
  });
  afterAll(async () => t?.close());

  const tools = toolCases();
  const raws = rawCases();

  it('generates at least 200 cases', () => {
    expect(tools.length + raws.length).toBeGreaterThanOrEqual(200);
  });

  it.each(tools.map((c) => [c.name, c] as const))('tool call: %s', async (_name, c) => {
    let text: string;
    if (c.protocolError) {
      const err = await call(client, c.tool, c.args as Record<string, unknown>).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(McpError);
      expect(err).toMatchObject({ code: ErrorCode.InvalidParams });
      text = (err as McpError).message;
    } else {
      try {
        const r = await call(client, c.tool, c.args as Record<string, unknown>);
        expect(r.isError).toBe(true);
        text = textOf(r);
      } catch (e) {
        text = (e as Error).message; // a JSON-RPC error is as good, as long as it names the problem
      }
    }
    expect(text).toMatch(c.expect);
    // Never echo a huge input back.
    expect(text.length).toBeLessThan(4000);
  });

  it.each(raws.map((c) => [c.name, c] as const))('raw request: %s', async (_name, c) => {
    const headers: Record<string, string> = { 'Content-Type': 'application/json', Accept: ACCEPT, 'Mcp-Protocol-Version': '2025-06-18', ...(c.session ? { 'Mcp-Session-Id': sessionId } : {}), ...c.headers };
    for (const [k, v] of Object.entries(headers)) if (v === '') delete headers[k];
    const res = await raw(t.url, c.method ?? 'POST', headers, c.method === 'GET' || c.method === 'DELETE' ? undefined : c.body);
    const body = res.body;
    expect([c.status].flat()).toContain(res.status);
    expect(body).toMatch(c.expect);
  });

  it('afterwards: healthy, the original session keeps its computer, nothing leaked, and a normal call works', async () => {
    const ready = await fetch(t.url.replace('/mcp', '/health/ready'));
    expect(ready.status).toBe(200);
    const stats = (await call(client, 'get_session_stats')).structuredContent as { total_sessions: number; pool: { leased: number; waiting: number } };
    // Every computer still open belongs to a live session.
    expect(t.fake.open().length).toBe(stats.pool.leased);
    expect(stats.pool.leased).toBe(stats.total_sessions);
    expect(stats.pool.waiting).toBe(0);
    const shot = await call(client, 'screenshot_cua');
    expect(shot.isError).toBeFalsy();
    expect(textOf(shot)).toMatch(/640x400 PNG/);
  });
});

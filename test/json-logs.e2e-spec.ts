import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { call } from './support/app';
import { ServerProcess, spawnServer } from './support/server-process';

const KEY_A = 'json-logs-key-alice-5f1c2e';
const KEY_B = 'json-logs-key-bob-9a7d3b';
const METRICS_TOKEN = 'json-logs-metrics-token-77';

describe('JSON logs in production (the built server as its own process)', () => {
  let server: ServerProcess | undefined;
  afterEach(() => {
    if (server?.proc.exitCode === null) server.proc.kill('SIGKILL');
  });

  it('every line is a JSON object; tool-call lines carry principal, MCP session and session; no key or token is ever printed', async () => {
    server = await spawnServer({ NODE_ENV: 'production', COMPUTER_PROVIDER: 'fake', POOL_MIN_WARM: '0', API_KEYS: `${KEY_A}:alice,${KEY_B}:bob`, METRICS_TOKEN, LOG_LEVEL: 'debug' });
    const transport = new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers: { Authorization: `Bearer ${KEY_A}` } } });
    const client = new Client({ name: 'json-logs', version: '1.0.0' });
    await client.connect(transport);
    await call(client, 'screenshot_cua', { session_id: 'logged' });
    await call(client, 'run_cua_task', { task: 'hello', session_id: 'logged' });
    const wrong = await fetch(server.url, { method: 'POST', headers: { Authorization: `Bearer ${KEY_B}x`, 'content-type': 'application/json' }, body: '{}' });
    expect(wrong.status).toBe(401);
    expect((await fetch(`${server.base}/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } })).status).toBe(200);
    await client.close();
    server.proc.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);

    const out = server.output();
    const lines = out.split('\n').filter((l) => l.trim());
    expect(lines.length).toBeGreaterThan(5);
    const records = lines.map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON log line: ${l}`);
      }
    });
    for (const r of records) expect(r).toMatchObject({ level: expect.any(String), time: expect.any(String), message: expect.anything() });
    const opened = records.find((r) => typeof r.message === 'string' && r.message.startsWith('Session logged (named) opened for alice'));
    expect(opened).toMatchObject({ principal: 'alice', mcp_session: transport.sessionId, session: 'logged', tool: 'screenshot_cua' });
    expect(records.some((r) => r.principal === 'alice' && r.session === 'logged' && r.tool === 'run_cua_task')).toBe(true);
    for (const secret of [KEY_A, KEY_B, METRICS_TOKEN]) expect(out).not.toContain(secret);
  });
});

import { call, startApp, TestApp } from './support/app';

const TOKEN = 'metrics-token-0123456789';

/** The value of one sample line, e.g. `cua_tool_calls_total{tool="screenshot_cua",outcome="ok"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function scrape(t: TestApp, token?: string) {
  const res = await fetch(t.url.replace(/\/mcp$/, '/metrics'), { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  return { status: res.status, type: res.headers.get('content-type'), auth: res.headers.get('www-authenticate'), text: await res.text() };
}

describe('GET /metrics (Prometheus)', () => {
  let t: TestApp;
  afterEach(async () => t?.close());

  it('shows sessions, tool calls by tool and outcome with durations, pool gauges, warm/cold acquire waits, agent steps and HTTP in flight, moving as tools are called', async () => {
    t = await startApp({ POOL_MIN_WARM: '1', MAX_SESSIONS: '3', SCRIPTED_MODEL_STEPS: '3' });
    const before = await scrape(t);
    expect(before.status).toBe(200);
    expect(before.type).toMatch(/^text\/plain;.*version=0\.0\.4/);
    for (const name of [
      'cua_sessions_active',
      'cua_sessions_created_total',
      'cua_sessions_ended_total',
      'cua_tool_calls_total',
      'cua_tool_call_duration_seconds',
      'cua_pool_size',
      'cua_pool_leased',
      'cua_pool_idle',
      'cua_pool_creating',
      'cua_pool_waiting',
      'cua_pool_acquire_wait_seconds',
      'cua_agent_steps_total',
      'cua_model_request_duration_seconds',
      'cua_http_requests_in_flight',
      'process_cpu_seconds_total',
    ]) {
      expect(before.text).toContain(`# TYPE ${name} `);
    }
    expect(sample(before.text, 'cua_sessions_active')).toBe(0);

    const client = await t.connect();
    await call(client, 'screenshot_cua');
    await call(client, 'screenshot_cua');
    await call(client, 'screenshot_cua', { session_id: 'second' });
    await call(client, 'run_cua_task', { task: 'hello', session_id: 'second' });
    await call(client, 'create_session');
    const limited = await call(client, 'create_session');
    expect(limited.isError).toBe(true);
    await call(client, 'cleanup_session', { session_id: 'second' });

    const after = (await scrape(t)).text;
    expect(sample(after, 'cua_tool_calls_total{tool="screenshot_cua",outcome="ok"}')).toBe(3);
    expect(sample(after, 'cua_tool_calls_total{tool="run_cua_task",outcome="ok"}')).toBe(1);
    expect(sample(after, 'cua_tool_calls_total{tool="create_session",outcome="SESSION_LIMIT"}')).toBe(1);
    expect(sample(after, 'cua_tool_call_duration_seconds_count{tool="screenshot_cua",outcome="ok"}')).toBe(3);
    expect(sample(after, 'cua_tool_call_duration_seconds_bucket{le="+Inf",tool="screenshot_cua",outcome="ok"}')).toBe(3);
    expect(sample(after, 'cua_sessions_created_total{kind="default"}')).toBe(1);
    expect(sample(after, 'cua_sessions_created_total{kind="named"}')).toBe(1);
    expect(sample(after, 'cua_sessions_created_total{kind="minted"}')).toBe(1);
    expect(sample(after, 'cua_sessions_ended_total{reason="cleanup"}')).toBe(1);
    expect(sample(after, 'cua_sessions_active')).toBe(2);
    expect(sample(after, 'cua_pool_leased')).toBe(2);
    expect(sample(after, 'cua_pool_max')).toBe(5);
    expect(sample(after, 'cua_pool_waiting')).toBe(0);
    // The first session took the warm computer; later ones waited for a start or a refill.
    const warm = sample(after, 'cua_pool_acquire_wait_seconds_count{start="warm"}') ?? 0;
    const cold = sample(after, 'cua_pool_acquire_wait_seconds_count{start="cold"}') ?? 0;
    expect(warm).toBeGreaterThanOrEqual(1);
    expect(warm + cold).toBe(3);
    expect(sample(after, 'cua_pool_computers_destroyed_total')).toBe(1);
    expect(sample(after, 'cua_agent_steps_total{provider="scripted"}')).toBe(3);
    expect(sample(after, 'cua_model_request_duration_seconds_count{provider="scripted"}')).toBe(3);
    // The scrape itself is in flight.
    expect(sample(after, 'cua_http_requests_in_flight')).toBeGreaterThanOrEqual(1);
  });

  it('a call whose task failed counts under the error code; a multi-task call only when every task failed', async () => {
    t = await startApp();
    const client = await t.connect();
    expect((await call(client, 'run_cua_task', { task: 'please [fail]' })).isError).toBe(true);
    expect((await call(client, 'run_multi_cua_tasks', { tasks: ['[fail] one', '[fail] two'] })).isError).toBe(true);
    expect((await call(client, 'run_multi_cua_tasks', { tasks: ['[fail] one', 'two'] })).isError).toBeFalsy();
    const text = (await scrape(t)).text;
    expect(sample(text, 'cua_tool_calls_total{tool="run_cua_task",outcome="MODEL_ERROR"}')).toBe(1);
    expect(sample(text, 'cua_tool_calls_total{tool="run_multi_cua_tasks",outcome="MODEL_ERROR"}')).toBe(1);
    expect(sample(text, 'cua_tool_calls_total{tool="run_multi_cua_tasks",outcome="ok"}')).toBe(1);
  });

  it('with METRICS_TOKEN, /metrics needs it as a Bearer token', async () => {
    t = await startApp({ METRICS_TOKEN: TOKEN });
    const none = await scrape(t);
    expect(none.status).toBe(401);
    expect(none.auth).toBe('Bearer');
    expect(none.text).not.toContain('cua_');
    expect((await scrape(t, 'wrong-token-0123456789')).status).toBe(401);
    const ok = await scrape(t, TOKEN);
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('# TYPE cua_tool_calls_total counter');
  });
});

/**
 * Quotas per principal through the real app and the MCP SDK's client, with API-key principals, the scripted model (or
 * a vendor SDK against a local server, for tokens) and a clock the test moves: one principal's task calls are refused
 * over quota with the time to retry while another principal's go on, a task that runs over stops before its next step
 * with the steps it did, the figures show in get_session_stats and /metrics, the refused call's audit line carries
 * QUOTA_EXCEEDED, and the quota is back once its window has passed.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditLine, type AuditLine } from '../src/audit/audit.module';
import { Clock } from '../src/quota/quota.module';
import { SessionService } from '../src/session/session.module';
import { call, startApp, textOf, type TestApp } from './support/app';
import { startRedisServer } from './support/redis-server';
import { anthropic, VendorServer } from './support/vendor-server';
import { waitFor } from './support/wait-for';

const ALICE = 'key-alice-0123456789abcdef';
const BOB = 'key-bob-0123456789abcdef';
const API_KEYS = `${ALICE}:alice,${BOB}:bob`;

/** A clock the test moves by hand, in place of the system's (the quotas' hours and days). */
class MovableClock extends Clock {
  constructor(public t: number) {
    super();
  }
  now() {
    return this.t;
  }
}

/** 2031-05-06T09:59:30.000Z: 30 s before the hour ends. */
const T0 = Date.UTC(2031, 4, 6, 9, 59, 30);

let t: TestApp | undefined;
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'quotas-'));
});
afterEach(async () => {
  await t?.close();
  t = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function start(env: Record<string, string>, clock: MovableClock) {
  t = await startApp({ API_KEYS, AUDIT_LOG: join(dir, 'audit.jsonl'), ...env }, [], [[Clock, clock]]);
  return t;
}

function trail(): AuditLine[] {
  const file = join(dir, 'audit.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => auditLine.parse(JSON.parse(l)));
}

async function scrape(app: TestApp): Promise<string> {
  return (await fetch(app.url.replace(/\/mcp$/, '/metrics'))).text();
}

/** The value of one sample line of /metrics, e.g. `cua_quota_usage{quota="steps",window="hour",principal="alice"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

interface Stats {
  quota: {
    tasks: { running: number; limit: number | null };
    steps: Record<'hour' | 'day', { used: number; limit: number | null; resets_at: string }>;
    tokens: Record<'hour' | 'day', { used: number; limit: number | null; resets_at: string }>;
  };
}

describe('quotas per principal', () => {
  it('steps per hour: a task over quota stops before its next step, the next call is refused with the time to retry, another principal goes on; stats, metrics and the audit trail show it; the next hour it works again', async () => {
    const clock = new MovableClock(T0);
    const app = await start({ QUOTA_STEPS_PER_HOUR: '5', QUOTA_STEPS_PER_DAY: '100', SCRIPTED_MODEL_STEPS: '3' }, clock);
    const alice = await app.connect('quota-e2e', ALICE);
    const bob = await app.connect('quota-e2e', BOB);

    expect(textOf(await call(alice, 'run_cua_task', { task: 'first', session_id: 'desk' }))).toMatch(/^Answer: Done: first$/m);
    // 3 steps used, 2 left: the second task takes two and is stopped before its third.
    const stopped = await call(alice, 'run_cua_task', { task: 'second', session_id: 'desk' });
    expect(stopped.isError).toBe(true);
    expect(textOf(stopped)).toMatch(
      /^Task failed: \[QUOTA_EXCEEDED\] The task was stopped before step 3: You have used 5 of your 5 agent steps this hour \(QUOTA_STEPS_PER_HOUR\)\. Retry after 2031-05-06T10:00:00\.000Z \(in 30 s\), when the hour ends\.\nSteps done before it stopped:\n {2}1\. left_click at \(320, 200\)\n {2}2\. typed "second"$/,
    );

    // A new call is refused before anything: no session opened, no computer leased.
    const computers = app.fake.created.length;
    const refused = await call(alice, 'run_cua_task', { task: 'third', session_id: 'another-desk' });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toBe(
      '[QUOTA_EXCEEDED] You have used 5 of your 5 agent steps this hour (QUOTA_STEPS_PER_HOUR). Retry after 2031-05-06T10:00:00.000Z (in 30 s), when the hour ends.',
    );
    expect(textOf(await call(alice, 'run_multi_cua_tasks', { tasks: ['a', 'b'], session_id: 'another-desk' }))).toMatch(/^\[QUOTA_EXCEEDED\] You have used 5 of your 5 agent steps this hour/);
    expect(app.fake.created.length).toBe(computers);
    expect(((await call(alice, 'list_sessions')).structuredContent as { sessions: { session_id: string }[] }).sessions.map((s) => s.session_id)).toEqual(['desk']);
    // The computer tools are not quota'd: only the agent's steps are.
    expect((await call(alice, 'screenshot_cua', { session_id: 'desk' })).isError).toBeFalsy();

    // Bob's quota is his own.
    expect(textOf(await call(bob, 'run_cua_task', { task: 'bob works' }))).toMatch(/^Answer: Done: bob works$/m);

    const aliceStats = (await call(alice, 'get_session_stats')).structuredContent as unknown as Stats;
    expect(aliceStats.quota).toEqual({
      tasks: { running: 0, limit: null },
      steps: { hour: { used: 5, limit: 5, resets_at: '2031-05-06T10:00:00.000Z' }, day: { used: 5, limit: 100, resets_at: '2031-05-07T00:00:00.000Z' } },
      tokens: { hour: { used: 0, limit: null, resets_at: '2031-05-06T10:00:00.000Z' }, day: { used: 0, limit: null, resets_at: '2031-05-07T00:00:00.000Z' } },
    });
    expect(((await call(bob, 'get_session_stats')).structuredContent as unknown as Stats).quota.steps.hour.used).toBe(3);

    const metrics = await scrape(app);
    expect(sample(metrics, 'cua_quota_usage{quota="steps",window="hour",principal="alice"}')).toBe(5);
    expect(sample(metrics, 'cua_quota_usage{quota="steps",window="hour",principal="bob"}')).toBe(3);
    expect(sample(metrics, 'cua_quota_usage{quota="steps",window="hour",principal="(other)"}')).toBe(0);
    expect(sample(metrics, 'cua_quota_usage{quota="steps",window="day",principal="alice"}')).toBe(5);
    expect(sample(metrics, 'cua_quota_limit{quota="steps",window="hour"}')).toBe(5);
    expect(sample(metrics, 'cua_quota_limit{quota="tokens",window="hour"}')).toBeUndefined();
    expect(sample(metrics, 'cua_quota_exceeded_total{quota="steps",window="hour",stage="stopped"}')).toBe(1);
    expect(sample(metrics, 'cua_quota_exceeded_total{quota="steps",window="hour",stage="refused"}')).toBe(2);
    expect(sample(metrics, 'cua_tool_calls_total{tool="run_cua_task",outcome="QUOTA_EXCEEDED"}')).toBe(2);

    await waitFor('the refused calls in the audit trail', () => trail().filter((l) => l.audit === 'tool_call' && l.outcome === 'QUOTA_EXCEEDED').length === 3);
    const lines = trail().flatMap((l) => (l.audit === 'tool_call' && l.principal === 'alice' && l.tool.startsWith('run_') ? [l] : []));
    expect(lines.map((l) => [l.tool, l.outcome])).toEqual([
      ['run_cua_task', 'ok'],
      ['run_cua_task', 'QUOTA_EXCEEDED'],
      ['run_cua_task', 'QUOTA_EXCEEDED'],
      ['run_multi_cua_tasks', 'QUOTA_EXCEEDED'],
    ]);
    expect(lines[2]).toMatchObject({ session: 'another-desk', args: { task: 'third' } });

    // The hour passes: alice's steps are hers again, the day's count goes on.
    clock.t = Date.UTC(2031, 4, 6, 10);
    expect(textOf(await call(alice, 'run_cua_task', { task: 'fourth', session_id: 'desk' }))).toMatch(/^Answer: Done: fourth$/m);
    const later = ((await call(alice, 'get_session_stats')).structuredContent as unknown as Stats).quota.steps;
    expect(later).toEqual({ hour: { used: 3, limit: 5, resets_at: '2031-05-06T11:00:00.000Z' }, day: { used: 8, limit: 100, resets_at: '2031-05-07T00:00:00.000Z' } });
  });

  it('agent tasks at once: a principal\'s call beyond MAX_TASKS_PER_PRINCIPAL is refused while its task runs, another principal\'s is not, and once the task ends the next call is admitted', async () => {
    const clock = new MovableClock(T0);
    const app = await start({ MAX_TASKS_PER_PRINCIPAL: '1', MAX_COMPUTERS_PER_PRINCIPAL: '4', SCRIPTED_MODEL_STEPS: '2' }, clock);
    const alice = await app.connect('quota-e2e', ALICE);
    const bob = await app.connect('quota-e2e', BOB);
    // A person holds alice's desktop in the live view: her task waits there, running, until control is handed back.
    await call(alice, 'screenshot_cua', { session_id: 'desk' });
    const desk = app.app.get(SessionService).get('alice', 'desk')!;
    desk.control.take('carol (live view)');
    const held = call(alice, 'run_cua_task', { task: 'held task', session_id: 'desk' });
    await waitFor('alice\'s task to run', async () => ((await call(alice, 'get_session_stats')).structuredContent as unknown as Stats).quota.tasks.running === 1);

    const refused = await call(alice, 'run_cua_task', { task: 'one more', session_id: 'other' });
    expect(textOf(refused)).toBe(
      '[QUOTA_EXCEEDED] You have 1 agent task(s) running, and one principal may run at most 1 at once (MAX_TASKS_PER_PRINCIPAL=1); this call needs 1 more. ' +
        'Retry when one of your tasks has finished (get_session_stats shows how many run), or cancel one.',
    );
    // Bob may run one at a time; a call of his that runs two at once is more than he may ever run at once.
    expect(textOf(await call(bob, 'run_multi_cua_tasks', { tasks: ['x', 'y'], concurrent: true }))).toMatch(
      /^\[QUOTA_EXCEEDED\] You have 0 agent task\(s\) running, .*this call needs 2 more\. A call with concurrent=true runs all its tasks at once: send at most 1 per call, or use concurrent=false/,
    );
    expect(textOf(await call(bob, 'run_multi_cua_tasks', { tasks: ['x', 'y'], concurrent: false }))).toMatch(/^2 of 2 tasks succeeded/);

    const metrics = await scrape(app);
    expect(sample(metrics, 'cua_agent_tasks_running{principal="alice"}')).toBe(1);
    expect(sample(metrics, 'cua_agent_tasks_running{principal="(other)"}')).toBe(0);
    expect(sample(metrics, 'cua_quota_limit{quota="tasks",window="concurrent"}')).toBe(1);
    expect(sample(metrics, 'cua_quota_exceeded_total{quota="tasks",window="concurrent",stage="refused"}')).toBe(2);

    desk.control.release();
    expect(textOf(await held)).toMatch(/^Answer: Done: held task$/m);
    // Its place was freed before its answer was sent.
    expect(textOf(await call(alice, 'run_cua_task', { task: 'next', session_id: 'other' }))).toMatch(/^Answer: Done: next$/m);
    expect(((await call(alice, 'get_session_stats')).structuredContent as unknown as Stats).quota.tasks).toEqual({ running: 0, limit: 1 });
  });

  it('model tokens per hour, as the vendor reports them: the task stops before the step after the one that went over, and the next call says how many were used', async () => {
    const vendor = await VendorServer.start();
    try {
      const clock = new MovableClock(T0);
      const app = await start(
        { CUA_MODEL_NAME: 'anthropic/claude-sonnet-5-5', ANTHROPIC_API_KEY: 'sk-test-0123456789abcdef', ANTHROPIC_BASE_URL: vendor.url, QUOTA_TOKENS_PER_HOUR: '300' },
        clock,
      );
      vendor.reply(anthropic.toolset([{ name: 'left_click', input: { coordinate: [10, 10] } }], 'One.', [200, 40]), anthropic.toolset([{ name: 'type', input: { text: 'hi' } }], 'Two.', [200, 40]));
      const alice = await app.connect('quota-e2e', ALICE);
      const stopped = await call(alice, 'run_cua_task', { task: 'click and type' });
      expect(textOf(stopped)).toMatch(/^Task failed: \[QUOTA_EXCEEDED\] The task was stopped before step 3: You have used 480 of your 300 model tokens \(input \+ output\) this hour \(QUOTA_TOKENS_PER_HOUR\)\. Retry after 2031-05-06T10:00:00\.000Z \(in 30 s\)/);
      expect(textOf(stopped)).toMatch(/Usage: 400 input \+ 80 output tokens\./);
      expect(vendor.received).toHaveLength(2);
      expect(textOf(await call(alice, 'run_cua_task', { task: 'again' }))).toMatch(/^\[QUOTA_EXCEEDED\] You have used 480 of your 300 model tokens/);
      expect(vendor.received).toHaveLength(2);
      expect(((await call(alice, 'get_session_stats')).structuredContent as unknown as Stats).quota.tokens.hour).toEqual({ used: 480, limit: 300, resets_at: '2031-05-06T10:00:00.000Z' });
    } finally {
      await t?.close();
      t = undefined;
      await vendor.close();
    }
  });

  it('with REDIS_URL the quotas hold across replicas: steps used on one count on the other, and each reports every principal\'s figures', async () => {
    const redis = await startRedisServer();
    const clock = new MovableClock(T0);
    const env = { REDIS_URL: redis.url, API_KEYS, QUOTA_STEPS_PER_HOUR: '4', SCRIPTED_MODEL_STEPS: '3' };
    let a: TestApp | undefined;
    let b: TestApp | undefined;
    try {
      a = await startApp({ ...env, REPLICA_ID: 'replica-a' }, [], [[Clock, clock]]);
      b = await startApp({ ...env, REPLICA_ID: 'replica-b' }, [], [[Clock, clock]]);
      const aliceOnA = await a.connect('quota-e2e', ALICE);
      const aliceOnB = await b.connect('quota-e2e', ALICE);
      const bobOnB = await b.connect('quota-e2e', BOB);
      expect(textOf(await call(aliceOnA, 'run_cua_task', { task: 'on a' }))).toMatch(/^Answer: Done: on a$/m);
      // One step left, counted on A: the task on B does one and stops; the next call on B is refused.
      expect(textOf(await call(aliceOnB, 'run_cua_task', { task: 'on b' }))).toMatch(/^Task failed: \[QUOTA_EXCEEDED\] The task was stopped before step 2: You have used 4 of your 4 agent steps this hour/);
      expect(textOf(await call(aliceOnB, 'run_cua_task', { task: 'again on b' }))).toMatch(/^\[QUOTA_EXCEEDED\] You have used 4 of your 4 agent steps this hour \(QUOTA_STEPS_PER_HOUR\)\. Retry after 2031-05-06T10:00:00\.000Z \(in 30 s\)/);
      expect(textOf(await call(bobOnB, 'run_cua_task', { task: 'bob on b' }))).toMatch(/^Answer: Done: bob on b$/m);
      for (const app of [a, b]) {
        const metrics = await scrape(app);
        expect(sample(metrics, 'cua_quota_usage{quota="steps",window="hour",principal="alice"}')).toBe(4);
        expect(sample(metrics, 'cua_quota_usage{quota="steps",window="hour",principal="bob"}')).toBe(3);
      }
      expect(((await call(aliceOnA, 'get_session_stats')).structuredContent as unknown as Stats).quota.steps.hour).toEqual({ used: 4, limit: 4, resets_at: '2031-05-06T10:00:00.000Z' });
      clock.t = Date.UTC(2031, 4, 6, 10);
      expect(textOf(await call(aliceOnB, 'run_cua_task', { task: 'next hour' }))).toMatch(/^Answer: Done: next hour$/m);
    } finally {
      await b?.close();
      await a?.close();
      await redis.stop();
    }
  });
});

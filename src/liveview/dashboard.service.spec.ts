import { EventEmitter } from 'node:events';
import type { StepRecord } from '../agent/agent.module';
import type { ClusterListener, ClusterProxy, ThisReplica } from '../cluster/cluster.module';
import { Session, SessionService } from '../session/session.module';
import type { TaskEvents, TaskService } from '../task/task.module';
import { ACTIONS_KEPT, DashboardService } from './dashboard.service';
import type { LiveViewService } from './liveview.service';
import type { LiveViewSettings } from './liveview.settings';
import type { Thumbnails } from './thumbnails';
import { ViewGrants } from './view-grants';

const T0 = Date.parse('2026-12-07T10:00:00Z');
const step = (n: number, actions: string[], statuses: ('ok' | 'error' | 'skipped')[] = actions.map(() => 'ok')): StepRecord =>
  ({ step: n, actions: actions.map((action) => ({ action })), results: [], outcomes: statuses.map((status) => ({ status, text: 'typed "hunter2"' })), modelMs: 40 }) as unknown as StepRecord;

/** One replica on its own: no forwarding, no other replicas to ask. */
const noCluster = { enabled: false, pin: async () => undefined } as unknown as ClusterProxy;
const noListener = { enabled: false } as unknown as ClusterListener;

describe(DashboardService.name, () => {
  const settings = { enabled: true, tokenTtlMs: 60_000, grantTtlMs: 3_600_000 } as LiveViewSettings;
  let sessions: Session[];
  let tasks: EventEmitter<TaskEvents>;
  let grants: ViewGrants;
  let sut: DashboardService;

  beforeEach(() => {
    sessions = [new Session('a1', 'alice', 'named', 60_000, 120_000, T0), new Session('a1', 'bob', 'named', 60_000, 120_000, T0)];
    tasks = new EventEmitter<TaskEvents>();
    grants = new ViewGrants(settings.tokenTtlMs, settings.grantTtlMs);
    const liveView = { grants, baseUrl: () => 'https://computers.example.com', viewerCount: () => 0 } as unknown as LiveViewService;
    const sessionService = { list: (principal: string) => sessions.filter((s) => s.principal === principal && !s.ended) } as unknown as SessionService;
    sut = new DashboardService(settings, sessionService, { events: tasks } as unknown as TaskService, liveView, {} as Thumbnails, noCluster, noListener, {} as ThisReplica);
    sut.onModuleInit();
  });

  const dashboardOf = (principal: string) => {
    const { token, dashboardId } = grants.issueDashboard(principal);
    return grants.redeemDashboard(dashboardId, token)!;
  };

  it('gives a one-time link to the principal\'s own dashboard', async () => {
    const { url, expiresAt } = await sut.link('alice', { recordings: true });
    expect(url).toMatch(new RegExp(`^https://computers\\.example\\.com/live/dashboard/${grants.dashboardIdOf('alice')}/\\?token=[A-Za-z0-9_-]{43}$`));
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(60_000);
  });

  it('lists the grant\'s principal\'s sessions alone, and finds only those by view id', async () => {
    const [mine, his] = sessions;
    const alice = dashboardOf('alice');
    expect(await sut.state(alice)).toMatchObject({ principal: 'alice', sessions: [{ session_id: 'a1', view_id: grants.viewIdOf(mine), live_view: false, computer: null }] });
    expect(sut.sessionOf(alice, grants.viewIdOf(mine))).toBe(mine);
    expect(sut.sessionOf(alice, grants.viewIdOf(his))).toBeUndefined();
  });

  it('keeps the last actions of each session, newest first: tool calls, and the agent\'s steps by the names of their actions only', async () => {
    const [mine, his] = sessions;
    sut.noteToolCall(mine, { tool: 'computer', outcome: 'ok', durationMs: 12 }, T0);
    tasks.emit('step', { session: mine, task: 0, computerId: 'c1', step: step(1, ['left_click']), maxSteps: 10, startedAt: T0, durationMs: 50 });
    tasks.emit('step', { session: mine, task: 1, computerId: 'c2', step: step(2, ['type', 'key'], ['error', 'skipped']), maxSteps: 10, startedAt: T0, durationMs: 50 });
    tasks.emit('step', { session: mine, task: 0, computerId: 'c1', step: step(3, ['zoom'], ['skipped']), maxSteps: 10, startedAt: T0, durationMs: 50 });
    tasks.emit('step', { session: mine, task: 0, computerId: 'c1', step: step(4, []), maxSteps: 10, startedAt: T0, durationMs: 50 });
    sut.noteToolCall(his, { tool: 'run_command', outcome: 'SESSION_UNDER_HUMAN_CONTROL', durationMs: 1 }, T0);

    const [shown] = (await sut.state(dashboardOf('alice'))).sessions;
    expect(shown.actions.map(({ by, action, outcome }) => `${by} ${action} ${outcome}`)).toEqual([
      'agent step 4: no action ok',
      'agent step 3: zoom 1 not run',
      'agent task 2, step 2: type, key 1 failed',
      'agent step 1: left_click ok',
      'tool computer ok',
    ]);
    expect(shown.actions.at(-1)).toEqual({ at: new Date(T0).toISOString(), by: 'tool', action: 'computer', outcome: 'ok', duration_ms: 12 });
    expect(JSON.stringify(shown)).not.toContain('hunter2');
    expect((await sut.state(dashboardOf('bob'))).sessions[0].actions.map((a) => a.action)).toEqual(['run_command']);
  });

  it(`keeps ${ACTIONS_KEPT} actions per session, and cuts long ones`, async () => {
    const [mine] = sessions;
    for (let i = 1; i <= ACTIONS_KEPT + 5; i++) sut.noteToolCall(mine, { tool: `tool_${i}`, outcome: 'ok', durationMs: 1 });
    tasks.emit('step', { session: mine, task: 0, computerId: 'c1', step: step(1, Array.from({ length: 40 }, () => 'left_click')), maxSteps: 10, startedAt: T0, durationMs: 50 });
    const { actions } = (await sut.state(dashboardOf('alice'))).sessions[0];
    expect(actions).toHaveLength(ACTIONS_KEPT);
    expect(actions[0].action).toHaveLength(120);
    expect(actions[0].action.endsWith('…')).toBe(true);
    expect(actions.at(-1)!.action).toBe('tool_7');
  });

  it('is switched off with the live view', async () => {
    const off = new DashboardService({ ...settings, enabled: false }, {} as SessionService, { events: tasks } as unknown as TaskService, {} as LiveViewService, {} as Thumbnails, noCluster, noListener, {} as ThisReplica);
    await expect(off.link('alice', { recordings: true })).rejects.toThrow(/LIVE_VIEW=false/);
  });
});

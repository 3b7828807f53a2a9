import { Test } from '@nestjs/testing';
import { InMemoryQuotaLedger, InMemoryReplicaDirectory, InMemorySessionRegistry, QuotaLedger, ReplicaDirectory, SessionRegistry, ThisReplica } from '../cluster/cluster.module';
import { waitFor } from '../../test/support/wait-for';
import { AgentResult, AgentRunOptions, AgentService, AgentTaskError, StepRecord } from '../agent/agent.module';
import { abortReason, DomainError, DomainErrorCode } from '../common/domain-error';
import { ConfigModule, Settings } from '../config/config.module';
import { COMPUTER_SETTINGS } from '../computer/computer.settings';
import { Computer, ComputerProviderRegistry, FakeComputer, ScreenshotService } from '../computer/computer.module';
import { DrainState } from '../lifecycle/lifecycle.module';
import { ComputerPool } from '../pool/pool.module';
import { Clock, QuotaService, SystemClock, TaskAdmission } from '../quota/quota.module';
import { SessionService } from '../session/session.module';
import { ProgrammableFakeProvider } from '../../test/support/fake-provider';
import { TaskFailedError } from './task.errors';
import { TaskOutcome, TaskPauseEvent, TaskResumeEvent, TaskService, TaskStepDoneEvent, TaskStepEvent } from './task.service';

const step = (n: number, result: string): StepRecord => ({ step: n, actions: [{ action: 'type', text: result }], results: [result], outcomes: [] });

/**
 * A FAKE agent: what it does depends on the task's words. "fail" stops with MODEL_ERROR after one step,
 * "die" kills its computer and stops with COMPUTER_FAILED, "hold" waits until the test lets it go (or it is
 * aborted), "crash" throws a plain Error; anything else types the task on the computer and answers.
 * Strict: any other use of it fails the test.
 */
class FakeAgent {
  readonly runs: { task: string; computer: string }[] = [];
  /** The turn gate each run was given, in order of start. */
  readonly gates: AgentRunOptions['gate'][] = [];
  /** Tasks between their start and their end, and the most there ever were at once. */
  active = 0;
  mostAtOnce = 0;
  private readonly held: (() => void)[] = [];

  resolveModel(requested?: string): string {
    if (requested !== undefined && requested !== 'test/m') throw new DomainError(DomainErrorCode.INVALID_ARGUMENT, `model "${requested}" is not allowed`);
    return 'test/m';
  }

  /** Lets every held task finish. */
  release() {
    for (const go of this.held.splice(0)) go();
  }

  heldCount() {
    return this.held.length;
  }

  async run(task: string, computer: Computer, options: AgentRunOptions): Promise<AgentResult> {
    this.runs.push({ task, computer: computer.id });
    this.gates.push(options.gate);
    this.active++;
    this.mostAtOnce = Math.max(this.mostAtOnce, this.active);
    try {
      const first = step(1, `typed ${task}`);
      if (options.gate?.heldBy !== undefined) {
        // As the real agent: wait for the turn before touching the computer, saying so.
        options.onPause?.(options.gate.heldBy, 1);
        await options.gate.agentTurn(options.signal);
        options.onResume?.(1234, 1);
      }
      await computer.typeText(task);
      options.onStep?.(first, 5);
      if (task.includes('hold')) {
        await new Promise<void>((resolve, reject) => {
          this.held.push(resolve);
          options.signal.addEventListener('abort', () => reject(abortReason(options.signal, 'The task')), { once: true });
        });
      }
      if (task.includes('crash')) throw new Error('a bug in a model provider');
      if (task.includes('fail') || task.includes('die')) {
        if (task.includes('die')) (computer as FakeComputer).kill();
        const code = task.includes('die') ? DomainErrorCode.COMPUTER_FAILED : DomainErrorCode.MODEL_ERROR;
        const reason = new DomainError(code, task.includes('die') ? 'the desktop went away' : 'the model said no');
        throw new AgentTaskError(reason, reason.message, [first], { inputTokens: 10, outputTokens: 2 }, 'traj-1', undefined);
      }
      const screenshot = await new ScreenshotService(Settings.load({}).get(COMPUTER_SETTINGS)).take(computer);
      return { answer: `did ${task}`, model: 'test/m', steps: [first], usage: { inputTokens: 10, outputTokens: 2 }, screenshot };
    } finally {
      this.active--;
    }
  }
}

async function setup(env: Record<string, string> = {}) {
  const config = Settings.load({ COMPUTER_PROVIDER: 'fake', POOL_MAX_SIZE: '6', POOL_MIN_WARM: '0', MAX_SESSIONS: '6', POOL_ACQUIRE_TIMEOUT_MS: '300', ...env });
  const provider = new ProgrammableFakeProvider();
  const agent = new FakeAgent();
  const moduleRef = await Test.createTestingModule({
    imports: [ConfigModule.forRoot(config)],
    providers: [
      TaskService,
      SessionService,
      { provide: SessionRegistry, useClass: InMemorySessionRegistry },
      { provide: ReplicaDirectory, useClass: InMemoryReplicaDirectory },
      ThisReplica,
      ComputerPool,
      DrainState,
      ScreenshotService,
      { provide: ComputerProviderRegistry, useValue: { create: (o: { signal?: AbortSignal }) => provider.create(o), capacity: () => undefined, handleOf: () => undefined } },
      { provide: AgentService, useValue: agent },
      QuotaService,
      { provide: QuotaLedger, useClass: InMemoryQuotaLedger },
      { provide: Clock, useClass: SystemClock },
    ],
  }).compile();
  await moduleRef.init();
  // The tests below that are not about quotas run with an admission that holds no places.
  admission = new TaskAdmission('alice', [], moduleRef.get(QuotaService), 1_000);
  const sessions = moduleRef.get(SessionService);
  const session = await sessions.resolve({ principal: 'alice', sessionId: 'work', connectionId: 'c1' });
  return { sut: moduleRef.get(TaskService), sessions, session, pool: moduleRef.get(ComputerPool), quotas: moduleRef.get(QuotaService), provider, agent, close: () => moduleRef.close() };
}

type Setup = Awaited<ReturnType<typeof setup>>;
let admission: TaskAdmission;
const options = (signal = new AbortController().signal) => ({ signal, model: 'test/m', admission });
const failure = (o: TaskOutcome) => (o.ok ? undefined : o.error);

describe(TaskService.name, () => {
  let t: Setup | undefined;
  afterEach(async () => {
    t?.agent.release();
    await t?.close();
    t = undefined;
  });

  it('resolveModel refuses a model that is not allowed, before anything is leased', async () => {
    t = await setup();
    expect(t.sut.resolveModel()).toBe('test/m');
    expect(() => t!.sut.resolveModel('other/x')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(t.provider.created).toHaveLength(1);
  });

  describe('runOne', () => {
    it("runs the task on the session's computer and reports each step with that computer (to the caller, and as an event with the session)", async () => {
      t = await setup();
      const steps: TaskStepEvent[] = [];
      const events: TaskStepDoneEvent[] = [];
      t.sut.events.on('step', (e) => events.push(e));
      const before = Date.now();
      const report = await t.sut.runOne(t.session, 'hello', { ...options(), onStep: (e) => steps.push(e) });
      const computer = t.provider.created[0];
      expect(report).toMatchObject({ sessionId: 'work', computerId: computer.id, result: { answer: 'did hello' } });
      expect(steps).toEqual([{ task: 0, computerId: computer.id, step: expect.objectContaining({ step: 1 }), maxSteps: 5 }]);
      expect(events).toEqual([{ ...steps[0], session: t.session, startedAt: expect.any(Number), durationMs: expect.any(Number) }]);
      expect(events[0].startedAt).toBeGreaterThanOrEqual(before);
      expect(events[0].startedAt + events[0].durationMs).toBeLessThanOrEqual(Date.now());
      expect(t.session.tasks.size).toBe(0);
    });

    it('a failed task throws TaskFailedError with its code, the steps done, the tokens, the trajectory and the screen as it was left', async () => {
      t = await setup();
      const err = await t.sut.runOne(t.session, 'please fail', options()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TaskFailedError);
      const failed = err as TaskFailedError;
      expect(failed).toMatchObject({ code: 'MODEL_ERROR', message: 'the model said no', stage: 'ran', sessionId: 'work', trajectoryId: 'traj-1', usage: { inputTokens: 10, outputTokens: 2 } });
      expect(failed.steps.map((s) => s.results)).toEqual([['typed please fail']]);
      expect(failed.screenshot).toMatchObject({ mimeType: 'image/png', width: 64, height: 48 });
    });

    it('a computer that died under the task: COMPUTER_FAILED without a screenshot, and the next task gets a fresh computer', async () => {
      t = await setup();
      const err = (await t.sut.runOne(t.session, 'die now', options()).catch((e: unknown) => e)) as TaskFailedError;
      expect(err).toMatchObject({ code: 'COMPUTER_FAILED', screenshot: undefined });
      expect(t.pool.stats().leased).toBe(0);
      const next = await t.sut.runOne(t.session, 'again', options());
      expect(next.computerId).toBe(t.provider.created[1].id);
      expect(t.agent.runs.map((r) => r.computer)).toEqual([t.provider.created[0].id, t.provider.created[1].id]);
    });

    it('an unexpected error becomes INTERNAL, still with the screen as it was left', async () => {
      t = await setup();
      await expect(t.sut.runOne(t.session, 'crash', options())).rejects.toMatchObject({ code: 'INTERNAL', message: 'a bug in a model provider', screenshot: expect.anything() });
    });
  });

  describe('runMany', () => {
    it("one after another on the session's computer; a failed task does not stop the rest; outcomes in input order", async () => {
      t = await setup();
      const done: number[] = [];
      const outcomes = await t.sut.runMany(t.session, ['one', 'then fail', 'three'], { ...options(), concurrent: false, onTaskDone: (i) => done.push(i) });
      expect(outcomes.map((o) => o.ok)).toEqual([true, false, true]);
      expect(failure(outcomes[1])).toMatchObject({ code: 'MODEL_ERROR', stage: 'ran' });
      expect(done).toEqual([0, 1, 2]);
      expect(t.agent.mostAtOnce).toBe(1);
      expect(new Set(t.agent.runs.map((r) => r.computer))).toEqual(new Set([t.provider.created[0].id]));
      expect(t.provider.created).toHaveLength(1);
    });

    it('in sequence, a task after one whose computer died runs on a fresh computer', async () => {
      t = await setup();
      const outcomes = await t.sut.runMany(t.session, ['die first', 'second'], { ...options(), concurrent: false });
      expect(outcomes.map((o) => o.ok)).toEqual([false, true]);
      expect(t.agent.runs.map((r) => r.computer)).toEqual([t.provider.created[0].id, t.provider.created[1].id]);
    });

    it('in sequence, tasks after the call is cancelled do not start', async () => {
      t = await setup();
      const ac = new AbortController();
      const running = t.sut.runMany(t.session, ['hold on', 'never'], { ...options(ac.signal), concurrent: false });
      await waitFor('one task to hold its model call', () => t!.agent.heldCount() === 1, 3000);
      ac.abort(new DomainError(DomainErrorCode.CANCELLED, 'The client cancelled the call.'));
      const outcomes = await running;
      expect(outcomes.map(failure)).toMatchObject([
        { code: 'CANCELLED', stage: 'ran' },
        { code: 'CANCELLED', stage: 'not-started', message: 'The client cancelled the call.' },
      ]);
      expect(t.agent.runs.map((r) => r.task)).toEqual(['hold on']);
    });

    it('concurrently, each task on a computer of its own at the same time; the extra computers are returned afterwards', async () => {
      t = await setup({ MAX_COMPUTERS_PER_PRINCIPAL: '4' });
      const running = t.sut.runMany(t.session, ['hold a', 'hold b', 'hold c'], { ...options(), concurrent: true });
      await waitFor('three tasks to hold their model calls', () => t!.agent.heldCount() === 3, 3000);
      expect(t.pool.stats().leased).toBe(3);
      expect(t.pool.roomFor('alice')).toBe(1);
      t.agent.release();
      const outcomes = await running;
      expect(outcomes.map((o) => o.ok && o.report.computerId)).toEqual([t.provider.created[0].id, expect.any(String), expect.any(String)]);
      expect(new Set(outcomes.map((o) => o.ok && o.report.computerId)).size).toBe(3);
      expect(t.agent.mostAtOnce).toBe(3);
      expect(t.pool.stats().leased).toBe(1);
      expect(t.provider.open()).toEqual([t.provider.created[0]]);
    });

    it('concurrently, a call needing more computers than the principal may take is refused before any task runs', async () => {
      t = await setup({ MAX_COMPUTERS_PER_PRINCIPAL: '2' });
      const onStart = jest.fn();
      const refused = t.sut.runMany(t.session, ['a', 'b', 'c'], { ...options(), concurrent: true, onStart });
      await expect(refused).rejects.toMatchObject({ code: 'SESSION_LIMIT', tasks: 3, room: 1, max: 2, message: expect.stringMatching(/at most 2 task\(s\) per concurrent call/) });
      expect(onStart).not.toHaveBeenCalled();
      expect(t.agent.runs).toEqual([]);
    });

    it('concurrently, a task that cannot get a computer fails on its own; the others finish', async () => {
      t = await setup({ POOL_MAX_SIZE: '2', POOL_ACQUIRE_TIMEOUT_MS: '100' });
      // The first two hold both computers the pool may have until the third has given up waiting.
      const agent = t.agent;
      const onTaskDone = (_i: number, o: TaskOutcome) => !o.ok && agent.release();
      const outcomes = await t.sut.runMany(t.session, ['hold a', 'hold b', 'hold c'], { ...options(), concurrent: true, onTaskDone });
      expect(outcomes.map((o) => o.ok)).toEqual([true, true, false]);
      expect(outcomes.map(failure).filter(Boolean)).toEqual([expect.objectContaining({ code: 'POOL_EXHAUSTED', stage: 'no-computer' })]);
      expect(t.pool.stats().leased).toBe(1);
    });
  });

  describe('quotas (MAX_TASKS_PER_PRINCIPAL)', () => {
    const running = async (p: string) => (await t!.quotas.figures(p)).tasks.running;

    it('a call of tasks at once holds a place per task, each freed as its task ends; beyond the limit a call is refused before anything runs', async () => {
      t = await setup({ MAX_TASKS_PER_PRINCIPAL: '3', MAX_COMPUTERS_PER_PRINCIPAL: '6' });
      const call = await t.sut.admit('alice', 3, true);
      expect(await running('alice')).toBe(3);
      const refused = await t.sut.admit('alice', 1, false).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'QUOTA_EXCEEDED', quota: 'tasks', used: 3, limit: 3, retryAt: undefined });
      expect((refused as Error).message).toBe(
        'You have 3 agent task(s) running, and one principal may run at most 3 at once (MAX_TASKS_PER_PRINCIPAL=3); this call needs 1 more. ' +
          'Retry when one of your tasks has finished (get_session_stats shows how many run), or cancel one.',
      );
      // Another principal is not held back.
      await (await t.sut.admit('bob', 3, true)).close();

      const outcomes = t.sut.runMany(t.session, ['hold a', 'hold b', 'quick'], { ...options(), admission: call, concurrent: true });
      await waitFor('the quick task to free its place', async () => (await running('alice')) === 2);
      const next = await t.sut.admit('alice', 1, false);
      expect(await running('alice')).toBe(3);
      t.agent.release();
      expect((await outcomes).every((o) => o.ok)).toBe(true);
      await call.close();
      expect(await running('alice')).toBe(1);
      await next.close();
      await next.close();
      expect(await running('alice')).toBe(0);
    });

    it('a call of tasks in turn holds one place; a call that wants more tasks at once than the limit says to send fewer', async () => {
      t = await setup({ MAX_TASKS_PER_PRINCIPAL: '2' });
      const inTurn = await t.sut.admit('alice', 5, false);
      expect(await running('alice')).toBe(1);
      await expect(t.sut.admit('alice', 3, true)).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED', message: expect.stringMatching(/this call needs 3 more\. A call with concurrent=true runs all its tasks at once: send at most 2 per call, or use concurrent=false/) });
      await inTurn.close();
    });
  });

  describe('while a person controls the session\'s desktop', () => {
    it("a task on the session's computer waits its turn (the session's control is its gate) and reports pause and resume; tasks on extra computers do not wait", async () => {
      t = await setup({ MAX_COMPUTERS_PER_PRINCIPAL: '4' });
      t.session.control.take('alice (live view)');
      const paused: TaskPauseEvent[] = [];
      const resumed: TaskResumeEvent[] = [];
      const running = t.sut.runMany(t.session, ['a', 'b'], { ...options(), concurrent: true, onPause: (e) => paused.push(e), onResume: (e) => resumed.push(e) });
      await waitFor('the task on the session computer to pause', () => paused.length === 1 && t!.agent.runs.length === 2, 3000);
      const computer = t.provider.created[0];
      expect(paused).toEqual([{ task: 0, computerId: computer.id, step: 1, heldBy: 'alice (live view)' }]);
      expect(t.agent.gates).toEqual([t.session.control, undefined]);
      t.session.control.release();
      const outcomes = await running;
      expect(outcomes.every((o) => o.ok)).toBe(true);
      expect(resumed).toEqual([{ task: 0, computerId: computer.id, step: 1, pausedMs: 1234 }]);
    });
  });
});

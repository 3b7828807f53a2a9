// Every built-in feature's settings are declared (by importing the app), as in the server: the redactor knows every secret.
import '../app.module';
import { Injectable, Logger } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { Test } from '@nestjs/testing';
import { SpanStatusCode } from '@opentelemetry/api';
import sharp from 'sharp';
import { ConfigModule, Settings } from '../config/config.module';
import { ComputerModule, decodeFakeText, FakeComputer, FakeComputerModule } from '../computer/computer.module';
import { AgentModule } from './agent.module';
import { AgentTaskError } from './agent.errors';
import { AgentService } from './agent.service';
import { RegisterModelProvider } from './model-provider.registry';
import { CuaModel, ModelCallError, ModelInput, ModelProvider, ModelTurn, NOT_EXECUTED, ScreenshotSize, StepRecord, TAKEN_OVER } from './model.port';
import { HumanControl } from '../session/session.module';
import { ScriptedModelModule } from './scripted/scripted-model.module';
import { waitFor } from '../../test/support/wait-for';
import { sleep } from '../common/async';
import { DomainError, DomainErrorCode } from '../common/domain-error';
import { Tracing } from '../tracing/tracing.module';
import { isChildOf, memoryTracing } from '../../test/support/memory-tracing';

type Next = (input: ModelInput, signal: AbortSignal) => Promise<ModelTurn>;

/** CUA_MODEL_NAME=test/<x>: a model whose every turn the test decides. */
@Injectable()
@RegisterModelProvider()
class TestModelProvider extends ModelProvider {
  readonly name = 'test';
  next: Next = () => Promise.reject(new Error('unexpected model call'));
  size?: ScreenshotSize;
  create(model: string): CuaModel {
    const next = (i: ModelInput, s: AbortSignal) => this.next(i, s);
    const screenshotSize = this.size;
    return new (class extends CuaModel {
      readonly name = `test/${model}`;
      override readonly screenshotSize = screenshotSize;
      next = next;
    })();
  }
}

async function setup(env: Record<string, string> = {}, tracing?: Tracing) {
  const config = Settings.load({ COMPUTER_PROVIDER: 'fake', CUA_MODEL_NAME: 'scripted/test', AGENT_ALLOWED_MODELS: 'test/m', ...env });
  let builder = Test.createTestingModule({
    imports: [ConfigModule.forRoot(config), ScheduleModule.forRoot(), ComputerModule, FakeComputerModule, AgentModule, ScriptedModelModule],
    providers: [TestModelProvider],
  });
  if (tracing) builder = builder.overrideProvider(Tracing).useValue(tracing);
  const moduleRef = await builder.compile();
  await moduleRef.init(); // registries discover providers on init
  return { sut: moduleRef.get(AgentService), model: moduleRef.get(TestModelProvider) };
}

const click = (x: number, y: number): ModelTurn => ({ actions: [{ action: 'left_click', coordinate: [x, y] }], usage: { inputTokens: 100, outputTokens: 10 } });
const answer = (text: string): ModelTurn => ({ actions: [], done: { answer: text }, usage: { inputTokens: 100, outputTokens: 10 } });
const actionsOf = (c: FakeComputer) => c.log.filter((l) => !['capture', 'screenSize'].includes(l));


describe(AgentService.name, () => {
  const computer = (width = 320, height = 200) => new FakeComputer('agent-spec', { width, height });
  const run = (sut: AgentService, c: FakeComputer, extra: Partial<Parameters<AgentService['run']>[2]> = {}) =>
    sut.run('the task', c, { signal: new AbortController().signal, modelName: 'test/m', ...extra });
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('runs the scripted loop with real actions: the task text shows on the screen', async () => {
    const { sut } = await setup();
    const c = computer();
    const steps: StepRecord[] = [];
    const r = await sut.run('open the files', c, { signal: new AbortController().signal, onStep: (s) => steps.push(s) });
    expect(r.answer).toBe('Done: open the files');
    expect(steps.map((s) => s.actions.map((a) => a.action))).toEqual([['left_click'], ['type'], ['key'], []]);
    const raw = await sharp(r.screenshot.data).raw().toBuffer();
    expect(decodeFakeText(raw, 320, 200)).toBe('open the files\n');
  });

  it('a "[fail]" task fails with MODEL_ERROR', async () => {
    const { sut } = await setup();
    await expect(sut.run('please [fail]', computer(), { signal: new AbortController().signal })).rejects.toMatchObject({ code: 'MODEL_ERROR' });
  });

  it('stops at the step limit with AGENT_STEP_LIMIT and keeps the steps done', async () => {
    const { sut } = await setup({ SCRIPTED_MODEL_STEPS: '10' });
    const err = await sut.run('long', computer(), { signal: new AbortController().signal, maxSteps: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentTaskError);
    expect(err).toMatchObject({ code: 'AGENT_STEP_LIMIT' });
    expect((err as AgentTaskError).steps).toHaveLength(3);
  });

  it('cancellation stops the loop during model latency', async () => {
    const { sut, model } = await setup();
    let called = false;
    // A model call that ends only when its request is aborted.
    model.next = (_input, signal) =>
      new Promise((_resolve, reject) => {
        called = true;
        signal.addEventListener('abort', () => reject(new Error('request aborted')));
      });
    const ac = new AbortController();
    const running = run(sut, computer(), { signal: ac.signal });
    await waitFor('the model call', () => called);
    ac.abort();
    await expect(running).rejects.toMatchObject({ code: 'CANCELLED' });
  });

  it('a dead computer ends the task with COMPUTER_FAILED', async () => {
    const { sut } = await setup();
    const c = computer();
    c.kill();
    await expect(sut.run('x', c, { signal: new AbortController().signal })).rejects.toMatchObject({ code: 'COMPUTER_FAILED' });
  });

  it('a model not in AGENT_ALLOWED_MODELS is refused with INVALID_ARGUMENT before anything runs', async () => {
    const { sut } = await setup();
    expect(sut.resolveModel(undefined)).toBe('scripted/test');
    expect(sut.resolveModel('test/m')).toBe('test/m');
    const c = computer();
    await expect(run(sut, c, { modelName: 'test/other' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/Allowed: scripted\/test, test\/m/) });
    expect(c.log).toEqual([]);
  });

  it('shows the model only the CUA_MAX_IMAGES most recent screens, and sums the usage', async () => {
    const { sut, model } = await setup({ CUA_MAX_IMAGES: '2' });
    const seen: boolean[][] = [];
    model.next = async (input) => {
      seen.push(input.screens.map((s) => s !== undefined));
      expect(input.screens.at(-1)).toBe(input.screenshot);
      return input.step < 4 ? click(input.step, input.step) : answer('ok');
    };
    const r = await run(sut, computer());
    expect(seen).toEqual([[true], [true, true], [false, true, true], [false, false, true, true]]);
    expect(r.usage).toEqual({ inputTokens: 400, outputTokens: 40 });
  });

  it('retries a retryable failure after the retry-after the server gave, then goes on', async () => {
    const { sut, model } = await setup();
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    let calls = 0;
    model.next = async () => {
      calls++;
      if (calls === 1) throw new ModelCallError('429 rate_limit_error: slow down', { retryable: true, status: 429, retryAfterMs: 5000 });
      return answer('after waiting');
    };
    const retries: string[] = [];
    const done = run(sut, computer(), { onRetry: (m) => retries.push(m) });
    await waitFor('the first call and its retry notice', () => calls === 1 && retries.length === 1);
    await jest.advanceTimersByTimeAsync(4990);
    expect(calls).toBe(1);
    await jest.advanceTimersByTimeAsync(20);
    await expect(done).resolves.toMatchObject({ answer: 'after waiting' });
    expect(calls).toBe(2);
    expect(retries[0]).toMatch(/HTTP 429; retrying in 5 s \(retry 1 of 4\)/);
  });

  it('backs off exponentially (capped) without retry-after, and gives up after AGENT_MAX_RETRIES', async () => {
    const { sut, model } = await setup({ AGENT_MAX_RETRIES: '3', AGENT_RETRY_BASE_MS: '1000', AGENT_RETRY_MAX_MS: '2000' });
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    let calls = 0;
    model.next = async () => {
      calls++;
      throw new ModelCallError('529 overloaded_error: Overloaded', { retryable: true, status: 529 });
    };
    jest.spyOn(Math, 'random').mockReturnValue(0.9999999); // the top of each jitter window [backoff/2, backoff]
    const done = run(sut, computer()).catch((e: unknown) => e);
    await waitFor('the first call', () => calls === 1);
    // Waits of 1000, then 2000, then 2000 (the cap): calls at 0, 1000, 3000 and 5000 ms.
    let now = 0;
    for (const [at, after] of [[1000, 2], [3000, 3], [5000, 4]]) {
      await jest.advanceTimersByTimeAsync(at - 10 - now);
      expect(calls).toBe(after - 1);
      await jest.advanceTimersByTimeAsync(20);
      now = at + 10;
      await waitFor(`call ${after}`, () => calls === after);
    }
    expect(await done).toMatchObject({ code: 'MODEL_ERROR', message: 'The model test/m failed after 4 attempts: 529 overloaded_error: Overloaded' });
  });

  it('a fatal failure stops at once with the vendor message', async () => {
    const { sut, model } = await setup();
    let calls = 0;
    model.next = async () => {
      calls++;
      throw new ModelCallError('401 authentication_error: invalid x-api-key', { retryable: false, status: 401 });
    };
    await expect(run(sut, computer())).rejects.toMatchObject({ code: 'MODEL_ERROR', message: 'The model test/m failed: 401 authentication_error: invalid x-api-key' });
    expect(calls).toBe(1);
  });

  it('no configured key leaves the loop: not in the error, not in the retry log line, even from a model that did not redact it', async () => {
    const key = 'sk-proj-Hf7Kq2Lw9Xc4Vb1Nm6Rt3Yp8Sd5Gj0Ze';
    const { sut, model } = await setup({ OPENAI_API_KEY: key, AGENT_RETRY_BASE_MS: '1', AGENT_RETRY_MAX_MS: '1' });
    const warn = jest.spyOn(Logger.prototype, 'warn');
    let calls = 0;
    model.next = async () => {
      calls++;
      if (calls === 1) throw new ModelCallError(`503 overloaded: upstream saw key ${key.slice(4, 20)}…`, { retryable: true, status: 503 });
      throw new Error(`proxy said: Authorization: Basic ${Buffer.from(`x:${key}`).toString('base64')} was refused (${key.slice(20)})`);
    };
    const err = await run(sut, computer()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MODEL_ERROR', message: 'The model test/m failed after 2 attempts: proxy said: Authorization: Basic [redacted] was refused ([redacted])' });
    const logged = warn.mock.calls.map((c) => String(c[0])).join('\n');
    expect(logged).toMatch(/HTTP 503 \(503 overloaded: upstream saw key \[redacted\]\); retry 1/);
    for (let i = 0; i + 8 <= key.length; i++) expect(`${(err as Error).message}\n${logged}`).not.toContain(key.slice(i, i + 8));
  });

  it('makes a span per task, per step within it, and per model call and action within a step; never the task, typed text or keys', async () => {
    const traced = memoryTracing();
    const { sut, model } = await setup({ AGENT_RETRY_BASE_MS: '1', AGENT_RETRY_MAX_MS: '1' }, traced.tracing);
    const secret = 'correct-horse-battery-9';
    let calls = 0;
    model.next = async (input) => {
      calls++;
      if (input.step === 1) return { actions: [{ action: 'type', text: secret }, { action: 'key', text: 'ctrl+alt+F9' }], usage: { inputTokens: 100, outputTokens: 10 } };
      if (calls === 2) throw new ModelCallError('503 overloaded', { retryable: true, status: 503 });
      return answer('done');
    };
    await sut.run(`log in with ${secret}`, computer(), { signal: new AbortController().signal, modelName: 'test/m' });

    const spans = await traced.spans();
    expect(spans.map((s) => s.name).sort()).toEqual(['agent step', 'agent step', 'chat m', 'chat m', 'computer key', 'computer type', 'invoke_agent'].sort());
    const task = spans.find((s) => s.name === 'invoke_agent')!;
    expect(task.attributes).toEqual({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.provider.name': 'test',
      'gen_ai.request.model': 'm',
      'cua.agent.steps': 2,
      'gen_ai.usage.input_tokens': 200,
      'gen_ai.usage.output_tokens': 20,
    });
    const [step1, step2] = spans.filter((s) => s.name === 'agent step').sort((a, b) => Number(a.attributes['cua.agent.step']) - Number(b.attributes['cua.agent.step']));
    for (const step of [step1, step2]) expect(isChildOf(step, task)).toBe(true);
    expect(step1.attributes).toEqual({ 'cua.agent.step': 1, 'cua.agent.actions': 2, 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 10 });
    expect(step2.attributes).toMatchObject({ 'cua.agent.step': 2, 'cua.agent.actions': 0 });
    const [chat1, chat2] = spans.filter((s) => s.name === 'chat m');
    expect(isChildOf(chat1, step1) && isChildOf(chat2, step2)).toBe(true);
    expect(chat1.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'm', 'cua.model.retries': 0 });
    expect(chat2.attributes).toMatchObject({ 'cua.model.retries': 1 });
    expect(chat2.events.map((e) => [e.name, e.attributes])).toEqual([['retry', { 'http.response.status_code': 503, 'cua.retry.wait_ms': expect.any(Number) }]]);
    for (const name of ['computer type', 'computer key']) {
      const action = spans.find((s) => s.name === name)!;
      expect(isChildOf(action, step1)).toBe(true);
      expect(action.attributes).toEqual({ 'cua.computer.action': name.slice(9), 'cua.computer.provider': 'fake', 'cua.computer.id': 'agent-spec' });
    }
    const exported = JSON.stringify(spans.map((s) => [s.name, s.attributes, s.events, s.status]));
    for (const leaked of [secret, 'ctrl+alt+F9', 'log in']) expect(exported).not.toContain(leaked);
  });

  it('a failed task fails its span and the step it stopped in, with the code and the progress made', async () => {
    const traced = memoryTracing();
    const { sut, model } = await setup({}, traced.tracing);
    model.next = async (input) => {
      if (input.step === 1) return click(10, 10);
      throw new ModelCallError('401 authentication_error: invalid x-api-key', { retryable: false, status: 401 });
    };
    await expect(run(sut, computer())).rejects.toMatchObject({ code: 'MODEL_ERROR' });
    const spans = await traced.spans();
    const task = spans.find((s) => s.name === 'invoke_agent')!;
    expect(task.status).toEqual({ code: SpanStatusCode.ERROR, message: 'MODEL_ERROR' });
    expect(task.attributes).toMatchObject({ 'error.type': 'MODEL_ERROR', 'cua.agent.steps': 1, 'gen_ai.usage.input_tokens': 100 });
    const failedStep = spans.find((s) => s.name === 'agent step' && s.attributes['cua.agent.step'] === 2)!;
    expect(failedStep.status.code).toBe(SpanStatusCode.ERROR);
    expect(JSON.stringify(spans.map((s) => [s.attributes, s.status]))).not.toContain('x-api-key');
  });

  it('stops at AGENT_MAX_TOKENS_PER_TASK before carrying out the turn that went over', async () => {
    const { sut, model } = await setup({ AGENT_MAX_TOKENS_PER_TASK: '1000' });
    model.next = async (input) => ({ actions: [{ action: 'type', text: `step ${input.step}` }], usage: { inputTokens: 500, outputTokens: 100 } });
    const c = computer();
    const err = await run(sut, c).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'AGENT_TOKEN_LIMIT', message: expect.stringMatching(/used 1200 tokens, over its budget of 1000/) });
    expect(actionsOf(c)).toEqual(['type step 1']);
    expect((err as AgentTaskError).steps[1].outcomes).toEqual([{ status: 'skipped', text: expect.stringMatching(/token budget/) }]);
  });

  it('asks its budget before each step and tells it each step\'s tokens; a refusal stops the task there, before its screenshot and model call, with the steps done', async () => {
    const { sut, model } = await setup();
    const asked: number[] = [];
    const spent: number[] = [];
    model.next = async (input) => ({ thought: `step ${input.step}`, actions: [{ action: 'type', text: `s${input.step}` }], usage: { inputTokens: 100 * input.step, outputTokens: 1 } });
    const budget = {
      beforeStep: async (step: number) => {
        asked.push(step);
        if (step === 3) throw new DomainError(DomainErrorCode.QUOTA_EXCEEDED, 'The task was stopped before step 3: the quota is used up.');
      },
      spent: async (u: { inputTokens: number; outputTokens: number }) => void spent.push(u.inputTokens + u.outputTokens),
    };
    const c = computer();
    const err = await run(sut, c, { budget }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentTaskError);
    expect(err).toMatchObject({ code: 'QUOTA_EXCEEDED', message: 'The task was stopped before step 3: the quota is used up.', usage: { inputTokens: 300, outputTokens: 2 } });
    expect((err as AgentTaskError).steps.map((s) => s.thought)).toEqual(['step 1', 'step 2']);
    expect(asked).toEqual([1, 2, 3]);
    expect(spent).toEqual([101, 201]);
    // Two screenshots and two turns: nothing of step 3 happened.
    expect(c.log.filter((l) => l === 'capture')).toHaveLength(2);
    expect(actionsOf(c)).toEqual(['type s1', 'type s2']);
  });

  it('ends with TIMEOUT after AGENT_TASK_TIMEOUT_MS, aborting the model call in flight', async () => {
    const { sut, model } = await setup({ AGENT_TASK_TIMEOUT_MS: '60000' });
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    let aborted = false;
    let called = false;
    model.next = (_input, signal) =>
      new Promise((_resolve, reject) => {
        called = true;
        signal.addEventListener('abort', () => {
          aborted = true;
          reject(new Error('request aborted'));
        });
      });
    const done = run(sut, computer()).catch((e: unknown) => e);
    await waitFor('the model call', () => called);
    await jest.advanceTimersByTimeAsync(59_990);
    expect(aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(20);
    expect(await done).toMatchObject({ code: 'TIMEOUT', message: expect.stringMatching(/within 60000 ms \(AGENT_TASK_TIMEOUT_MS\)/) });
    expect(aborted).toBe(true);
  });

  it('a failed action is reported back and the rest of its turn is not run', async () => {
    const { sut, model } = await setup();
    let second: ModelInput | undefined;
    model.next = async (input) => {
      if (input.step === 1) {
        return { actions: [{ action: 'type', text: 'a' }, { action: 'key', text: 'nosuchkey' }, { action: 'type', text: 'b' }] };
      }
      second = { ...input, history: [...input.history] };
      return answer('ok');
    };
    const c = computer();
    await run(sut, c);
    expect(actionsOf(c)).toEqual(['type a']);
    expect(second?.history[0].outcomes).toEqual([
      { status: 'ok', text: 'typed "a"' },
      { status: 'error', text: expect.stringMatching(/Unknown key "nosuchkey"/) },
      { status: 'skipped', text: NOT_EXECUTED },
    ]);
  });

  it('an answer its provider could not carry out is that step\'s error, read back next turn; nothing touches the computer', async () => {
    const { sut, model } = await setup();
    let second: ModelInput | undefined;
    model.next = async (input) => {
      if (input.step === 1) return { thought: 'Action: clik(x)', actions: [], error: 'The answer names no known action: "clik".' };
      second = { ...input, history: [...input.history] };
      return answer('recovered');
    };
    const c = computer();
    const steps: StepRecord[] = [];
    const r = await run(sut, c, { onStep: (s) => steps.push(s) });
    expect(r.answer).toBe('recovered');
    expect(actionsOf(c)).toEqual([]);
    expect(steps[0]).toMatchObject({ thought: 'Action: clik(x)', actions: [], results: ['error: The answer names no known action: "clik".'] });
    expect(second?.history[0].outcomes).toEqual([{ status: 'error', text: 'The answer names no known action: "clik".' }]);
  });

  it('a model that gives up ends the task with AGENT_GAVE_UP and its reason, keeping that step', async () => {
    const { sut, model } = await setup();
    model.next = async (input) => (input.step === 1 ? click(5, 5) : { thought: 'I need a password.', actions: [], gaveUp: { reason: 'The model asked for a person\'s help: I need a password.' } });
    const c = computer();
    const err = (await run(sut, c).catch((e: unknown) => e)) as AgentTaskError;
    expect(err).toBeInstanceOf(AgentTaskError);
    expect(err).toMatchObject({ code: 'AGENT_GAVE_UP', message: "The model asked for a person's help: I need a password." });
    expect(err.steps.map((s) => s.thought)).toEqual([undefined, 'I need a password.']);
    expect(actionsOf(c)).toEqual(['click left x1 5,5']);
  });

  it("waits for the screen to settle after a turn's actions and before a mid-turn look, never after a wait alone or a refused action", async () => {
    const { sut, model } = await setup();
    const c = computer();
    const settles: { since: number; at: number }[] = [];
    jest.spyOn(c, 'settle').mockImplementation(async (o) => {
      settles.push({ since: o.since, at: performance.now() });
      c.log.push('settle');
      return { waitedMs: 7, hitCap: false, changed: true };
    });
    let typedAt = 0;
    const typeText = c.typeText.bind(c);
    jest.spyOn(c, 'typeText').mockImplementation(async (text) => {
      typedAt ||= performance.now();
      return typeText(text);
    });
    model.next = async (input) => {
      switch (input.step) {
        case 1:
          return { actions: [{ action: 'type', text: 'ab' }, { action: 'screenshot' }, { action: 'key', text: 'Return' }] };
        case 2:
          return { actions: [{ action: 'wait', duration: 0 }] };
        case 3:
          return { actions: [{ action: 'left_click', coordinate: [5000, 5] }] };
        default:
          return answer('ok');
      }
    };
    const steps: StepRecord[] = [];
    await run(sut, c, { onStep: (s) => steps.push(s) });
    expect(c.log.filter((l) => l !== 'screenSize')).toEqual([
      'capture', // step 1
      'type ab',
      'settle', // before the mid-turn screenshot
      'capture',
      'key Return',
      'settle', // after the turn, before the next step's screenshot
      'capture', // step 2: after a wait, no settle
      'capture', // step 3: the click was refused, nothing to wait for
      'capture', // step 4
      'capture', // final
    ]);
    // Each wait counts changes from the start of the first action it covers.
    expect(settles[0].since).toBeLessThanOrEqual(typedAt);
    expect(settles[1].since).toBeGreaterThan(settles[0].at);
    expect(steps[0].outcomes[1].text).toBe('screenshot (the screen changed and settled after 7 ms)');
    expect(steps.map((s) => s.settle)).toEqual([{ waitedMs: 7, hitCap: false, changed: true }, undefined, undefined, undefined]);
  });

  it("maps coordinates from the screenshot the model saw, sized by the model's own limits", async () => {
    const { sut, model } = await setup();
    model.size = { maxLongEdge: 800, maxPixels: 1_000_000 };
    let shot: { width: number; height: number } | undefined;
    model.next = async (input) => {
      shot = { width: input.screenshot.width, height: input.screenshot.height };
      return input.step === 1 ? click(400, 250) : answer('ok');
    };
    const c = computer(1600, 1000);
    await run(sut, c);
    expect(shot).toEqual({ width: 800, height: 500 });
    expect(actionsOf(c)).toEqual(['click left x1 800,500']);
  });

  describe('while a person controls the desktop (a session\'s HumanControl as the turn gate)', () => {
    const control = (idleMs = 120_000) => new HumanControl({ id: 'agent-spec', kind: 'named', endReason: undefined, touch: () => undefined }, idleMs);
    /** The pause and resume reports, in order. */
    const reports = () => {
      const seen: string[] = [];
      return { seen, onPause: (by: string, step: number) => seen.push(`paused at step ${step} (${by})`), onResume: (_ms: number, step: number) => seen.push(`resumed at step ${step}`) };
    };

    it('a task started while a person holds control neither looks nor acts until control is handed back, then finishes', async () => {
      const { sut } = await setup();
      const c = computer();
      const gate = control();
      gate.take('alice');
      const r = reports();
      const done = sut.run('open the files', c, { signal: new AbortController().signal, gate, onPause: r.onPause, onResume: r.onResume });
      await waitFor('the task to report its pause', () => r.seen.length === 1);
      expect(c.log).toEqual([]);
      gate.release();
      await expect(done).resolves.toMatchObject({ answer: 'Done: open the files' });
      expect(r.seen).toEqual(['paused at step 1 (alice)', 'resumed at step 1']);
      expect(actionsOf(c)).toEqual(['click left x1 160,100', 'type open the files', 'key Return']);
    });

    it('a turn planned before a take-over is not carried out: the model is told and looks again, and the turn uses no step', async () => {
      const { sut, model } = await setup();
      const c = computer();
      const gate = control();
      const inputs: ModelInput[] = [];
      let release: () => void = () => undefined;
      model.next = async (input) => {
        inputs.push({ ...input, history: [...input.history] });
        if (input.step === 1) {
          // The person takes over while the model thinks, and hands back once the task has paused.
          gate.take('alice');
          release = () => gate.release('alice');
          return click(10, 10);
        }
        return input.step === 2 ? click(20, 20) : answer('ok');
      };
      const r = reports();
      const done = run(sut, c, { gate, maxSteps: 2, onPause: r.onPause, onResume: r.onResume });
      await waitFor('the task to report its pause', () => r.seen.length === 1);
      expect(actionsOf(c)).toEqual([]);
      release();
      const result = await done;
      expect(actionsOf(c)).toEqual(['click left x1 20,20']);
      expect(inputs[1].history[0].outcomes).toEqual([{ status: 'skipped', text: TAKEN_OVER }]);
      expect(result.steps).toHaveLength(3);
      expect(r.seen).toEqual(['paused at step 1 (alice)', 'resumed at step 1']);
    });

    it('a take-over between two actions of a turn stops the turn there; the rest is not carried out', async () => {
      const { sut, model } = await setup();
      const c = computer();
      const gate = control();
      const typeText = c.typeText.bind(c);
      jest.spyOn(c, 'typeText').mockImplementation(async (text) => {
        await typeText(text);
        if (text === 'a') gate.take('alice');
      });
      model.next = async (input) => (input.step === 1 ? { actions: [{ action: 'type', text: 'a' }, { action: 'type', text: 'b' }] } : answer('ok'));
      const r = reports();
      const steps: StepRecord[] = [];
      const done = run(sut, c, { gate, onStep: (s) => steps.push(s), onPause: r.onPause, onResume: r.onResume });
      await waitFor('the task to report its pause', () => r.seen.length === 1);
      gate.release();
      await done;
      expect(actionsOf(c)).toEqual(['type a']);
      expect(steps[0].outcomes).toEqual([{ status: 'ok', text: 'typed "a"' }, { status: 'skipped', text: TAKEN_OVER }]);
    });

    it('time paused does not count against AGENT_TASK_TIMEOUT_MS', async () => {
      const { sut, model } = await setup({ AGENT_TASK_TIMEOUT_MS: '60000' });
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
      const gate = control(3_600_000);
      let thinking = false;
      let second = false;
      let aborted = false;
      model.next = async (input, signal) => {
        if (input.step === 1) {
          thinking = true;
          await sleep(30_000, signal);
          return click(1, 1);
        }
        // Step 2 thinks until the task's time is up.
        second = true;
        return new Promise((_resolve, reject) => signal.addEventListener('abort', () => ((aborted = true), reject(new Error('request aborted')))));
      };
      const r = reports();
      const done = run(sut, computer(), { gate, onPause: r.onPause, onResume: r.onResume }).catch((e: unknown) => e);
      await waitFor('the first model call', () => thinking);
      gate.take('alice');
      await jest.advanceTimersByTimeAsync(30_000); // 30 s of the task's time: the model answers, and the task pauses
      await waitFor('the task to report its pause', () => r.seen.length === 1);
      await jest.advanceTimersByTimeAsync(600_000); // ten minutes paused
      expect(aborted).toBe(false);
      gate.release();
      await waitFor('the second model call', () => second);
      await jest.advanceTimersByTimeAsync(29_990);
      expect(aborted).toBe(false);
      await jest.advanceTimersByTimeAsync(20);
      expect(await done).toMatchObject({ code: 'TIMEOUT' });
      expect(aborted).toBe(true);
    });

    it('cancelling a paused task ends it with CANCELLED, and nothing reaches the computer', async () => {
      const { sut } = await setup();
      const c = computer();
      const gate = control();
      gate.take('alice');
      const r = reports();
      const ac = new AbortController();
      const done = sut.run('x', c, { signal: ac.signal, gate, onPause: r.onPause, onResume: r.onResume }).catch((e: unknown) => e);
      await waitFor('the task to report its pause', () => r.seen.length === 1);
      ac.abort();
      expect(await done).toMatchObject({ code: 'CANCELLED' });
      expect(c.log).toEqual([]);
      expect(r.seen).toEqual(['paused at step 1 (alice)']);
      expect(gate.heldBy).toBe('alice');
    });
  });
});

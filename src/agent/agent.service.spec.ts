import { Test } from '@nestjs/testing';
import sharp from 'sharp';
import { AppConfig } from '../config/config.module';
import { ComputerModule, decodeFakeText, FakeComputer, FakeComputerModule, ScreenshotService } from '../computer/computer.module';
import { ConfigModule } from '../config/config.module';
import { AgentModule } from './agent.module';
import { AgentService } from './agent.service';
import { ScriptedModelModule } from './scripted/scripted-model.module';
import { StepRecord } from './model.port';

async function setup(env: Record<string, string> = {}) {
  const config = AppConfig.fromEnv({ COMPUTER_PROVIDER: 'fake', CUA_MODEL_NAME: 'scripted/test', ...env });
  const moduleRef = await Test.createTestingModule({
    imports: [ConfigModule.forRoot(config), ComputerModule, FakeComputerModule, AgentModule, ScriptedModelModule],
  }).compile();
  await moduleRef.init(); // registries discover providers on init
  return { sut: moduleRef.get(AgentService), screenshots: moduleRef.get(ScreenshotService) };
}

describe(AgentService.name, () => {
  const computer = () => new FakeComputer('agent-spec', { width: 320, height: 200 });

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
    expect(err).toMatchObject({ code: 'AGENT_STEP_LIMIT' });
    expect((err as { details: { steps: StepRecord[] } }).details.steps).toHaveLength(3);
  });

  it('cancellation stops the loop during model latency', async () => {
    const { sut } = await setup({ SCRIPTED_MODEL_STEP_MS: '10000' });
    const ac = new AbortController();
    const run = sut.run('slow', computer(), { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    const t0 = Date.now();
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('a dead computer ends the task with COMPUTER_FAILED', async () => {
    const { sut } = await setup();
    const c = computer();
    c.kill();
    await expect(sut.run('x', c, { signal: new AbortController().signal })).rejects.toMatchObject({ code: 'COMPUTER_FAILED' });
  });
});

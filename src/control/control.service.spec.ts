import { Test } from '@nestjs/testing';
import { waitFor } from '../../test/support/wait-for';
import sharp from 'sharp';
import { ConfigModule, Settings } from '../config/config.module';
import { ComputerActionRunner, ComputerProviderRegistry, Screenshot, ScreenshotService } from '../computer/computer.module';
import { DrainState } from '../lifecycle/lifecycle.module';
import { ComputerPool } from '../pool/pool.module';
import { SessionService } from '../session/session.module';
import { ProgrammableFakeProvider } from '../../test/support/fake-provider';
import { ControlService } from './control.service';

async function setup(env: Record<string, string> = {}) {
  const config = Settings.load({ COMPUTER_PROVIDER: 'fake', POOL_MAX_SIZE: '3', POOL_MIN_WARM: '0', COMMAND_TIMEOUT_MS: '4000', ...env });
  const provider = new ProgrammableFakeProvider();
  const moduleRef = await Test.createTestingModule({
    imports: [ConfigModule.forRoot(config)],
    providers: [
      ControlService,
      SessionService,
      ComputerPool,
      DrainState,
      ScreenshotService,
      ComputerActionRunner,
      { provide: ComputerProviderRegistry, useValue: { create: (o: { signal?: AbortSignal }) => provider.create(o), capacity: () => undefined } },
    ],
  }).compile();
  await moduleRef.init();
  const sessions = moduleRef.get(SessionService);
  const session = await sessions.resolve({ principal: 'alice', sessionId: 'work', connectionId: 'c1' });
  return { sut: moduleRef.get(ControlService), sessions, session, provider, close: () => moduleRef.close() };
}

type Setup = Awaited<ReturnType<typeof setup>>;
const signal = () => new AbortController().signal;

/** What a screenshot shows, pixel by pixel. */
async function pixels(shot: Screenshot): Promise<Buffer> {
  return sharp(shot.data).removeAlpha().raw().toBuffer();
}

describe(ControlService.name, () => {
  let t: Setup | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  describe('act', () => {
    it('an action that changes the screen returns the settled screen showing its effect', async () => {
      t = await setup();
      const before = await t.sut.screenshot(t.session, 'png', signal());
      const r = await t.sut.act(t.session, { action: 'left_click', coordinate: [20, 20] }, { signal: signal() });
      expect(r.outcome.summary).toMatch(/click/);
      expect(r.settled).toEqual({ waitedMs: 0, hitCap: false, changed: true });
      expect(await pixels(r.screenshot!)).not.toEqual(await pixels(before));
    });

    it('no screenshot when asked for none, or after an action that changes nothing; always one for screenshot', async () => {
      t = await setup();
      const quiet = await t.sut.act(t.session, { action: 'type', text: 'x' }, { signal: signal(), screenshot: false });
      expect(quiet).toEqual({ outcome: expect.objectContaining({ summary: expect.any(String) }) });
      const where = await t.sut.act(t.session, { action: 'cursor_position' }, { signal: signal() });
      expect(where.screenshot).toBeUndefined();
      expect(where.outcome.coordinate).toEqual([0, 0]);
      const shot = await t.sut.act(t.session, { action: 'screenshot' }, { signal: signal(), format: 'jpeg' });
      expect(shot.screenshot?.mimeType).toBe('image/jpeg');
      expect(shot.settled).toBeUndefined();
    });

    it('runs as a task of the session: ending the session stops it', async () => {
      t = await setup();
      const holding = t.sut.act(t.session, { action: 'wait', duration: 30 }, { signal: signal() });
      await waitFor('the command to run as a session task', () => t!.session.tasks.size === 1, 3000);
      await t.sessions.end('alice', 'work', 'cleanup');
      await expect(holding).rejects.toMatchObject({ code: 'SESSION_ENDED' });
    });

    it('a computer that died gives COMPUTER_FAILED; the next call sees a fresh computer', async () => {
      t = await setup();
      t.provider.created[0].kill();
      await expect(t.sut.act(t.session, { action: 'type', text: 'lost' }, { signal: signal() })).rejects.toMatchObject({ code: 'COMPUTER_FAILED' });
      const shot = await t.sut.screenshot(t.session, 'png', signal());
      expect(shot).toMatchObject({ width: 64, height: 48 });
      expect(t.provider.created).toHaveLength(2);
      expect(t.sessions.computerOf(t.session)).toBe(t.provider.created[1]);
    });
  });

  describe('commands', () => {
    it('runCommand waits for the command, under COMMAND_TIMEOUT_MS unless the caller gives a timeout', async () => {
      t = await setup();
      await expect(t.sut.runCommand(t.session, 'echo hello', { signal: signal() })).resolves.toMatchObject({ stdout: 'hello\n', exitCode: 0, timeoutMs: 4000 });
      await expect(t.sut.runCommand(t.session, 'sleep 5', { timeoutMs: 100, signal: signal() })).resolves.toMatchObject({ timedOut: true, exitCode: null, timeoutMs: 100 });
    });

    it('launch starts a program and reports its pid; a computer that cannot launch says so', async () => {
      t = await setup();
      await expect(t.sut.launch(t.session, 'xterm', signal())).rejects.toMatchObject({ code: 'COMPUTER_UNSUPPORTED', message: expect.stringMatching(/fake provider cannot run programs in the background/) });
      const launched: string[] = [];
      Object.assign(t.provider.created[0], { launch: async (command: string) => (launched.push(command), { pid: 42 }) });
      await expect(t.sut.launch(t.session, 'xterm', signal())).resolves.toEqual({ pid: 42, settled: expect.objectContaining({ hitCap: false }) });
      expect(launched).toEqual(['xterm']);
    });
  });
});


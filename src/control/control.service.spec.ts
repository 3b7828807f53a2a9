import { Test } from '@nestjs/testing';
import { InMemoryReplicaDirectory, InMemorySessionRegistry, ReplicaDirectory, SessionRegistry, ThisReplica } from '../cluster/cluster.module';
import { waitFor } from '../../test/support/wait-for';
import sharp from 'sharp';
import { ConfigModule, Settings } from '../config/config.module';
import { ComputerAction, ComputerActionRunner, ComputerProviderRegistry, COMPUTER_ACTIONS, Screenshot, ScreenshotService } from '../computer/computer.module';
import { DrainState } from '../lifecycle/lifecycle.module';
import { ComputerPool } from '../pool/pool.module';
import { SessionService } from '../session/session.module';
import { NoTracing, Tracing } from '../tracing/tracing.module';
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
      { provide: SessionRegistry, useClass: InMemorySessionRegistry },
      { provide: ReplicaDirectory, useClass: InMemoryReplicaDirectory },
      ThisReplica,
      ComputerPool,
      DrainState,
      ScreenshotService,
      ComputerActionRunner,
      { provide: Tracing, useValue: new NoTracing() },
      { provide: ComputerProviderRegistry, useValue: { create: (o: { signal?: AbortSignal }) => provider.create(o), capacity: () => undefined, handleOf: () => undefined } },
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

  describe('while a person controls the desktop in the live view', () => {
    const INPUT: ComputerAction[] = [
      { action: 'left_click', coordinate: [5, 5] },
      { action: 'right_click', coordinate: [5, 5] },
      { action: 'middle_click', coordinate: [5, 5] },
      { action: 'double_click', coordinate: [5, 5] },
      { action: 'triple_click', coordinate: [5, 5] },
      { action: 'mouse_move', coordinate: [5, 5] },
      { action: 'left_click_drag', start_coordinate: [1, 1], coordinate: [5, 5] },
      { action: 'left_mouse_down' },
      { action: 'left_mouse_up' },
      { action: 'scroll', coordinate: [5, 5], scroll_direction: 'down' },
      { action: 'type', text: 'hi' },
      { action: 'key', text: 'Return' },
      { action: 'hold_key', text: 'shift', duration: 0 },
    ];
    const LOOKS: ComputerAction[] = [{ action: 'screenshot' }, { action: 'cursor_position' }, { action: 'zoom', region: [0, 0, 32, 24] }, { action: 'wait', duration: 0 }];

    it('lists every action of the computer tool here once: input or not', () => {
      expect([...INPUT, ...LOOKS].map((a) => a.action).sort()).toEqual([...COMPUTER_ACTIONS].sort());
    });

    it('every input action, run_command and background programs are refused at once, and nothing reaches the computer', async () => {
      t = await setup();
      const computer = t.provider.created[0];
      t.session.control.take('alice (live view)');
      const before = computer.log.length;
      for (const action of INPUT) {
        await expect(t.sut.act(t.session, action, { signal: signal() })).rejects.toMatchObject({
          code: 'SESSION_UNDER_HUMAN_CONTROL',
          message: expect.stringContaining(`(alice (live view)) is controlling the desktop of session "work" in the live view, so the computer action "${action.action}" was refused`),
        });
      }
      await expect(t.sut.runCommand(t.session, 'echo hi', { signal: signal() })).rejects.toMatchObject({ code: 'SESSION_UNDER_HUMAN_CONTROL', message: expect.stringMatching(/so run_command was refused/) });
      await expect(t.sut.launch(t.session, 'xterm', signal())).rejects.toMatchObject({ code: 'SESSION_UNDER_HUMAN_CONTROL' });
      expect(computer.log.slice(before)).toEqual([]);
      expect(t.session.tasks.size).toBe(0);
    });

    it('screenshots, zoom, cursor_position and wait still work; once control is handed back, input works again', async () => {
      t = await setup();
      t.session.control.take('alice');
      await expect(t.sut.screenshot(t.session, 'png', signal())).resolves.toMatchObject({ width: 64, height: 48 });
      for (const action of LOOKS) await expect(t.sut.act(t.session, action, { signal: signal() })).resolves.toMatchObject({ outcome: expect.anything() });
      t.session.control.release();
      await expect(t.sut.act(t.session, { action: 'type', text: 'back' }, { signal: signal() })).resolves.toMatchObject({ outcome: { summary: 'typed "back"' } });
      await expect(t.sut.runCommand(t.session, 'echo hi', { signal: signal() })).resolves.toMatchObject({ stdout: 'hi\n' });
    });
  });
});

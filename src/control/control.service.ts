import { Injectable } from '@nestjs/common';
import { DomainError, DomainErrorCode } from '../common/domain-error';
import { InjectSettings } from '../config/config.module';
import { COMPUTER_SETTINGS, type ComputerSettings } from '../computer/computer.settings';
import {
  ActionOutcome,
  CHANGES_SCREEN,
  CommandResult,
  ComputerAction,
  ComputerActionRunner,
  ImageFormat,
  Screenshot,
  ScreenshotService,
  SENDS_INPUT,
  SETTLES_AFTER,
  SettleResult,
} from '../computer/computer.module';
import { Session, SessionService } from '../session/session.module';

export interface ActOptions {
  signal: AbortSignal;
  /** Return a screenshot after the action; by default for `screenshot` and for actions that change the screen. */
  screenshot?: boolean;
  format?: ImageFormat;
}

/** One action done: what it did, and (when asked for) the settled screen afterwards. */
export interface ActResult {
  outcome: ActionOutcome;
  /** How the wait for the screen to settle before the screenshot ended; absent when there was no wait. */
  settled?: SettleResult;
  screenshot?: Screenshot;
}

export interface CommandRun extends CommandResult {
  /** The timeout it ran under (the caller's, or COMPUTER_COMMAND_TIMEOUT_MS). */
  timeoutMs: number;
}

export interface Launched {
  pid?: number;
  /** How the wait for the program's window ended (up to the settle cap). */
  settled?: SettleResult;
}

/**
 * Direct use of a session's computer, without a model: a screenshot, one action, a shell command, a program
 * left running in the background. Each runs on the session's computer (replaced by the session service when
 * it died) and, apart from the screenshot, as a task of the session, so ending the session stops it.
 *
 * While a person controls the session's desktop in the live view, everything that would send it input (the
 * input actions, commands, programs) is refused at once with SESSION_UNDER_HUMAN_CONTROL, never queued;
 * screenshots, `zoom`, `cursor_position` and `wait` still work.
 */
@Injectable()
export class ControlService {
  constructor(
    private readonly sessions: SessionService,
    private readonly screenshots: ScreenshotService,
    private readonly actions: ComputerActionRunner,
    @InjectSettings(COMPUTER_SETTINGS) private readonly computer: ComputerSettings,
  ) {}

  async screenshot(session: Session, format: ImageFormat, signal: AbortSignal): Promise<Screenshot> {
    const shot = await this.sessions.withComputer(session, (computer) => this.screenshots.take(computer, format, signal), signal);
    session.touch();
    return shot;
  }

  /** Does one action; a screenshot after an action that changes the screen waits for the screen to settle first. */
  act(session: Session, action: ComputerAction, options: ActOptions): Promise<ActResult> {
    const { signal } = options;
    return this.sessions.withComputer(
      session,
      async (computer) => {
        if (SENDS_INPUT.has(action.action)) session.control.refuseWhileHeld(`the computer action "${action.action}"`);
        const since = performance.now();
        const outcome = await this.sessions.runTask(session, `computer:${action.action}`, signal, (s) => this.actions.run(computer, action, s));
        const wantShot = action.action === 'screenshot' || (options.screenshot ?? CHANGES_SCREEN.has(action.action));
        if (!wantShot) return { outcome };
        // Only a screenshot waits for the screen: without one there is nothing to show too early.
        const settled = SETTLES_AFTER.has(action.action) ? await this.actions.settle(computer, since, signal) : undefined;
        const screenshot = await this.screenshots.take(computer, options.format ?? 'png', signal);
        return { outcome, settled, screenshot };
      },
      signal,
    );
  }

  /** Runs a shell command and waits for it (killed with everything it started after its timeout). */
  runCommand(session: Session, command: string, options: { timeoutMs?: number; signal: AbortSignal }): Promise<CommandRun> {
    const timeoutMs = options.timeoutMs ?? this.computer.commandTimeoutMs;
    return this.sessions.withComputer(
      session,
      async (computer) => {
        session.control.refuseWhileHeld('run_command');
        const r = await this.sessions.runTask(session, 'run_command', options.signal, (s) => computer.runCommand(command, { timeoutMs, signal: s }));
        return { ...r, timeoutMs };
      },
      options.signal,
    );
  }

  /** Starts a program that keeps running; returns once its window is drawn or the settle cap is reached. */
  launch(session: Session, command: string, signal: AbortSignal): Promise<Launched> {
    return this.sessions.withComputer(
      session,
      async (computer) => {
        session.control.refuseWhileHeld('run_command (background)');
        if (!computer.supports('launch')) {
          throw new DomainError(DomainErrorCode.COMPUTER_UNSUPPORTED, `Computers of the ${computer.provider} provider cannot run programs in the background; run the command without background.`);
        }
        const launch = computer.launch.bind(computer);
        const since = performance.now();
        const started = await this.sessions.runTask(session, 'run_command', signal, () => launch(command));
        // A program needs a moment to open its window: wait for it (up to the cap), so the next screenshot shows it.
        const settled = await this.actions.settle(computer, since, signal, this.computer.settle.maxMs);
        return { pid: started.pid, settled };
      },
      signal,
    );
  }
}

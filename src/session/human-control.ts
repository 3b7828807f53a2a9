import { EventEmitter } from 'node:events';
import { abortReason } from '../common/domain-error';
import type { Session } from './session';
import { SessionEndedError, SessionUnderHumanControlError } from './session.errors';

/**
 * Why control went back: its holder handed it back (the live view's button), `release_control` took it from
 * whoever held it, the holder sent no input for the idle time, or the session ended.
 */
export type ControlReleaseReason = 'holder' | 'tool' | 'idle' | 'session-ended';

export interface HumanControlEvents {
  /** A person took control (nobody held it before). */
  taken: [holder: string];
  /** Control went back to the agent. */
  released: [holder: string, reason: ControlReleaseReason];
}

/**
 * Whether a person holds control of one session's desktop (taken in the live view), one controller at a time.
 * While someone does, the agent waits before it looks or acts (`agentTurn`), and input from anyone else is
 * refused with SESSION_UNDER_HUMAN_CONTROL (the callers check `heldBy`). Control returns on its own once the
 * holder has sent no input for `idleMs` (the live view's bridge calls `noteInput` as input passes), and when
 * the session ends (`close`), which also clears the idle timer.
 *
 * A holder is a label shown to the agent and on the page (e.g. "alice (live view)"), never a secret.
 */
export class HumanControl {
  readonly events = new EventEmitter<HumanControlEvents>();
  private holder?: string;
  private since?: number;
  /** When the holder's last input passed, or control was taken (performance.now()). */
  private lastInput = 0;
  private idleTimer?: NodeJS.Timeout;
  private taken = 0;
  private closed = false;
  /** Agent turns waiting for control to come back. */
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly session: Pick<Session, 'id' | 'kind' | 'endReason' | 'touch'>,
    /** How long the holder may send no input before control returns (LIVE_VIEW_CONTROL_IDLE_MS). */
    readonly idleMs: number,
  ) {}

  /** Who holds control now; undefined when nobody does (the agent and the tools may act). */
  get heldBy(): string | undefined {
    return this.holder;
  }

  /** When the holder took control (epoch ms); undefined when nobody holds it. */
  get heldSince(): number | undefined {
    return this.since;
  }

  /**
   * How many times control has been taken. A plan made from a screenshot taken before this number changed
   * may no longer fit the screen: a person may have changed it meanwhile.
   */
  get takeovers(): number {
    return this.taken;
  }

  /** Throws SessionUnderHumanControlError when a person holds control, saying that `what` was refused. */
  refuseWhileHeld(what: string): void {
    if (this.holder !== undefined) throw new SessionUnderHumanControlError(this.session.id, this.holder, what, this.idleMs);
  }

  /**
   * `holder` takes control. True when it took it now; false when it already held it (its idle time starts
   * again). One controller at a time: while someone else holds control this throws SessionUnderHumanControlError
   * naming them; after the session ended, SessionEndedError.
   */
  take(holder: string): boolean {
    if (this.closed) throw new SessionEndedError(this.session);
    if (this.holder !== undefined && this.holder !== holder) throw new SessionUnderHumanControlError(this.session.id, this.holder, 'taking control', this.idleMs);
    this.lastInput = performance.now();
    this.session.touch();
    if (this.holder === holder) return false;
    this.holder = holder;
    this.since = Date.now();
    this.taken++;
    this.armIdle(this.idleMs);
    this.events.emit('taken', holder);
    return true;
  }

  /**
   * Gives control back to the agent. With `holder`, only if that holder has it (a viewer hands back its own
   * control); without, whoever holds it (the `release_control` tool). Returns who was released, or undefined
   * when nothing was (nobody held control, or someone else does).
   */
  release(holder?: string): string | undefined {
    if (this.holder === undefined || (holder !== undefined && holder !== this.holder)) return undefined;
    return this.drop(holder === undefined ? 'tool' : 'holder');
  }

  /**
   * The holder's input passed to the desktop: their idle time starts again, and the session counts as in use (the
   * idle sweep leaves it alone). Nothing when nobody holds control.
   */
  noteInput(): void {
    if (this.holder === undefined) return;
    this.lastInput = performance.now();
    this.session.touch();
  }

  /**
   * Resolves at once when nobody holds control, otherwise once control has come back (however that happens);
   * rejects when `signal` aborts first, with its reason.
   */
  async agentTurn(signal: AbortSignal): Promise<void> {
    while (this.holder !== undefined) {
      await new Promise<void>((resolve, reject) => {
        if (signal.aborted) return reject(abortReason(signal, 'The wait for a person to hand back control'));
        const wake = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          this.waiters.delete(wake);
          reject(abortReason(signal, 'The wait for a person to hand back control'));
        };
        this.waiters.add(wake);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
  }

  /** The session ended: control goes back ('session-ended'), the idle timer stops, and nobody can take control again. */
  close(): void {
    this.closed = true;
    if (this.holder !== undefined) this.drop('session-ended');
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private drop(reason: ControlReleaseReason): string {
    const holder = this.holder!;
    this.holder = undefined;
    this.since = undefined;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
    this.events.emit('released', holder, reason);
    return holder;
  }

  /**
   * One timer per holding, not one per input: when it fires it looks at the last input and either releases
   * control or waits the rest of the idle time.
   */
  private armIdle(ms: number) {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.holder === undefined) return;
      const quiet = performance.now() - this.lastInput;
      if (quiet >= this.idleMs) this.drop('idle');
      else this.armIdle(this.idleMs - quiet);
    }, ms);
    this.idleTimer.unref();
  }
}

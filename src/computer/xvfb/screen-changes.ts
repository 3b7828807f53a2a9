import { abortReason, DomainError, DomainErrorCode } from '../../common/domain-error';
import { SettleOptions, SettleResult } from '../computer.port';
import { X11ClosedError } from './x11-connection';

/**
 * Where change notices come from: an X connection watching its screen (X11Connection). After a
 * notice, the next one comes only once `rearm()` was called.
 */
export interface ScreenChangeSource {
  watchScreen(onChange: () => void): Promise<{ rearm(): void }>;
  onClose(listener: (reason: string) => void): void;
}

/**
 * While nobody waits for the screen, a notice is re-armed this much later, so a screen that never
 * stops changing (a video, a busy terminal) costs a few notices a second rather than one per round
 * trip (about 6% of a core for a terminal printing without pause). Drawing in that gap is counted
 * as happening when the gap ends, so a later wait errs on the long side.
 */
export const IDLE_REARM_MS = 100;

/** What is wrong with the options, if anything. */
function optionsProblem(o: SettleOptions): DomainError | undefined {
  for (const key of ['since', 'quietMs', 'maxMs', 'firstChangeMs'] as const) {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || (key !== 'since' && v < 0)) {
      return new DomainError(DomainErrorCode.INVALID_ARGUMENT, `Settle option ${key} must be a finite number${key === 'since' ? '' : ' of milliseconds, 0 or more'}, not ${String(v)}.`);
    }
  }
  return undefined;
}

/**
 * When the screen last changed, learnt from the display's change notices (never by comparing
 * frames), and settle(): wait until the screen has been still. Times are performance.now().
 */
export class ScreenChanges {
  private lastChangeAt: number | undefined;
  private closedReason: string | undefined;
  private rearmSource: () => void = () => undefined;
  private rearmTimer: NodeJS.Timeout | undefined;
  /** Waits in progress, each with what to do when the screen changes and when the source closes. */
  private readonly waits = new Set<{ changed(): void; closed(e: Error): void }>();

  private constructor() {}

  /** Starts watching `source`; rejects when it cannot be watched. */
  static async watch(source: ScreenChangeSource): Promise<ScreenChanges> {
    const changes = new ScreenChanges();
    source.onClose((reason) => changes.closed(reason));
    const watch = await source.watchScreen(() => changes.changed());
    changes.rearmSource = () => watch.rearm();
    return changes;
  }

  private changed() {
    this.lastChangeAt = performance.now();
    if (this.waits.size > 0) this.rearm(false);
    else if (!this.rearmTimer) {
      this.rearmTimer = setTimeout(() => this.rearm(true), IDLE_REARM_MS);
      this.rearmTimer.unref();
    }
    for (const w of [...this.waits]) w.changed();
  }

  /** Asks for the next notice; `late`: notices were held back, so the screen may have changed until now. */
  private rearm(late: boolean) {
    clearTimeout(this.rearmTimer);
    this.rearmTimer = undefined;
    if (late) this.lastChangeAt = performance.now();
    this.rearmSource();
  }

  private closed(reason: string) {
    this.closedReason ??= reason;
    clearTimeout(this.rearmTimer);
    this.rearmTimer = undefined;
    const err = new X11ClosedError(reason);
    for (const w of [...this.waits]) w.closed(err);
  }

  /**
   * Resolves once nothing has changed for `quietMs` after a change made since `since`; when no
   * change has come since `since`, once `firstChangeMs` have passed without one (counted from
   * this call); and in any case after `maxMs`, saying whether the screen was still changing.
   * Rejects at once when `signal` aborts or the screen's connection closes.
   */
  settle(o: SettleOptions): Promise<SettleResult> {
    const problem = optionsProblem(o);
    if (problem) return Promise.reject(problem);
    if (this.closedReason !== undefined) return Promise.reject(new X11ClosedError(this.closedReason));
    if (o.signal?.aborted) return Promise.reject(abortReason(o.signal, 'Waiting for the screen to settle'));
    // Notices held back while nobody waited: take them into account now, and hear of every change from here on.
    if (this.rearmTimer) this.rearm(true);
    const start = performance.now();
    const deadline = start + o.maxMs;
    return new Promise<SettleResult>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const end = () => {
        clearTimeout(timer);
        this.waits.delete(wait);
        o.signal?.removeEventListener('abort', onAbort);
      };
      const finish = (now: number, changed: boolean, hitCap: boolean) => {
        end();
        resolve({ waitedMs: Math.round(now - start), hitCap, changed });
      };
      const fail = (e: Error) => {
        end();
        reject(e);
      };
      const onAbort = () => fail(abortReason(o.signal!, 'Waiting for the screen to settle'));
      /** Whether a change since `since` has been seen: from then on only the timer needs to look. */
      let changedYet = false;
      const check = (): void => {
        const now = performance.now();
        const last = this.lastChangeAt;
        let wakeAt: number;
        if (last !== undefined && last >= o.since) {
          changedYet = true;
          // It changed: wait for quiet. Later changes move `last`; the timer then finds that and waits on.
          const quietAt = last + o.quietMs;
          if (now >= quietAt) return finish(now, true, false);
          if (now >= deadline) return finish(now, true, true);
          wakeAt = Math.min(quietAt, deadline);
        } else {
          wakeAt = Math.min(start + o.firstChangeMs, deadline);
          if (now >= wakeAt) return finish(now, false, false);
        }
        clearTimeout(timer);
        timer = setTimeout(check, Math.max(1, Math.ceil(wakeAt - now)));
      };
      const wait = {
        changed: () => {
          if (!changedYet) check();
        },
        closed: fail,
      };
      this.waits.add(wait);
      o.signal?.addEventListener('abort', onAbort, { once: true });
      check();
    });
  }
}

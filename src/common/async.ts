import { abortReason } from './domain-error';

/**
 * Resolves after `ms`, or rejects as soon as `signal` aborts, with the signal's reason (as a
 * DomainError: see abortReason). The timer never outlives the wait.
 *
 * Not node:timers/promises' setTimeout: that one rejects with a bare AbortError, and Jest 29's
 * fake timers (@sinonjs/fake-timers 10) do not reach it, so the backoff and timeout specs that
 * run under fake timers (agent retries, the pool's fake provider) could no longer move its clock.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal, 'The wait'));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!, 'The wait'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Races `work` against a timeout and an optional abort signal. `onTimeout` builds the error.
 * The work itself is not cancelled here; pass the same signal into it where it can stop.
 */
export function withTimeout<T>(
  work: Promise<T>,
  ms: number,
  onTimeout: () => Error,
  signal?: AbortSignal,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => finish(() => reject(abortReason(signal!, 'The operation')));
    const timer = setTimeout(() => finish(() => reject(onTimeout())), ms);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => finish(() => resolve(v)),
      (e: unknown) => finish(() => reject(e instanceof Error ? e : new Error(String(e)))),
    );
  });
}

/**
 * An AbortSignal that aborts when any of the given ones does. Call dispose() to detach.
 *
 * Not AbortSignal.any(): we link a long-lived signal (the process's shutdown, a session's or a
 * computer's lifetime) into every call, and AbortSignal.any() keeps an entry per composite on
 * that source for as long as the source lives (measured on Node 20.20: a million calls left a
 * million entries and +50 MB of heap after gc; nodejs/node#55351 and #64476 report the same on
 * later versions). dispose() detaches at once.
 */
export function linkSignals(...signals: (AbortSignal | undefined)[]): { signal: AbortSignal; controller: AbortController; dispose: () => void } {
  const controller = new AbortController();
  const cleanups: (() => void)[] = [];
  for (const s of signals) {
    if (!s) continue;
    if (s.aborted) {
      controller.abort(s.reason);
      break;
    }
    const on = () => controller.abort(s.reason);
    s.addEventListener('abort', on, { once: true });
    cleanups.push(() => s.removeEventListener('abort', on));
  }
  return { signal: controller.signal, controller, dispose: () => cleanups.forEach((c) => c()) };
}

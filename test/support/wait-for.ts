import { setTimeout as pause } from 'node:timers/promises';
import { inspect } from 'node:util';

/** What a probe gives back while the condition does not hold yet. */
type NotYet = undefined | null | false;

/** The real clock, taken before any test can install Jest's fake timers (which fake hrtime and Date). */
const realNow = process.hrtime.bigint;
const elapsedMs = (since: bigint) => Number((realNow() - since) / 1_000_000n);

/**
 * The one way a test waits for something to happen, instead of sleeping a fixed time before it
 * looks. Calls `probe` every `everyMs` until it gives a value (anything but undefined, null or
 * false) and returns that value. A probe that throws counts as "not yet", so it may use `expect`:
 * its last assertion error then tells what was seen.
 *
 * After `timeoutMs` it throws "Timed out after N ms waiting for <what>", with the last value the
 * probe gave or the last error it threw. A probe that is itself still running 1 s past the
 * deadline is given up on, and the error says so.
 *
 * It keeps real time and pauses with `node:timers/promises`, which Jest's fake timers leave
 * alone: it can wait for a condition while a test drives fake timers.
 */
export async function waitFor<T>(what: string, probe: () => T | NotYet | Promise<T | NotYet>, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const started = realNow();
  let last: { value: unknown } | { error: unknown } | { hung: true } = { value: undefined };
  for (;;) {
    last = await check(probe, Math.max(timeoutMs - elapsedMs(started), 0) + 1000);
    if ('value' in last && last.value !== undefined && last.value !== null && last.value !== false) return last.value as T;
    const left = timeoutMs - elapsedMs(started);
    if (left <= 0 || 'hung' in last) break;
    await pause(Math.min(everyMs, left));
  }
  const seen = 'hung' in last ? 'the last check was still running' : 'error' in last ? `last error: ${show(last.error)}` : `last seen: ${show(last.value)}`;
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what} (${seen})`, 'error' in last ? { cause: last.error } : undefined);
}

/** Runs one probe, giving up on it after `limitMs`. */
async function check<T>(probe: () => T | Promise<T>, limitMs: number): Promise<{ value: T } | { error: unknown } | { hung: true }> {
  const giveUp = new AbortController();
  try {
    return await Promise.race([
      Promise.resolve()
        .then(probe)
        .then((value) => ({ value })),
      pause(limitMs, { hung: true } as const, { signal: giveUp.signal }),
    ]);
  } catch (error) {
    return { error };
  } finally {
    giveUp.abort();
  }
}

function show(x: unknown): string {
  if (x instanceof Error) return x.message;
  return inspect(x, { depth: 2, breakLength: Infinity, maxArrayLength: 10, maxStringLength: 300 });
}

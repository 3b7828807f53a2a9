/**
 * Polls `probe` until it gives a value (anything but undefined or false) and returns it; throws
 * "Timed out waiting for <what>" after `timeoutMs`. The one way a test waits for something to
 * happen, instead of sleeping a fixed time before it looks.
 */
export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

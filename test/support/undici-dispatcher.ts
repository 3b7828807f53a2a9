import { runInThisContext } from 'node:vm';

/**
 * Jest runs each test file in a vm context of its own, whose globalThis lacks what Node's fetch keeps on the real
 * global: undici's global dispatcher. @google/genai hands every request a dispatcher that delegates to that one
 * (to lift undici's own timeouts), so under Jest its calls would fail with "Undici globalDispatcher is not
 * available". Importing this file gives the test context the real global's dispatcher; the server process itself
 * never needs it.
 */
const DISPATCHER = Symbol.for('undici.globalDispatcher.1');
const realGlobal = runInThisContext('globalThis') as Record<symbol, unknown> & { Headers: new () => unknown };
if (realGlobal !== (globalThis as unknown)) {
  // Node creates the dispatcher lazily, with its fetch classes.
  if (!realGlobal[DISPATCHER]) new realGlobal.Headers();
  (globalThis as unknown as Record<symbol, unknown>)[DISPATCHER] ??= realGlobal[DISPATCHER];
}

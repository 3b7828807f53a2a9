import { AsyncLocalStorage } from 'node:async_hooks';

/** Ids that log lines carry when known: the caller's principal, MCP session, session, tool. */
export interface LogFields {
  principal?: string;
  mcp_session?: string;
  session?: string;
  tool?: string;
}

const storage = new AsyncLocalStorage<LogFields>();

/**
 * Off until a logger that prints the fields (JSON lines) turns it on. On Node 20 an
 * AsyncLocalStorage that has run once installs promise hooks for the whole process, and every
 * promise after that costs more: it made a trivial MCP call ~30% slower. With Nest's pretty lines,
 * which never show the fields, nothing pays for them.
 */
let enabled = false;

/** Starts recording log fields (called by a logger that prints them). */
export function enableLogFields() {
  enabled = true;
}

/** Runs `fn` with these fields (added to the current ones) on every log line written inside it. */
export function withLogFields<T>(fields: LogFields, fn: () => T): T {
  if (!enabled) return fn();
  return storage.run({ ...storage.getStore(), ...fields }, fn);
}

/** Adds a field to the current scope, e.g. the session once a tool call has resolved it. */
export function addLogField<K extends keyof LogFields>(key: K, value: LogFields[K]) {
  const store = storage.getStore();
  if (store) store[key] = value;
}

export function currentLogFields(): LogFields | undefined {
  return storage.getStore();
}

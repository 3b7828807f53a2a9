import { AsyncLocalStorage } from 'node:async_hooks';

/** Ids that log lines carry when known: the caller's principal, MCP session, session, tool. */
export interface LogFields {
  principal?: string;
  mcp_session?: string;
  session?: string;
  tool?: string;
}

const storage = new AsyncLocalStorage<LogFields>();

/** Runs `fn` with these fields (added to the current ones) on every log line written inside it. */
export function withLogFields<T>(fields: LogFields, fn: () => T): T {
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

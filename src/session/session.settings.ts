import { Setting, defineSettings, type SettingsOf, Int, Optional } from '../config/settings';

class SessionEnv {
  @Setting('Most sessions at once; beyond it a new session fails at once with `SESSION_LIMIT`.')
  @Int(1, 100_000)
  MAX_SESSIONS = 10;

  @Setting('Most sessions one principal may hold at once (`SESSION_LIMIT` beyond it); unset: `MAX_SESSIONS`.')
  @Optional() @Int(1, 100_000)
  MAX_SESSIONS_PER_PRINCIPAL?: number;

  @Setting('How often idle sessions are looked for.')
  @Int(10, 3_600_000)
  SESSION_SWEEP_INTERVAL_MS = 60_000;

  @Setting('A session unused this long is ended (never one with a running task); an MCP connection that holds its default session or an open `GET` stream, whose client sent nothing for this long and has no call running, is closed too (a client that vanished without DELETE).')
  @Int(1000, 604_800_000)
  SESSION_IDLE_TIMEOUT_MS = 600_000;

  @Setting('Cap on the `idle_timeout_ms` a client may ask for (at least `SESSION_IDLE_TIMEOUT_MS`).')
  @Int(1000, 604_800_000)
  SESSION_MAX_IDLE_TIMEOUT_MS = 86_400_000;

  @Setting('A person who took control of a session\'s desktop in the live view and sent no input for this long loses it: control returns to the agent and the `computer` tool.')
  @Int(1000, 86_400_000)
  LIVE_VIEW_CONTROL_IDLE_MS = 120_000;
}

export const SESSION_SETTINGS = defineSettings({
  namespace: 'session',
  title: 'Sessions',
  env: SessionEnv,
  check: (env) =>
    env.SESSION_MAX_IDLE_TIMEOUT_MS < env.SESSION_IDLE_TIMEOUT_MS
      ? [{ key: 'SESSION_MAX_IDLE_TIMEOUT_MS', after: ['SESSION_IDLE_TIMEOUT_MS'], reason: `must be at least SESSION_IDLE_TIMEOUT_MS (${env.SESSION_IDLE_TIMEOUT_MS})` }]
      : [],
  build: (env) => ({
    maxSessions: env.MAX_SESSIONS,
    maxSessionsPerPrincipal: Math.min(env.MAX_SESSIONS_PER_PRINCIPAL ?? env.MAX_SESSIONS, env.MAX_SESSIONS),
    sweepIntervalMs: env.SESSION_SWEEP_INTERVAL_MS,
    idleTimeoutMs: env.SESSION_IDLE_TIMEOUT_MS,
    maxIdleTimeoutMs: env.SESSION_MAX_IDLE_TIMEOUT_MS,
    /** How long a person may hold control of a desktop without input (human-control.ts). */
    controlIdleMs: env.LIVE_VIEW_CONTROL_IDLE_MS,
  }),
});
export type SessionSettings = SettingsOf<typeof SESSION_SETTINGS>;

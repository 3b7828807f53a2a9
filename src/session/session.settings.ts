import { Setting, defineSettings, type SettingsOf, type SettingsProblem, Int, Optional } from '../config/settings';

/**
 * SESSION_SWEEP_INTERVAL_MS left unset: the shortest idle timeout divided by this, so an idle session ends at most
 * a quarter of its timeout late, and never rarer than SWEEP_MAX_MS. A sweep only walks the sessions in memory.
 */
const SWEEP_DIVISOR = 4;
const SWEEP_MAX_MS = 60_000;
/** DEFAULT_SESSION_IDLE_TIMEOUT_MS left unset: this, or SESSION_IDLE_TIMEOUT_MS when that is shorter. */
const DEFAULT_SESSION_IDLE_MS = 120_000;

class SessionEnv {
  @Setting('Most sessions at once; beyond it a new session fails at once with `SESSION_LIMIT`. Unset: the pool\'s capacity (`POOL_MAX_SIZE`, or the number of `CUA_COMPUTER_URLS` when fewer), so every admitted session gets a computer; set above it, sessions beyond the pool wait for a computer and may get `POOL_EXHAUSTED` (warned at start).')
  @Optional() @Int(1, 100_000)
  MAX_SESSIONS?: number;

  @Setting('Most sessions one principal may hold at once (`SESSION_LIMIT` beyond it); unset: `MAX_SESSIONS`.')
  @Optional() @Int(1, 100_000)
  MAX_SESSIONS_PER_PRINCIPAL?: number;

  @Setting('How often idle sessions and idle MCP connections are looked for. Unset: a quarter of the shortest idle timeout (`DEFAULT_SESSION_IDLE_TIMEOUT_MS`), at most 60 s, so a session ends at most a quarter of its timeout late (30 s with the defaults).')
  @Optional() @Int(10, 3_600_000)
  SESSION_SWEEP_INTERVAL_MS?: number;

  @Setting('A session unused this long is ended (never one with a running task); an MCP connection that holds or held its default session, or has an open `GET` stream, whose client sent nothing for this long and has no call running, is closed too (a client that vanished without DELETE).')
  @Int(1000, 604_800_000)
  SESSION_IDLE_TIMEOUT_MS = 600_000;

  @Setting('A default session (the one a tool call without `session_id` uses) that no call has addressed for this long is ended and its computer freed (never one with a running task), so a client that left without DELETE does not hold a computer for `SESSION_IDLE_TIMEOUT_MS`; the connection\'s next call without `session_id` gets a new default session with a fresh computer. At most `SESSION_IDLE_TIMEOUT_MS`; unset: 2 min, or `SESSION_IDLE_TIMEOUT_MS` when shorter.')
  @Optional() @Int(1000, 604_800_000)
  DEFAULT_SESSION_IDLE_TIMEOUT_MS?: number;

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
  check: (env) => {
    const problems: SettingsProblem[] = [];
    if (env.SESSION_MAX_IDLE_TIMEOUT_MS < env.SESSION_IDLE_TIMEOUT_MS) {
      problems.push({ key: 'SESSION_MAX_IDLE_TIMEOUT_MS', after: ['SESSION_IDLE_TIMEOUT_MS'], reason: `must be at least SESSION_IDLE_TIMEOUT_MS (${env.SESSION_IDLE_TIMEOUT_MS})` });
    }
    if (env.DEFAULT_SESSION_IDLE_TIMEOUT_MS !== undefined && env.DEFAULT_SESSION_IDLE_TIMEOUT_MS > env.SESSION_IDLE_TIMEOUT_MS) {
      problems.push({
        key: 'DEFAULT_SESSION_IDLE_TIMEOUT_MS',
        after: ['SESSION_IDLE_TIMEOUT_MS'],
        reason: `must not be above SESSION_IDLE_TIMEOUT_MS (${env.SESSION_IDLE_TIMEOUT_MS}): a default session is the one a client can leave behind without knowing its id; lower it or raise SESSION_IDLE_TIMEOUT_MS`,
      });
    }
    return problems;
  },
  build: (env) => {
    const defaultIdleTimeoutMs = env.DEFAULT_SESSION_IDLE_TIMEOUT_MS ?? Math.min(DEFAULT_SESSION_IDLE_MS, env.SESSION_IDLE_TIMEOUT_MS);
    return {
      /** MAX_SESSIONS; undefined: the pool's capacity (SessionService.maxSessions()). */
      maxSessions: env.MAX_SESSIONS,
      /** MAX_SESSIONS_PER_PRINCIPAL, at most MAX_SESSIONS; undefined: as many as the server holds. */
      maxSessionsPerPrincipal:
        env.MAX_SESSIONS === undefined ? env.MAX_SESSIONS_PER_PRINCIPAL : Math.min(env.MAX_SESSIONS_PER_PRINCIPAL ?? env.MAX_SESSIONS, env.MAX_SESSIONS),
      // The default sessions' timeout is the shortest the server sets itself (at most SESSION_IDLE_TIMEOUT_MS).
      sweepIntervalMs: env.SESSION_SWEEP_INTERVAL_MS ?? Math.min(SWEEP_MAX_MS, Math.ceil(defaultIdleTimeoutMs / SWEEP_DIVISOR)),
      idleTimeoutMs: env.SESSION_IDLE_TIMEOUT_MS,
      /** How long a default (id-less) session may stay unaddressed: DEFAULT_SESSION_IDLE_TIMEOUT_MS. */
      defaultIdleTimeoutMs,
      maxIdleTimeoutMs: env.SESSION_MAX_IDLE_TIMEOUT_MS,
      /** How long a person may hold control of a desktop without input (human-control.ts). */
      controlIdleMs: env.LIVE_VIEW_CONTROL_IDLE_MS,
    };
  },
});
export type SessionSettings = SettingsOf<typeof SESSION_SETTINGS>;

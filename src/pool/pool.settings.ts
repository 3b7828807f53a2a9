import { Setting, defineSettings, type SettingsOf, Int, Optional } from '../config/settings';
import { SESSION_SETTINGS } from '../session/session.settings';

class PoolEnv {
  @Setting('Most computers alive at once (leased, in stock, starting, being checked or destroyed); a provider with a fixed number of computers (such as `cua`) lowers it to that number.')
  @Int(1, 10_000)
  POOL_MAX_SIZE = 5;

  @Setting('Ready computers kept in stock so a new session starts without waiting (at most `POOL_MAX_SIZE`).')
  @Int(0, 10_000)
  POOL_MIN_WARM = 1;

  @Setting('Most calls waiting for a computer; beyond it a call fails at once with `POOL_QUEUE_FULL`.')
  @Int(0, 100_000)
  POOL_MAX_WAITERS = 100;

  @Setting('How long a call waits for a free computer before `POOL_EXHAUSTED`.')
  @Int(1, 3_600_000)
  POOL_ACQUIRE_TIMEOUT_MS = 30_000;

  @Setting('How long starting one computer may take.')
  @Int(100, 600_000)
  POOL_CREATE_TIMEOUT_MS = 60_000;

  @Setting('How long closing one computer may take before the pool moves on.')
  @Int(100, 600_000)
  POOL_DESTROY_TIMEOUT_MS = 10_000;

  @Setting('How long the liveness check of a stock computer may take before it is leased (at most half the acquire timeout).')
  @Int(10, 60_000)
  POOL_VALIDATE_TIMEOUT_MS = 2_000;

  @Setting('A stock computer unused this long is retired (and replaced while below `POOL_MIN_WARM`).')
  @Int(1000, 604_800_000)
  POOL_IDLE_TIMEOUT_MS = 300_000;

  @Setting('A stock computer is retired before this age, less up to 10% at random so stock does not expire all at once (a leased one never is).')
  @Int(1000, 604_800_000)
  POOL_MAX_LIFETIME_MS = 3_600_000;

  @Setting('A computer leased longer than this is logged with its session, as a possible leak.')
  @Int(1000, 604_800_000)
  POOL_LEASE_WARN_MS = 3_600_000;

  @Setting('Backoff after a failed computer start: doubling from this, capped at `POOL_RETRY_MAX_MS`, with jitter.')
  @Int(10, 600_000)
  POOL_RETRY_BASE_MS = 500;

  @Setting('The cap of that backoff (at least `POOL_RETRY_BASE_MS`).')
  @Int(10, 3_600_000)
  POOL_RETRY_MAX_MS = 30_000;

  @Setting('Most computers one principal may hold or wait for at once: its sessions\' computers, the extra ones of concurrent `run_multi_cua_tasks` and its calls waiting for one (`SESSION_LIMIT` beyond it); unset: as many as the sessions one principal may hold (`MAX_SESSIONS_PER_PRINCIPAL`, and its own default).')
  @Optional() @Int(1, 100_000)
  MAX_COMPUTERS_PER_PRINCIPAL?: number;
}

export const POOL_SETTINGS = defineSettings({
  namespace: 'pool',
  title: 'Pool of computers',
  env: PoolEnv,
  check: (env) => [
    ...(env.POOL_MIN_WARM > env.POOL_MAX_SIZE ? [{ key: 'POOL_MIN_WARM', after: ['POOL_MAX_SIZE'], reason: `must not be above POOL_MAX_SIZE (${env.POOL_MAX_SIZE})` }] : []),
    ...(env.POOL_RETRY_MAX_MS < env.POOL_RETRY_BASE_MS ? [{ key: 'POOL_RETRY_MAX_MS', after: ['POOL_RETRY_BASE_MS'], reason: `must be at least POOL_RETRY_BASE_MS (${env.POOL_RETRY_BASE_MS})` }] : []),
  ],
  build: (env, ctx) => ({
    /** POOL_MAX_SIZE; the pool lowers it to the provider's capacity, if it has one. */
    maxSize: env.POOL_MAX_SIZE,
    /** Computers one principal may hold or wait for at once; undefined: the pool's capacity (ComputerPool.maxPerPrincipal()). */
    maxPerPrincipal: env.MAX_COMPUTERS_PER_PRINCIPAL ?? ctx.of(SESSION_SETTINGS).maxSessionsPerPrincipal,
    minWarm: env.POOL_MIN_WARM,
    maxWaiters: env.POOL_MAX_WAITERS,
    acquireTimeoutMs: env.POOL_ACQUIRE_TIMEOUT_MS,
    createTimeoutMs: env.POOL_CREATE_TIMEOUT_MS,
    destroyTimeoutMs: env.POOL_DESTROY_TIMEOUT_MS,
    validateTimeoutMs: env.POOL_VALIDATE_TIMEOUT_MS,
    idleTimeoutMs: env.POOL_IDLE_TIMEOUT_MS,
    maxLifetimeMs: env.POOL_MAX_LIFETIME_MS,
    leaseWarnMs: env.POOL_LEASE_WARN_MS,
    retryBaseMs: env.POOL_RETRY_BASE_MS,
    retryMaxMs: env.POOL_RETRY_MAX_MS,
  }),
});
export type PoolSettings = SettingsOf<typeof POOL_SETTINGS>;

/** Where exponential backoff starts and where it stops growing. */
export interface BackoffLimits {
  baseMs: number;
  maxMs: number;
}

/**
 * Exponential backoff with jitter: the wait before retry number `attempt` (0 for the first) is
 * min(maxMs, baseMs · 2^attempt), scaled by a random factor in [0.5, 1) so that many clients do
 * not retry in step. Pure: whoever retries counts the attempts and owns the timer.
 */
export function backoffDelay(attempt: number, limits: BackoffLimits, random: () => number = Math.random): number {
  const ceiling = Math.min(limits.maxMs, limits.baseMs * 2 ** Math.min(Math.max(0, attempt), 30));
  return Math.round(ceiling * (0.5 + random() / 2));
}

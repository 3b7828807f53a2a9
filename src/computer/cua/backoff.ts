/**
 * Exponential backoff with jitter: the n-th delay (n from 0) is min(max, base · 2ⁿ), scaled by a
 * random factor in [0.5, 1) so that many clients do not retry in step. Pure state, no timers:
 * whoever waits owns the timer.
 */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** Failures since the last reset. */
  get attempts(): number {
    return this.failures;
  }

  /** Records a failure and returns how long to wait before the next try. */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    return Math.round(ceiling * (0.5 + this.random() / 2));
  }

  /** Records a success: the next failure starts again from the base delay. */
  reset(): void {
    this.failures = 0;
  }
}

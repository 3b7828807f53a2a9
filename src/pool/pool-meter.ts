/** Running figures of one kind of duration: count, total and max, plus a window of recent values for percentiles. */
export class DurationStat {
  count = 0;
  totalMs = 0;
  maxMs = 0;
  private readonly recent: number[] = [];

  constructor(private readonly window = 1000) {}

  add(ms: number) {
    this.count++;
    this.totalMs += ms;
    this.maxMs = Math.max(this.maxMs, ms);
    this.recent.push(ms);
    if (this.recent.length > this.window) this.recent.shift();
  }

  summary() {
    const s = [...this.recent].sort((a, b) => a - b);
    const q = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : 0);
    return { count: this.count, mean_ms: this.count ? Math.round(this.totalMs / this.count) : 0, p50_ms: q(0.5), p95_ms: q(0.95), max_ms: this.maxMs };
  }
}

export type PoolMetrics = ReturnType<PoolMeter['snapshot']>;

/** What the pool has done since start: acquire waits split warm/cold, create and lease durations, failures. */
export class PoolMeter {
  readonly acquireWarm = new DurationStat();
  readonly acquireCold = new DurationStat();
  readonly create = new DurationStat();
  readonly lease = new DurationStat();
  createFailures = 0;
  validationFailures = 0;
  retirements = 0;
  destroyed = 0;
  destroyFailures = 0;

  acquired(warm: boolean, waitedMs: number) {
    (warm ? this.acquireWarm : this.acquireCold).add(waitedMs);
  }
  created(ms: number) {
    this.create.add(ms);
  }
  createFailed() {
    this.createFailures++;
  }
  validationFailed() {
    this.validationFailures++;
  }
  retired() {
    this.retirements++;
  }
  released(heldMs: number) {
    this.lease.add(heldMs);
  }
  destroyedOne() {
    this.destroyed++;
  }
  destroyFailed() {
    this.destroyFailures++;
  }

  snapshot() {
    return {
      acquire_warm: this.acquireWarm.summary(),
      acquire_cold: this.acquireCold.summary(),
      create: this.create.summary(),
      lease: this.lease.summary(),
      create_failures: this.createFailures,
      validation_failures: this.validationFailures,
      retirements: this.retirements,
      destroyed: this.destroyed,
      destroy_failures: this.destroyFailures,
    };
  }
}

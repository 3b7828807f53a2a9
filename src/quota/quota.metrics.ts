import { Injectable, OnModuleInit, Optional } from '@nestjs/common';
import type { Gauge } from 'prom-client';
import type { Ranking, UsageTop } from '../cluster/cluster.module';
import { MetricsRegistry } from '../metrics/metrics.module';
import { QuotaService } from './quota.service';

/** The label value of every principal that has no label of its own (parentheses: no API-key principal can be named so). */
export const OTHER_PRINCIPALS = '(other)';
/** A scrape reads all the figures once, whichever gauge asks first. */
const SNAPSHOT_MS = 1_000;

/**
 * The quotas' Prometheus metrics: usage per principal in this hour and day and agent tasks running per principal,
 * read from the quota ledger at scrape time (with REDIS_URL: of all replicas, each reporting the same), the limits
 * set, and the quota refusals.
 *
 * Label cardinality stays bounded: each figure names only the QUOTA_METRICS_PRINCIPALS principals with the most of
 * it now and sums everyone else under principal="(other)", so one scrape has at most that many plus one series per
 * figure, whatever the number of principals. The names are readable (an operator sees who uses the quota), unlike
 * hashed labels, which would still need a bound and would mix principals in a bucket.
 */
@Injectable()
export class QuotaMetrics implements OnModuleInit {
  constructor(
    private readonly quotas: QuotaService,
    @Optional() private readonly metrics?: MetricsRegistry,
  ) {}

  onModuleInit() {
    const m = this.metrics;
    if (!m) return;
    const snapshot = this.snapshots();
    m.gauge({
      name: 'cua_quota_usage',
      help: `Agent steps and model tokens (input + output) used in the current UTC hour and day, by quota (steps, tokens), window (hour, day) and principal (the ones with the most, the rest as "${OTHER_PRINCIPALS}").`,
      labelNames: ['quota', 'window', 'principal'],
      async collect() {
        const top = await snapshot();
        if (!top) return;
        this.reset();
        for (const quota of ['steps', 'tokens'] as const) for (const window of ['hour', 'day'] as const) setRanking(this, { quota, window }, top[quota][window]);
      },
    });
    m.gauge({
      name: 'cua_agent_tasks_running',
      help: `Agent tasks running now, by principal (the ones with the most, the rest as "${OTHER_PRINCIPALS}").`,
      labelNames: ['principal'],
      async collect() {
        const top = await snapshot();
        if (!top) return;
        this.reset();
        setRanking(this, {}, top.runningTasks);
      },
    });
    const limit = m.gauge({ name: 'cua_quota_limit', help: 'The quota limits set, by quota (tasks, steps, tokens) and window (concurrent, hour, day); absent when unlimited.', labelNames: ['quota', 'window'] });
    const { maxTasks, limits } = this.quotas.configured();
    if (maxTasks !== undefined) limit.set({ quota: 'tasks', window: 'concurrent' }, maxTasks);
    for (const quota of ['steps', 'tokens'] as const) {
      for (const window of ['hour', 'day'] as const) {
        const value = limits[quota][window];
        if (value !== undefined) limit.set({ quota, window }, value);
      }
    }
    const exceeded = m.counter({
      name: 'cua_quota_exceeded_total',
      help: 'Task calls refused and tasks stopped because a quota was used up, by quota (tasks, steps, tokens), window (concurrent, hour, day) and stage (refused, stopped).',
      labelNames: ['quota', 'window', 'stage'],
    });
    m.on(this.quotas.events, 'exceeded', (e, stage) => exceeded.inc({ quota: e.quota, window: e.window ?? 'concurrent', stage }));
  }

  /** Reads the figures at most once per SNAPSHOT_MS; while the ledger cannot be read, the last figures stand. */
  private snapshots(): () => Promise<UsageTop | undefined> {
    let last: UsageTop | undefined;
    let readAt = -Infinity;
    let reading: Promise<UsageTop | undefined> | undefined;
    return () => {
      if (last && Date.now() - readAt < SNAPSHOT_MS) return Promise.resolve(last);
      reading ??= this.quotas
        .top()
        .then(
          (top) => {
            last = top;
            readAt = Date.now();
            return top;
          },
          () => last,
        )
        .finally(() => (reading = undefined));
      return reading;
    };
  }
}

/** The ranking's principals under their names, and the rest summed under OTHER_PRINCIPALS (always present, 0 when nobody else). */
function setRanking<L extends string>(gauge: Gauge<L>, labels: Partial<Record<L, string>>, ranking: Ranking) {
  let named = 0;
  for (const { principal, value } of ranking.top) {
    if (principal === OTHER_PRINCIPALS) continue;
    gauge.set({ ...labels, principal } as Partial<Record<L, string>>, value);
    named += value;
  }
  gauge.set({ ...labels, principal: OTHER_PRINCIPALS } as Partial<Record<L, string>>, Math.max(0, ranking.total - named));
}

import '../app.module';
import { CLUSTER_SETTINGS } from '../cluster/cluster.settings';
import { InMemoryQuotaLedger, NO_LIMITS } from '../cluster/cluster.module';
import { Clock } from '../common/clock';
import { Settings } from '../config/config.module';
import { MetricsRegistry } from '../metrics/metrics.module';
import { QuotaMetrics } from './quota.metrics';
import { QuotaService } from './quota.service';
import { QUOTA_SETTINGS } from './quota.settings';

/** A FAKE clock that stands still (the test must not cross an hour between counting and scraping). */
class StillClock extends Clock {
  now() {
    return Date.UTC(2027, 5, 1, 12, 30);
  }
}

/** Every sample of one metric: its labels (as written) → value. */
function samples(text: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}\\{(.*)\\} (\\S+)$`).exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

describe(QuotaMetrics.name, () => {
  let registry: MetricsRegistry | undefined;
  afterEach(() => registry?.onModuleDestroy());

  it('names only the QUOTA_METRICS_PRINCIPALS principals with the most of each figure, and sums the rest under (other)', async () => {
    const settings = Settings.load({ QUOTA_METRICS_PRINCIPALS: '2', QUOTA_STEPS_PER_DAY: '1000' });
    const ledger = new InMemoryQuotaLedger();
    const clock = new StillClock();
    const quotas = new QuotaService(settings.get(QUOTA_SETTINGS), settings.get(CLUSTER_SETTINGS), ledger, clock);
    registry = new MetricsRegistry();
    new QuotaMetrics(quotas, registry).onModuleInit();
    const now = clock.now();
    // 30 principals, p0 with 1 step … p29 with 30.
    for (let i = 0; i < 30; i++) for (let s = 0; s <= i; s++) await ledger.reserveStep(`p${i}`, now, NO_LIMITS);
    await ledger.startTasks('p3', ['a', 'b'], now, 60_000);
    await ledger.startTasks('p7', ['c'], now, 60_000);
    await ledger.startTasks('p9', ['d'], now, 60_000);

    const { body } = await registry.scrape();
    const total = (30 * 31) / 2;
    expect(samples(body, 'cua_quota_usage')).toEqual({
      'quota="steps",window="hour",principal="p29"': 30,
      'quota="steps",window="hour",principal="p28"': 29,
      'quota="steps",window="hour",principal="(other)"': total - 59,
      'quota="steps",window="day",principal="p29"': 30,
      'quota="steps",window="day",principal="p28"': 29,
      'quota="steps",window="day",principal="(other)"': total - 59,
      'quota="tokens",window="hour",principal="(other)"': 0,
      'quota="tokens",window="day",principal="(other)"': 0,
    });
    expect(samples(body, 'cua_agent_tasks_running')).toEqual({ 'principal="p3"': 2, 'principal="p9"': 1, 'principal="(other)"': 1 });
    expect(samples(body, 'cua_quota_limit')).toEqual({ 'quota="steps",window="day"': 1000 });
  });
});

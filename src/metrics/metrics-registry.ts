import { Injectable, OnModuleDestroy } from '@nestjs/common';
import type { EventEmitter } from 'node:events';
import { collectDefaultMetrics, Counter, type CounterConfiguration, Gauge, type GaugeConfiguration, Histogram, type HistogramConfiguration, Registry } from 'prom-client';

/** Buckets of the duration histograms (seconds): 5 ms to 15 min. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900];

/**
 * The Prometheus registry of this process (its own, not prom-client's global one), with the
 * process's default metrics. Each feature registers its own counters, gauges and histograms here
 * from a `<feature>.metrics.ts` beside its code, and feeds them from its typed events with on();
 * this class knows no feature. Inject it `@Optional()`: an app without MetricsModule (the
 * computer-server mode) has none.
 */
@Injectable()
export class MetricsRegistry implements OnModuleDestroy {
  readonly registry = new Registry();
  private readonly subscriptions: (() => void)[] = [];

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  counter<L extends string>(config: Omit<CounterConfiguration<L>, 'registers'>): Counter<L> {
    return new Counter({ ...config, registers: [this.registry] });
  }

  histogram<L extends string>(config: Omit<HistogramConfiguration<L>, 'registers'>): Histogram<L> {
    return new Histogram({ ...config, registers: [this.registry] });
  }

  gauge<L extends string>(config: Omit<GaugeConfiguration<L>, 'registers'>): Gauge<L> {
    return new Gauge({ ...config, registers: [this.registry] });
  }

  /** A gauge without labels whose value is read from the feature's state at each scrape (awaited when it is a promise). */
  gaugeOf(name: string, help: string, read: () => number | Promise<number>): Gauge {
    return this.gauge({
      name,
      help,
      async collect() {
        this.set(await read());
      },
    });
  }

  /** Listens to a feature's event until the app closes. */
  on<T extends Record<keyof T, unknown[]>, K extends keyof T & string>(emitter: EventEmitter<T>, event: K, listener: (...args: T[K]) => void) {
    // EventEmitter<T>'s own signatures cannot be called with a K still generic; the types above are what callers see.
    const untyped = emitter as unknown as NodeJS.EventEmitter;
    const l = listener as (...args: unknown[]) => void;
    untyped.on(event, l);
    this.subscriptions.push(() => untyped.off(event, l));
  }

  onModuleDestroy() {
    for (const off of this.subscriptions.splice(0)) off();
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

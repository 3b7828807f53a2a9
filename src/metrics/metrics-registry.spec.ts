import { EventEmitter } from 'node:events';
import { MetricsRegistry } from './metrics-registry';

describe(MetricsRegistry.name, () => {
  it('exposes what a feature registers, fed by its events, next to the process metrics', async () => {
    const sut = new MetricsRegistry();
    const events = new EventEmitter<{ done: [kind: string] }>();
    const done = sut.counter({ name: 'test_done_total', help: 'Things done, by kind.', labelNames: ['kind'] });
    let open = 3;
    sut.gaugeOf('test_open', 'Things open now.', () => open);
    sut.on(events, 'done', (kind) => done.inc({ kind }));
    events.emit('done', 'a');
    events.emit('done', 'a');
    open = 5;
    const { contentType, body } = await sut.scrape();
    expect(contentType).toMatch(/^text\/plain/);
    expect(body).toContain('# HELP test_done_total Things done, by kind.\n# TYPE test_done_total counter\ntest_done_total{kind="a"} 2\n');
    expect(body).toContain('test_open 5\n');
    expect(body).toContain('# TYPE process_cpu_seconds_total counter');
  });

  it('stops listening to the features when the app closes', () => {
    const sut = new MetricsRegistry();
    const events = new EventEmitter<{ done: [] }>();
    sut.on(events, 'done', () => undefined);
    expect(events.listenerCount('done')).toBe(1);
    sut.onModuleDestroy();
    expect(events.listenerCount('done')).toBe(0);
  });
});

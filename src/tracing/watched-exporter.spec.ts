import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { WatchedSpanExporter } from './watched-exporter';

/** An exporter whose next answers the test decides (a fake of the OTLP exporter). */
class FakeExporter implements SpanExporter {
  answers: (ExportResult | 'throw')[] = [];
  export(_spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    const next = this.answers.shift();
    if (!next) throw new Error('unexpected export');
    if (next === 'throw') throw new Error('socket hang up');
    done(next);
  }
  async shutdown(): Promise<void> {}
}

const spans = (n: number) => Array.from({ length: n }, () => ({}) as ReadableSpan);
const ok: ExportResult = { code: ExportResultCode.SUCCESS };
const refused: ExportResult = { code: ExportResultCode.FAILED, error: new Error('connect ECONNREFUSED 127.0.0.1:4318') };

describe(WatchedSpanExporter.name, () => {
  it('logs a failing receiver once per outage, counts the spans dropped, and says when it answers again', () => {
    const inner = new FakeExporter();
    const log = { warn: jest.fn<void, [string]>(), log: jest.fn<void, [string]>() };
    const sut = new WatchedSpanExporter(inner, 'http://collector:4318/v1/traces', log);
    const results: ExportResultCode[] = [];
    const send = (n: number) => sut.export(spans(n), (r) => results.push(r.code));

    inner.answers = [ok, refused, refused, 'throw', ok, refused];
    send(1);
    expect(log.warn).not.toHaveBeenCalled();
    send(2);
    send(3);
    send(4);
    expect(log.warn).toHaveBeenCalledTimes(1);
    expect(log.warn.mock.calls[0][0]).toMatch(
      /^Traces could not be sent to http:\/\/collector:4318\/v1\/traces \(connect ECONNREFUSED 127\.0\.0\.1:4318\); spans are dropped until it answers\. .*OTEL_EXPORTER_OTLP_ENDPOINT.*Said once until it recovers\.$/,
    );
    expect(sut.dropped).toBe(9);
    send(1);
    expect(log.log).toHaveBeenCalledWith('Traces reach http://collector:4318/v1/traces again (9 span(s) were dropped meanwhile).');
    expect(sut.dropped).toBe(0);
    send(1);
    expect(log.warn).toHaveBeenCalledTimes(2);
    // Every export got its answer, the thrown one too: the batch processor never waits on a broken exporter.
    expect(results).toEqual([ExportResultCode.SUCCESS, ExportResultCode.FAILED, ExportResultCode.FAILED, ExportResultCode.FAILED, ExportResultCode.SUCCESS, ExportResultCode.FAILED]);
  });
});

import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { errorMessage } from '../common/domain-error';

/** Where the exporter's news goes (a Nest Logger in the app). */
export interface ExportLog {
  warn(message: string): void;
  log(message: string): void;
}

/**
 * Wraps the OTLP exporter so that its failures are heard once per outage: the first failed export is logged (where the
 * spans were going and why they did not get there), the later ones are only counted, and the first export that gets
 * through again is logged with how many spans were lost meanwhile. Nothing here throws: a failed export never reaches a
 * call (the SDK sends in the background; the spans of a failed export are dropped).
 */
export class WatchedSpanExporter implements SpanExporter {
  private failing = false;
  private lost = 0;

  constructor(
    private readonly inner: SpanExporter,
    /** The receiver, as the log names it (no credentials). */
    private readonly target: string,
    private readonly log: ExportLog,
  ) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    const done = (result: ExportResult) => {
      this.note(result, spans.length);
      resultCallback(result);
    };
    try {
      this.inner.export(spans, done);
    } catch (e) {
      done({ code: ExportResultCode.FAILED, error: e instanceof Error ? e : new Error(String(e)) });
    }
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }

  /** Spans dropped since the last export that got through (0 while exports work). */
  get dropped(): number {
    return this.lost;
  }

  private note(result: ExportResult, count: number): void {
    if (result.code === ExportResultCode.SUCCESS) {
      if (this.failing) this.log.log(`Traces reach ${this.target} again (${this.lost} span(s) were dropped meanwhile).`);
      this.failing = false;
      this.lost = 0;
      return;
    }
    this.lost += count;
    if (this.failing) return;
    this.failing = true;
    this.log.warn(
      `Traces could not be sent to ${this.target} (${errorMessage(result.error ?? 'no reason given')}); spans are dropped until it answers. ` +
        'Check that an OTLP/HTTP receiver listens there (OTEL_EXPORTER_OTLP_ENDPOINT, usually port 4318). Said once until it recovers.',
    );
  }
}

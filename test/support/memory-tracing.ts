import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Settings } from '../../src/config/config.module';
import { SdkTracing } from '../../src/tracing/sdk-tracing';
import { TRACING_SETTINGS } from '../../src/tracing/tracing.settings';

/**
 * Tracing with the real OpenTelemetry SDK whose spans stay in memory (the SDK's InMemorySpanExporter) instead of going to an
 * OTLP receiver: for unit specs that check which spans a piece of code makes.
 */
export function memoryTracing(env: Record<string, string> = {}) {
  const exporter = new InMemorySpanExporter();
  const settings = Settings.load(env).get(TRACING_SETTINGS);
  const tracing = new SdkTracing(settings, exporter);
  return {
    tracing,
    exporter,
    /** The spans finished so far, in the order they ended. */
    async spans(): Promise<ReadableSpan[]> {
      await tracing.forceFlush();
      return exporter.getFinishedSpans();
    },
  };
}

/** Whether `child` is a direct child of `parent` (same trace, parent span id). */
export function isChildOf(child: ReadableSpan, parent: ReadableSpan): boolean {
  return child.spanContext().traceId === parent.spanContext().traceId && child.parentSpanContext?.spanId === parent.spanContext().spanId;
}

import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { errorMessage } from '../common/domain-error';
import { packageVersion } from '../common/version';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from './attributes';
import { RecordingTracing } from './tracing';
import type { SamplerName, TracingExport, TracingSettings } from './tracing.settings';
import { WatchedSpanExporter, type ExportLog } from './watched-exporter';

const DEFAULT_SERVICE_NAME = 'cua-mcp-server';
/** The instrumentation scope every span carries. */
export const TRACER_NAME = 'cua-mcp-server';

export function samplerOf(name: SamplerName, ratio: number): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}

/** The export URL as logs may show it: without user and password. */
export function describeTarget(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  return u.toString();
}

/** The OTLP/HTTP (JSON) exporter for the configured receiver, its failures logged once per outage. */
export function otlpExporter(target: TracingExport, log: ExportLog): WatchedSpanExporter {
  return new WatchedSpanExporter(new OTLPTraceExporter({ url: target.url, headers: target.headers }), describeTarget(target.url), log);
}

/**
 * Tracing with the OpenTelemetry SDK: a BasicTracerProvider of our own (never registered globally) with a batch span
 * processor sending to `exporter`, the resource (service name and version, OTEL_RESOURCE_ATTRIBUTES) and the sampler from
 * the settings. `shutdown` sends what is still waiting, within TRACING_SHUTDOWN_TIMEOUT_MS.
 */
export class SdkTracing extends RecordingTracing {
  private readonly provider: BasicTracerProvider;

  constructor(
    private readonly settings: TracingSettings,
    exporter: SpanExporter,
  ) {
    const attributes = settings.resourceAttributes;
    const provider = new BasicTracerProvider({
      resource: defaultResource().merge(
        resourceFromAttributes({
          [ATTR_SERVICE_VERSION]: packageVersion(),
          ...attributes,
          [ATTR_SERVICE_NAME]: settings.serviceName ?? attributes[ATTR_SERVICE_NAME] ?? DEFAULT_SERVICE_NAME,
        }),
      ),
      sampler: samplerOf(settings.sampler, settings.samplerRatio),
      spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: settings.batchDelayMs })],
    });
    super(provider.getTracer(TRACER_NAME, packageVersion()));
    this.provider = provider;
  }

  /** Hands every finished span to the exporter now (tests; the batch processor otherwise waits OTEL_BSP_SCHEDULE_DELAY). */
  async forceFlush(): Promise<void> {
    await this.provider.forceFlush();
  }

  /**
   * Sends the spans still waiting and stops; resolves within TRACING_SHUTDOWN_TIMEOUT_MS whatever the receiver does (what is
   * not sent by then is dropped). Returns what became of them, for the log.
   */
  async shutdown(): Promise<string> {
    const ms = this.settings.shutdownTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`not all sent within ${ms} ms (TRACING_SHUTDOWN_TIMEOUT_MS): the rest was dropped`), ms);
    });
    const sent = this.provider.shutdown().then(
      () => 'the spans still waiting were handed to the exporter',
      (e: unknown) => `not sent: ${errorMessage(e)}`,
    );
    try {
      return await Promise.race([sent, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}

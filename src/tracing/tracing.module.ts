import { Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { SdkTracing, describeTarget, otlpExporter } from './sdk-tracing';
import { NoTracing, Tracing } from './tracing';
import { TRACING_SETTINGS, type TracingSettings } from './tracing.settings';

/** Tracing as the settings ask: off (nothing started) without an endpoint, else the SDK exporting over OTLP/HTTP. */
function tracingFrom(settings: TracingSettings): Tracing {
  if (!settings.export) return new NoTracing();
  const logger = new Logger('Tracing');
  const tracing = new SdkTracing(settings, otlpExporter(settings.export, logger));
  logger.log(`Tracing: spans go to ${describeTarget(settings.export.url)} over OTLP/HTTP (sampler ${settings.sampler}).`);
  return tracing;
}

/** Sends the spans still waiting when the server stops: after the shutdown has ended every call and session (their spans ended). */
@Injectable()
class TracingShutdown implements OnApplicationShutdown {
  private readonly logger = new Logger('Tracing');

  constructor(private readonly tracing: Tracing) {}

  async onApplicationShutdown(): Promise<void> {
    if (!(this.tracing instanceof SdkTracing)) return;
    this.logger.log(`Tracing stopped: ${await this.tracing.shutdown()}.`);
  }
}

/**
 * OpenTelemetry traces (docs/operations.md#tracing): spans for tool calls, agent tasks and steps, model calls and computer
 * actions, sent to an OTLP/HTTP receiver when OTEL_EXPORTER_OTLP_ENDPOINT (or …_TRACES_ENDPOINT) is set; off otherwise. The
 * features that make spans import this module and use `Tracing`.
 */
@Module({
  providers: [{ provide: Tracing, useFactory: tracingFrom, inject: [TRACING_SETTINGS.token] }, TracingShutdown],
  exports: [Tracing],
})
export class TracingModule {}

export { Tracing, NoTracing, SpanKind, errorType, failSpan } from './tracing';
export type { Attributes, Context, Span, SpanOptions } from './tracing';
export * from './attributes';

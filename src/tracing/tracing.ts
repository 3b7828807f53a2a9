import { AsyncLocalStorage } from 'node:async_hooks';
import {
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  isSpanContextValid,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type TextMapGetter,
  type TimeInput,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { isDomainError } from '../common/domain-error';
import { ATTR_ERROR_TYPE } from './attributes';

export { SpanKind };
export type { Attributes, Context, Span };

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The parent; default: the current span (or none). */
  parent?: Context;
  links?: Link[];
  startTime?: TimeInput;
}

/**
 * Spans for what the server does (tool calls, agent tasks and steps, model calls, computer actions), exported over OTLP when
 * an endpoint is configured (docs/operations.md#tracing). The seams call it the same way whether tracing is on or off; off,
 * every call is nearly free and nothing is recorded.
 *
 * "The current span" is kept per async flow: spans started inside `withSpan(span, work)` are children of `span`.
 */
export abstract class Tracing {
  /** Whether spans are recorded and exported. */
  abstract readonly enabled: boolean;

  /** A span started now, a child of `options.parent` or of the current span; whoever starts it ends it. */
  abstract startSpan(name: string, options?: SpanOptions): Span;

  /** Runs `work` with `span` as the current span. */
  abstract withSpan<T>(span: Span, work: () => T): T;

  /** Runs `work` with `context` as the current context (e.g. the one an HTTP request carried). */
  abstract withContext<T>(context: Context, work: () => T): T;

  /** The current context. */
  abstract active(): Context;

  /**
   * The W3C trace context (`traceparent`, `tracestate`) a carrier holds — an MCP request's `params._meta` (SEP-414), an HTTP
   * request's headers — or undefined when it holds none that is valid.
   */
  abstract extract(carrier: unknown): Context | undefined;

  /**
   * Where the span of an MCP request goes (the MCP semantic conventions' rule): under the trace context the request's `params._meta`
   * carries, linked to the current one (the HTTP request's `traceparent`, when it had one); without one in `_meta`, under the current
   * context.
   */
  parentOf(meta: unknown): Pick<SpanOptions, 'parent' | 'links'> {
    const ambient = this.active();
    const fromMeta = this.extract(meta);
    if (!fromMeta) return { parent: ambient };
    const transport = trace.getSpanContext(ambient);
    return { parent: fromMeta, ...(transport && isSpanContextValid(transport) && { links: [{ context: transport }] }) };
  }

  /** Runs `work` in a new span, ended when `work` settles; an error it throws marks the span failed (`failSpan`) and is rethrown. */
  async inSpan<T>(name: string, options: SpanOptions, work: (span: Span) => Promise<T>): Promise<T> {
    const span = this.startSpan(name, options);
    try {
      return await this.withSpan(span, () => work(span));
    } catch (e) {
      failSpan(span, errorType(e));
      throw e;
    } finally {
      span.end();
    }
  }
}

/** What an error is called on a span (`error.type`): a domain error's code, else the error's class name. Never its message. */
export function errorType(e: unknown): string {
  if (isDomainError(e)) return e.code;
  return e instanceof Error && e.name ? e.name : '_OTHER';
}

/**
 * Marks a span failed with a low-cardinality type (`error.type`); the status says `description` (default: the type) — a code,
 * never a message, which could hold what a caller typed or a vendor answered.
 */
export function failSpan(span: Span, type: string, description = type): void {
  span.setAttribute(ATTR_ERROR_TYPE, type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: description });
}

const NOT_RECORDING = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** Tracing off (no endpoint configured, or OTEL_SDK_DISABLED): no SDK, no context kept, nothing recorded or sent. */
export class NoTracing extends Tracing {
  readonly enabled = false;

  startSpan(_name: string, _options?: SpanOptions): Span {
    return NOT_RECORDING;
  }

  withSpan<T>(_span: Span, work: () => T): T {
    return work();
  }

  withContext<T>(_context: Context, work: () => T): T {
    return work();
  }

  active(): Context {
    return ROOT_CONTEXT;
  }

  extract(_carrier: unknown): Context | undefined {
    return undefined;
  }

  override inSpan<T>(_name: string, _options: SpanOptions, work: (span: Span) => Promise<T>): Promise<T> {
    return work(NOT_RECORDING);
  }
}

/** Reads only string values (a `_meta` object may hold anything; a header may repeat). */
const getter: TextMapGetter<Record<string, unknown>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    if (typeof value === 'string') return value;
    return Array.isArray(value) && typeof value[0] === 'string' ? value[0] : undefined;
  },
};

/** The tracer a recording Tracing uses (a BasicTracerProvider's, in TracingModule). */
export interface TracerLike {
  startSpan(name: string, options: { kind?: SpanKind; attributes?: Attributes; links?: Link[]; startTime?: TimeInput }, context: Context): Span;
}

/**
 * Tracing on: spans from the SDK's tracer. The current context lives in an AsyncLocalStorage of this instance (no global
 * OpenTelemetry state is set: two apps in one process, as in tests, keep their traces apart). That storage exists only
 * here, so a server without tracing never pays for it.
 */
export class RecordingTracing extends Tracing {
  readonly enabled = true;
  private readonly storage = new AsyncLocalStorage<Context>();
  private readonly propagator = new W3CTraceContextPropagator();

  constructor(private readonly tracer: TracerLike) {
    super();
  }

  startSpan(name: string, options: SpanOptions = {}): Span {
    const { parent, ...rest } = options;
    return this.tracer.startSpan(name, rest, parent ?? this.active());
  }

  withSpan<T>(span: Span, work: () => T): T {
    return this.storage.run(trace.setSpan(this.active(), span), work);
  }

  withContext<T>(context: Context, work: () => T): T {
    return this.storage.run(context, work);
  }

  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }

  extract(carrier: unknown): Context | undefined {
    if (typeof carrier !== 'object' || carrier === null) return undefined;
    const context = this.propagator.extract(ROOT_CONTEXT, carrier, getter);
    const parent = trace.getSpanContext(context);
    return parent && isSpanContextValid(parent) ? context : undefined;
  }
}

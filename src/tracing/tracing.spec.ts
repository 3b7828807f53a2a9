import { SpanStatusCode, trace } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { isChildOf, memoryTracing } from '../../test/support/memory-tracing';
import { DomainError, DomainErrorCode } from '../common/domain-error';
import { Settings } from '../config/config.module';
import { SdkTracing } from './sdk-tracing';
import { NoTracing, failSpan } from './tracing';
import { TRACING_SETTINGS } from './tracing.settings';

const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';
const traceparent = (traceId = CLIENT_TRACE, spanId = CLIENT_SPAN, flags = '01') => `00-${traceId}-${spanId}-${flags}`;
const byName = (spans: ReadableSpan[], name: string) => {
  const found = spans.filter((s) => s.name === name);
  if (found.length !== 1) throw new Error(`${found.length} spans named ${name} among ${spans.map((s) => s.name).join(', ')}`);
  return found[0];
};

describe(SdkTracing.name, () => {
  it('keeps the current span across awaits: spans started inside withSpan are its children, in concurrent flows too', async () => {
    const { tracing: sut, spans } = memoryTracing();
    await sut.inSpan('call', {}, async () => {
      await Promise.all(
        ['a', 'b'].map((task) =>
          sut.inSpan(`task ${task}`, {}, async () => {
            await new Promise((resolve) => setTimeout(resolve, 5));
            await sut.inSpan(`step ${task}`, {}, async () => undefined);
          }),
        ),
      );
    });
    const all = await spans();
    const call = byName(all, 'call');
    expect(call.parentSpanContext).toBeUndefined();
    for (const task of ['a', 'b']) {
      expect(isChildOf(byName(all, `task ${task}`), call)).toBe(true);
      expect(isChildOf(byName(all, `step ${task}`), byName(all, `task ${task}`))).toBe(true);
    }
  });

  it("continues a request's trace: from `_meta` (linking the HTTP request's), else from the HTTP headers", async () => {
    const { tracing: sut, spans } = memoryTracing();
    const fromHeaders = sut.extract({ traceparent: traceparent('1'.repeat(32), '2'.repeat(16)), 'content-type': 'application/json' });
    expect(fromHeaders).toBeDefined();
    await sut.withContext(fromHeaders!, async () => {
      sut.startSpan('with meta', sut.parentOf({ traceparent: traceparent(), tracestate: 'vendor=x' })).end();
      sut.startSpan('without meta', sut.parentOf({ progressToken: 3 })).end();
    });
    const all = await spans();
    const withMeta = byName(all, 'with meta');
    expect(withMeta.spanContext().traceId).toBe(CLIENT_TRACE);
    expect(withMeta.parentSpanContext).toMatchObject({ spanId: CLIENT_SPAN, isRemote: true });
    expect(withMeta.spanContext().traceState?.get('vendor')).toBe('x');
    expect(withMeta.links.map((l) => l.context.spanId)).toEqual(['2'.repeat(16)]);
    const withoutMeta = byName(all, 'without meta');
    expect(withoutMeta.spanContext().traceId).toBe('1'.repeat(32));
    expect(withoutMeta.links).toEqual([]);
  });

  it('ignores what is not a valid W3C trace context: the span starts a trace of its own', () => {
    const { tracing: sut } = memoryTracing();
    for (const carrier of [undefined, null, 'traceparent', { traceparent: 42 }, { traceparent: 'garbage' }, { traceparent: traceparent('0'.repeat(32)) }, { traceparent: traceparent(CLIENT_TRACE, '0'.repeat(16)) }]) {
      expect(sut.extract(carrier)).toBeUndefined();
    }
    expect(sut.extract({ traceparent: [traceparent(), 'second'] })).toBeDefined();
  });

  it("respects a client's decision not to sample its trace (parentbased), and OTEL_TRACES_SAMPLER=always_off", async () => {
    const { tracing: sut, spans } = memoryTracing();
    sut.startSpan('unsampled', sut.parentOf({ traceparent: traceparent(CLIENT_TRACE, CLIENT_SPAN, '00') })).end();
    sut.startSpan('sampled', sut.parentOf({})).end();
    expect((await spans()).map((s) => s.name)).toEqual(['sampled']);
    const off = memoryTracing({ OTEL_TRACES_SAMPLER: 'always_off' });
    off.tracing.startSpan('any').end();
    expect(await off.spans()).toEqual([]);
  });

  it("marks a failed span with its code only: error.type and the status say the code, never the error's message", async () => {
    const { tracing: sut, spans } = memoryTracing();
    const secret = 'typed-hunter2-secret';
    await expect(sut.inSpan('fails', {}, async () => Promise.reject(new DomainError(DomainErrorCode.COMPUTER_FAILED, `while typing ${secret}`)))).rejects.toThrow(secret);
    await expect(sut.inSpan('throws', {}, async () => Promise.reject(new TypeError(secret)))).rejects.toThrow(TypeError);
    const tool = sut.startSpan('tool');
    failSpan(tool, 'tool_error', 'SESSION_LIMIT');
    tool.end();
    const all = await spans();
    expect(byName(all, 'fails')).toMatchObject({ status: { code: SpanStatusCode.ERROR, message: 'COMPUTER_FAILED' }, attributes: { 'error.type': 'COMPUTER_FAILED' } });
    expect(byName(all, 'throws')).toMatchObject({ status: { code: SpanStatusCode.ERROR, message: 'TypeError' }, attributes: { 'error.type': 'TypeError' } });
    expect(byName(all, 'tool')).toMatchObject({ status: { code: SpanStatusCode.ERROR, message: 'SESSION_LIMIT' }, attributes: { 'error.type': 'tool_error' } });
    expect(JSON.stringify(all.map((s) => ({ a: s.attributes, st: s.status, e: s.events })))).not.toContain(secret);
  });

  it('names the service (OTEL_SERVICE_NAME, else service.name of OTEL_RESOURCE_ATTRIBUTES, else cua-mcp-server) and its version', async () => {
    const resourceOf = async (env: Record<string, string>) => {
      const { tracing, spans } = memoryTracing(env);
      tracing.startSpan('x').end();
      return (await spans())[0].resource.attributes;
    };
    expect(await resourceOf({})).toMatchObject({ 'service.name': 'cua-mcp-server', 'service.version': expect.stringMatching(/^\d+\.\d+\.\d+/), 'telemetry.sdk.name': 'opentelemetry' });
    expect(await resourceOf({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs,k8s.pod.name=cua-0' })).toMatchObject({ 'service.name': 'from-attrs', 'k8s.pod.name': 'cua-0' });
    expect(await resourceOf({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs', OTEL_SERVICE_NAME: 'computers' })).toMatchObject({ 'service.name': 'computers' });
  });

  it('shutdown hands the waiting spans to the exporter, and returns within TRACING_SHUTDOWN_TIMEOUT_MS when the exporter hangs', async () => {
    const exported: string[] = [];
    const unanswered: ((result: { code: ExportResultCode }) => void)[] = [];
    const hanging: SpanExporter = {
      // Does not answer (until the test ends), like a receiver that accepted the connection and went silent.
      export: (spans, done) => {
        exported.push(...spans.map((s) => s.name));
        unanswered.push(done);
      },
      shutdown: () => new Promise(() => undefined),
    };
    const settings = Settings.load({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_BSP_SCHEDULE_DELAY: '600000', TRACING_SHUTDOWN_TIMEOUT_MS: '200' }).get(TRACING_SETTINGS);
    const sut = new SdkTracing(settings, hanging);
    sut.startSpan('waiting').end();
    expect(exported).toEqual([]);
    await expect(sut.shutdown()).resolves.toMatch(/not all sent within 200 ms \(TRACING_SHUTDOWN_TIMEOUT_MS\)/);
    expect(exported).toEqual(['waiting']);
    for (const done of unanswered) done({ code: ExportResultCode.FAILED });

    const working: SpanExporter = { export: (spans, done) => (exported.push(...spans.map((s) => s.name)), done({ code: ExportResultCode.SUCCESS })), shutdown: async () => undefined };
    const fine = new SdkTracing(settings, working);
    fine.startSpan('last').end();
    await expect(fine.shutdown()).resolves.toBe('the spans still waiting were handed to the exporter');
    expect(exported).toEqual(['waiting', 'last']);
  });
});

describe(NoTracing.name, () => {
  it('records nothing, keeps no context, and runs the work as it is', async () => {
    const sut = new NoTracing();
    expect(sut.enabled).toBe(false);
    const span = sut.startSpan('x', sut.parentOf({ traceparent: traceparent() }));
    expect(span.isRecording()).toBe(false);
    expect(sut.extract({ traceparent: traceparent() })).toBeUndefined();
    await expect(sut.inSpan('y', {}, async (s) => (s === span ? 'same no-op span' : 'other'))).resolves.toBe('same no-op span');
    expect(sut.withSpan(span, () => trace.getSpan(sut.active()))).toBeUndefined();
  });
});

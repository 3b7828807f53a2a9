import { Setting, defineSettings, type SettingsOf, Bool, HttpUrl, Int, OneOf, Optional, Secret, Text } from '../config/settings';

/** The OTLP path of traces, appended to OTEL_EXPORTER_OTLP_ENDPOINT (not to the traces-only endpoint, which is used as written). */
export const TRACES_PATH = 'v1/traces';

const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;
export type SamplerName = (typeof SAMPLERS)[number];

/** `name=value` pairs separated by commas, as OTEL_RESOURCE_ATTRIBUTES writes them (values percent-encoded). */
const KEY_VALUE_LIST = /^\s*[^\s=,]+\s*=[^,]*(,\s*[^\s=,]+\s*=[^,]*)*$/;
/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Tracing's settings are the OpenTelemetry SDK's own environment variables (the names every OpenTelemetry SDK reads), so a platform's
 * usual set-up applies as it is. The ones declared here are validated at boot and handed to the SDK; the SDK reads the others
 * (OTEL_BSP_MAX_QUEUE_SIZE, OTEL_EXPORTER_OTLP_TIMEOUT, OTEL_EXPORTER_OTLP_COMPRESSION, OTEL_EXPORTER_OTLP_CERTIFICATE, the span
 * limits …) from the environment itself (docs/operations.md#tracing).
 */
class TracingEnv {
  @Setting(
    'Where traces go: the base URL of an OTLP/HTTP receiver (an OpenTelemetry Collector, Jaeger, Grafana Tempo …, usually port 4318); spans are sent to ' +
      '`<url>/v1/traces`. Unset (and `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` unset): no tracing at all — no SDK is started and nothing is sent.',
  )
  @Optional() @HttpUrl('http://otel-collector:4318')
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;

  @Setting('The full URL traces are sent to, used as written (e.g. `http://otel-collector:4318/v1/traces`); wins over `OTEL_EXPORTER_OTLP_ENDPOINT`.')
  @Optional() @HttpUrl('http://otel-collector:4318/v1/traces')
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string;

  @Setting(
    'Headers sent with every export, `name=value` pairs separated by commas, values percent-encoded (e.g. `authorization=Bearer%20<token>` for a hosted backend).',
    { secret: true },
  )
  @Optional() @Secret()
  OTEL_EXPORTER_OTLP_HEADERS?: string;

  @Setting('Headers sent with every export of traces, as `OTEL_EXPORTER_OTLP_HEADERS`; a header named in both takes this value.', { secret: true })
  @Optional() @Secret()
  OTEL_EXPORTER_OTLP_TRACES_HEADERS?: string;

  @Setting(
    'The OTLP encoding: the server sends OTLP/HTTP with JSON bodies (`http/json`), which every OTLP/HTTP receiver takes. Other values are refused ' +
      '(`grpc` receivers listen on another port, usually 4317: point the endpoint at the OTLP/HTTP one, usually 4318).',
  )
  @Optional() @Text()
  OTEL_EXPORTER_OTLP_PROTOCOL?: string;

  @Setting('The OTLP encoding of traces, as `OTEL_EXPORTER_OTLP_PROTOCOL`.')
  @Optional() @Text()
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?: string;

  @Setting('The service name spans carry (`service.name`). Unset: `service.name` from `OTEL_RESOURCE_ATTRIBUTES`, else `cua-mcp-server`.')
  @Optional() @Text()
  OTEL_SERVICE_NAME?: string;

  @Setting(
    'More attributes of this process for every span, `key=value` pairs separated by commas, values percent-encoded ' +
      '(e.g. `deployment.environment.name=prod,k8s.pod.name=cua-0`).',
  )
  @Optional() @Text(KEY_VALUE_LIST, 'key=value pairs separated by commas, such as deployment.environment.name=prod,k8s.pod.name=cua-0')
  OTEL_RESOURCE_ATTRIBUTES?: string;

  @Setting(
    'Which traces are kept: `parentbased_always_on` (all, but a client\'s trace that it did not sample stays unsampled), `always_on`, `always_off`, ' +
      '`traceidratio` or `parentbased_traceidratio` (a share of new traces, `OTEL_TRACES_SAMPLER_ARG`), `parentbased_always_off`.',
  )
  @OneOf(SAMPLERS)
  OTEL_TRACES_SAMPLER: SamplerName = 'parentbased_always_on';

  @Setting('With a `…traceidratio` sampler: the share of traces kept, from 0 to 1 (default 1).')
  @Optional() @Text(/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/, 'a number from 0 to 1, such as 0.25')
  OTEL_TRACES_SAMPLER_ARG?: string;

  @Setting('How long finished spans wait to be sent together (the batch span processor\'s delay), in ms.')
  @Int(1, 600_000)
  OTEL_BSP_SCHEDULE_DELAY = 5_000;

  @Setting('`true`: no tracing, whatever the endpoint says (the SDK\'s standard switch).')
  @Bool()
  OTEL_SDK_DISABLED = false;

  @Setting('At shutdown, how long the spans still waiting may take to be sent; after it they are dropped and the process exits.')
  @Int(0, 120_000)
  TRACING_SHUTDOWN_TIMEOUT_MS = 5_000;
}

/** Parses `name=value,name2=value2` (values percent-encoded) into a record; undefined for items that are not of that form. */
export function keyValueList(text: string | undefined): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  if (text === undefined) return out;
  for (const item of text.split(',')) {
    if (item.trim() === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) return undefined;
    const name = item.slice(0, eq).trim();
    let value: string;
    try {
      value = decodeURIComponent(item.slice(eq + 1).trim());
    } catch {
      return undefined;
    }
    if (name === '') return undefined;
    out[name] = value;
  }
  return out;
}

export interface TracingExport {
  /** The URL spans are POSTed to. */
  url: string;
  headers: Record<string, string>;
}

export const TRACING_SETTINGS = defineSettings({
  namespace: 'tracing',
  title: 'Tracing (OpenTelemetry)',
  docs: 'operations.md#tracing',
  env: TracingEnv,
  check: (env, ctx) => {
    const problems: { key: string; reason: string }[] = [];
    for (const key of ['OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'] as const) {
      const value = env[key];
      if (value !== undefined && value !== 'http/json') {
        problems.push({
          key,
          reason:
            'this server sends OTLP over HTTP with JSON bodies (http/json) only: unset it or set http/json, and point the endpoint at the receiver\'s OTLP/HTTP port (usually 4318)',
        });
      }
    }
    for (const key of ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS'] as const) {
      const parsed = env[key] === undefined ? {} : keyValueList(env[key]);
      if (!parsed || !Object.keys(parsed).every((name) => HEADER_NAME.test(name))) {
        problems.push({ key, reason: 'must be header=value pairs separated by commas, values percent-encoded, such as authorization=Bearer%20abc' });
      }
    }
    if (env.OTEL_RESOURCE_ATTRIBUTES !== undefined && !keyValueList(env.OTEL_RESOURCE_ATTRIBUTES)) {
      problems.push({ key: 'OTEL_RESOURCE_ATTRIBUTES', reason: 'must be key=value pairs separated by commas, values percent-encoded' });
    }
    if (ctx.given('OTEL_TRACES_SAMPLER_ARG') && !env.OTEL_TRACES_SAMPLER.endsWith('traceidratio')) {
      problems.push({ key: 'OTEL_TRACES_SAMPLER_ARG', reason: 'has no effect unless OTEL_TRACES_SAMPLER is traceidratio or parentbased_traceidratio' });
    }
    return problems;
  },
  build: (env) => {
    const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
    const url = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base === undefined ? undefined : `${base.endsWith('/') ? base : `${base}/`}${TRACES_PATH}`);
    const exportTo: TracingExport | undefined =
      url === undefined || env.OTEL_SDK_DISABLED
        ? undefined
        : { url, headers: { ...keyValueList(env.OTEL_EXPORTER_OTLP_HEADERS), ...keyValueList(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS) } };
    return {
      /** Where spans go; undefined: tracing is off (no SDK, nothing sent). */
      export: exportTo,
      serviceName: env.OTEL_SERVICE_NAME,
      resourceAttributes: keyValueList(env.OTEL_RESOURCE_ATTRIBUTES) ?? {},
      sampler: env.OTEL_TRACES_SAMPLER,
      samplerRatio: env.OTEL_TRACES_SAMPLER_ARG === undefined ? 1 : Number(env.OTEL_TRACES_SAMPLER_ARG),
      batchDelayMs: env.OTEL_BSP_SCHEDULE_DELAY,
      shutdownTimeoutMs: env.TRACING_SHUTDOWN_TIMEOUT_MS,
    };
  },
  // The header values one by one (a token inside `authorization=Bearer%20…`), besides the whole settings.
  secrets: (env) =>
    [env.OTEL_EXPORTER_OTLP_HEADERS, env.OTEL_EXPORTER_OTLP_TRACES_HEADERS]
      .filter((v): v is string => v !== undefined)
      .flatMap((v) => [v, ...Object.values(keyValueList(v) ?? {}).flatMap((h) => [h, h.replace(/^(Bearer|Basic)\s+/i, '')]).filter((h) => h.length >= 8)]),
});
export type TracingSettings = SettingsOf<typeof TRACING_SETTINGS>;

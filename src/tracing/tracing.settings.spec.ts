import '../app.module';
import { ConfigValidationError, Settings } from '../config/config.module';
import { TRACING_SETTINGS } from './tracing.settings';

function refusal(env: Record<string, string>): string {
  try {
    Settings.load(env);
  } catch (e) {
    if (e instanceof ConfigValidationError) return e.message;
    throw e;
  }
  throw new Error('the settings were accepted');
}

const tracing = (env: Record<string, string>) => Settings.load(env).get(TRACING_SETTINGS);

describe('TRACING_SETTINGS', () => {
  it('is off without an endpoint, and with OTEL_SDK_DISABLED whatever the endpoint', () => {
    expect(tracing({})).toMatchObject({ export: undefined, sampler: 'parentbased_always_on', batchDelayMs: 5_000, shutdownTimeoutMs: 5_000 });
    expect(tracing({ OTEL_SERVICE_NAME: 'x', OTEL_RESOURCE_ATTRIBUTES: 'a=b' }).export).toBeUndefined();
    expect(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }).export).toBeUndefined();
  });

  it('sends to <OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces, or to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as written', () => {
    expect(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).export?.url).toBe('http://collector:4318/v1/traces');
    expect(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example.com/tenant/' }).export?.url).toBe('https://otlp.example.com/tenant/v1/traces');
    expect(
      tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://tempo:4318/otlp/v1/traces' }).export?.url,
    ).toBe('http://tempo:4318/otlp/v1/traces');
  });

  it('refuses what is not an http(s) URL, naming the key and an example', () => {
    expect(refusal({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toMatch(/OTEL_EXPORTER_OTLP_ENDPOINT="collector:4318": must be an http\(s\) URL such as http:\/\/otel-collector:4318/);
    expect(refusal({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'grpc://collector:4317' })).toMatch(/OTEL_EXPORTER_OTLP_TRACES_ENDPOINT/);
  });

  it('sends OTLP/HTTP JSON only: grpc and http/protobuf are refused with what to do', () => {
    expect(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).export).toBeDefined();
    expect(refusal({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toMatch(/OTEL_EXPORTER_OTLP_PROTOCOL="grpc": this server sends OTLP over HTTP with JSON bodies \(http\/json\) only: unset it or set http\/json/);
    expect(refusal({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' })).toMatch(/OTEL_EXPORTER_OTLP_TRACES_PROTOCOL/);
  });

  it('merges the headers (the traces-only ones win), decodes them, and never shows them in an error', () => {
    const s = Settings.load({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20tok-123456789,x-tenant=a',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-tenant=b',
    });
    expect(s.get(TRACING_SETTINGS).export?.headers).toEqual({ authorization: 'Bearer tok-123456789', 'x-tenant': 'b' });
    // The token is among the secrets the server redacts from what it lets out (the agent's redaction).
    expect(s.secretValues()).toEqual(expect.arrayContaining(['Bearer tok-123456789', 'tok-123456789']));
    const message = refusal({ OTEL_EXPORTER_OTLP_HEADERS: 'authorization: Bearer tok-123456789' });
    expect(message).toMatch(/OTEL_EXPORTER_OTLP_HEADERS=\(secret\): must be header=value pairs separated by commas/);
    expect(message).not.toContain('tok-123456789');
  });

  it('takes the service name and the resource attributes, percent-decoded', () => {
    expect(tracing({ OTEL_SERVICE_NAME: 'computers', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod,team=a%2Cb' })).toMatchObject({
      serviceName: 'computers',
      resourceAttributes: { 'deployment.environment.name': 'prod', team: 'a,b' },
    });
    expect(refusal({ OTEL_RESOURCE_ATTRIBUTES: 'just-a-word' })).toMatch(/OTEL_RESOURCE_ATTRIBUTES="just-a-word": must be key=value pairs/);
    expect(refusal({ OTEL_RESOURCE_ATTRIBUTES: 'a=%E0%A4%A' })).toMatch(/OTEL_RESOURCE_ATTRIBUTES.*percent-encoded/);
  });

  it('checks the sampler and its ratio', () => {
    expect(tracing({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' })).toMatchObject({ sampler: 'parentbased_traceidratio', samplerRatio: 0.25 });
    expect(refusal({ OTEL_TRACES_SAMPLER: 'jaeger_remote' })).toMatch(/OTEL_TRACES_SAMPLER="jaeger_remote": must be always_on, always_off, traceidratio/);
    expect(refusal({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.5' })).toMatch(/OTEL_TRACES_SAMPLER_ARG="1.5": must be a number from 0 to 1/);
    expect(refusal({ OTEL_TRACES_SAMPLER_ARG: '0.5' })).toMatch(/OTEL_TRACES_SAMPLER_ARG="0.5": has no effect unless OTEL_TRACES_SAMPLER is traceidratio/);
  });
});

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An attribute value as OTLP/JSON writes it (ints may come as strings: they are 64-bit). */
interface AnyValue {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
}
interface KeyValue {
  key: string;
  value: AnyValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: KeyValue[];
  events?: { name: string; attributes?: KeyValue[] }[];
  links?: { traceId: string; spanId: string }[];
  status?: { code?: number; message?: string };
}
interface ExportRequest {
  resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { scope?: { name?: string }; spans?: OtlpSpan[] }[] }[];
}

/** One span as the receiver got it, its attributes as a plain record. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP's numbering: 1 internal, 2 server, 3 client. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  events: { name: string; attributes: Record<string, string | number | boolean> }[];
  links: { traceId: string; spanId: string }[];
  status: { code: number; message?: string };
  resource: Record<string, string | number | boolean>;
  scope: string | undefined;
}

/** OTLP span kinds. */
export const KIND = { internal: 1, server: 2, client: 3 } as const;
/** OTLP status codes. */
export const STATUS = { unset: 0, ok: 1, error: 2 } as const;

function valueOf(v: AnyValue): string | number | boolean {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  return JSON.stringify(v);
}
const record = (kvs: KeyValue[] = []) => Object.fromEntries(kvs.map((kv) => [kv.key, valueOf(kv.value)]));

/**
 * A real OTLP/HTTP receiver on loopback, for tests: it takes what the server's exporter POSTs to `/v1/traces` (OTLP with JSON
 * bodies), keeps each request as it came (path, headers, raw body) and decodes its spans. `refuse` makes it answer 400, as a
 * receiver that rejects exports (the exporter does not retry a 400).
 */
export class OtlpReceiver {
  readonly requests: { path: string; headers: IncomingHttpHeaders; body: string }[] = [];
  refuse = false;
  private server?: Server;

  /** The base URL (OTEL_EXPORTER_OTLP_ENDPOINT). */
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (this.refuse) {
          res.writeHead(400, { 'content-type': 'application/json' }).end('{"code":3,"message":"refused by the test"}');
          return;
        }
        this.requests.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Every span received so far. */
  spans(): ReceivedSpan[] {
    return this.requests.flatMap((r) =>
      ((JSON.parse(r.body) as ExportRequest).resourceSpans ?? []).flatMap((rs) =>
        (rs.scopeSpans ?? []).flatMap((ss) =>
          (ss.spans ?? []).map((s) => ({
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? '',
            name: s.name,
            kind: s.kind,
            attributes: record(s.attributes),
            events: (s.events ?? []).map((e) => ({ name: e.name, attributes: record(e.attributes) })),
            links: (s.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
            status: { code: s.status?.code ?? 0, ...(s.status?.message ? { message: s.status.message } : {}) },
            resource: record(rs.resource?.attributes),
            scope: ss.scope?.name,
          })),
        ),
      ),
    );
  }

  /** Everything the exporter sent, as one text (to look for what must never be there). */
  raw(): string {
    return this.requests.map((r) => r.body).join('\n');
  }
}

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import protobuf from 'protobufjs';

// A real OTLP/HTTP receiver for tests: decodes `http/protobuf` bodies with the official
// definitions (test/fixtures/opentelemetry-proto, from open-telemetry/opentelemetry-proto
// v1.11.0) and `http/json` bodies as JSON, and keeps what arrived with the request's path,
// content type and headers.

const protoRoot = fileURLToPath(new URL('../fixtures/opentelemetry-proto/', import.meta.url));
let root: protobuf.Root | undefined;
function definitions(): protobuf.Root {
  if (root) return root;
  const r = new protobuf.Root();
  r.resolvePath = (_origin, target) => join(protoRoot, target);
  r.loadSync(['opentelemetry/proto/collector/trace/v1/trace_service.proto', 'opentelemetry/proto/collector/metrics/v1/metrics_service.proto']);
  return (root = r);
}

export type AttributeValue = string | number | boolean | AttributeValue[] | undefined;

export interface ReceivedSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  kind: string;
  attributes: Record<string, AttributeValue>;
  resource: Record<string, AttributeValue>;
  scope: string;
}

export interface ReceivedPoint {
  metric: string;
  unit: string;
  attributes: Record<string, AttributeValue>;
  /** A sum's or gauge's value, or a histogram's count. */
  value: number;
  resource: Record<string, AttributeValue>;
}

export interface Received {
  path: string;
  contentType: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

/** One OTLP AnyValue, from protobuf (toObject) or JSON: both use the same field names. */
function valueOf(v: Record<string, unknown> | undefined): AttributeValue {
  if (!v) return undefined;
  if ('stringValue' in v) return v.stringValue as string;
  if ('boolValue' in v) return v.boolValue as boolean;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return Number(v.doubleValue);
  if ('arrayValue' in v) return ((v.arrayValue as { values?: Record<string, unknown>[] }).values ?? []).map(valueOf);
  return undefined;
}

function attributesOf(list: unknown): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const kv of (list as { key: string; value: Record<string, unknown> }[] | undefined) ?? []) out[kv.key] = valueOf(kv.value);
  return out;
}

/** Trace and span ids: bytes in protobuf (decoded to a Buffer), hex strings in JSON. */
function idOf(id: unknown): string {
  if (id === undefined || id === null) return '';
  if (typeof id === 'string') return id;
  return Buffer.from(id as Uint8Array).toString('hex');
}

export class OtlpReceiver {
  readonly requests: Received[] = [];
  private server?: http.Server;
  url = '';

  async start(): Promise<this> {
    const server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (d: Buffer) => chunks.push(d));
      request.on('end', () => {
        const raw = Buffer.concat(chunks);
        const contentType = String(request.headers['content-type'] ?? '');
        const path = request.url ?? '';
        let body: unknown;
        if (contentType.includes('application/x-protobuf')) {
          const type = definitions().lookupType(
            path.includes('metrics')
              ? 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest'
              : 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest',
          );
          body = type.toObject(type.decode(raw), { longs: Number, enums: String, defaults: false, oneofs: false });
          response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
        } else {
          body = JSON.parse(raw.toString('utf8') || '{}');
          response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        }
        this.requests.push({ path, contentType, headers: request.headers, body });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Every span received, in any request carrying resourceSpans. */
  spans(): ReceivedSpan[] {
    const spans: ReceivedSpan[] = [];
    for (const { body } of this.requests) {
      for (const rs of (body as { resourceSpans?: unknown[] }).resourceSpans ?? []) {
        const { resource, scopeSpans } = rs as {
          resource?: { attributes?: unknown };
          scopeSpans?: { scope?: { name?: string }; spans?: Record<string, unknown>[] }[];
        };
        for (const ss of scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            spans.push({
              name: s.name as string,
              traceId: idOf(s.traceId),
              spanId: idOf(s.spanId),
              parentSpanId: idOf(s.parentSpanId),
              kind: String(s.kind),
              attributes: attributesOf(s.attributes),
              resource: attributesOf(resource?.attributes),
              scope: ss.scope?.name ?? '',
            });
          }
        }
      }
    }
    return spans;
  }

  /** Every metric data point received. */
  points(): ReceivedPoint[] {
    const points: ReceivedPoint[] = [];
    for (const { body } of this.requests) {
      for (const rm of (body as { resourceMetrics?: unknown[] }).resourceMetrics ?? []) {
        const { resource, scopeMetrics } = rm as { resource?: { attributes?: unknown }; scopeMetrics?: { metrics?: Record<string, unknown>[] }[] };
        for (const sm of scopeMetrics ?? []) {
          for (const m of sm.metrics ?? []) {
            const data = (m.sum ?? m.gauge ?? m.histogram) as { dataPoints?: Record<string, unknown>[] } | undefined;
            for (const p of data?.dataPoints ?? []) {
              const value = m.histogram ? Number(p.count) : Number(p.asInt ?? p.asDouble ?? 0);
              points.push({
                metric: m.name as string,
                unit: (m.unit as string) ?? '',
                attributes: attributesOf(p.attributes),
                value,
                resource: attributesOf(resource?.attributes),
              });
            }
          }
        }
      }
    }
    return points;
  }
}

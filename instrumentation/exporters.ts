// Span processors and metric readers from the standard environment variables, as the
// OpenTelemetry specification describes them (OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER,
// OTEL_EXPORTER_OTLP_*PROTOCOL, OTEL_METRIC_EXPORT_INTERVAL/_TIMEOUT). NodeSDK builds these too,
// but its console exporters write to stdout, which is agentperf's `--json` output, and its
// Prometheus exporter cannot listen on "any free port"; so agentperf builds them here and hands
// them to NodeSDK. OTLP exporters are imported only when asked for (grpc pulls in grpc-js).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import {
  AggregationTemporality,
  InstrumentType,
  PeriodicExportingMetricReader,
  type MetricProducer,
  type MetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { SimpleSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ConfigError, ListenError } from '../src/errors.js';
import type { Logger } from '../src/logger.js';
import { prometheusScrapeHandler, ScopeMergingExporter } from './metric-export.js';
import type { PreaggregatedProducer } from './preaggregated.js';
import { exportSettingsFromEnv, WorkerSpanProcessor } from './worker-span-processor.js';

type Protocol = 'http/protobuf' | 'http/json' | 'grpc';

/** A comma-separated list variable: trimmed, deduplicated, undefined when empty (empty and unset are equal). */
export function listFromEnv(value: string | undefined): string[] | undefined {
  const items = [
    ...new Set(
      (value ?? '')
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean),
    ),
  ];
  return items.length > 0 ? items : undefined;
}

/** The OTLP protocol for a signal: the signal's own variable, then the general one, then http/protobuf. */
export function otlpProtocol(signal: 'traces' | 'metrics', env: NodeJS.ProcessEnv, log?: Logger): Protocol {
  const given = (env[`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_PROTOCOL`] ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? '').trim();
  if (given === '' || given === 'http/protobuf') return 'http/protobuf';
  if (given === 'http/json' || given === 'grpc') return given;
  log?.warn({ protocol: given }, `OTEL_EXPORTER_OTLP_PROTOCOL "${given}" is not one of http/protobuf, http/json, grpc: using http/protobuf`);
  return 'http/protobuf';
}

const ENDPOINT_VARIABLES = [
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT',
  'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT',
] as const;

/**
 * Every OTLP endpoint variable that is set must be an http or https URL (the specification's
 * form, for grpc too): checked before any exporter is made, because the OpenTelemetry
 * exporters take `not-a-url` without complaint and send to localhost:4318 instead.
 */
export function validateOtlpEndpoints(env: NodeJS.ProcessEnv): void {
  for (const variable of ENDPOINT_VARIABLES) {
    const value = env[variable]?.trim();
    if (!value) continue;
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) {
      throw new ConfigError(variable, `${variable} must be an http or https URL such as http://localhost:4318, got ${JSON.stringify(value)}`);
    }
  }
}

/** An exporter the environment configured wrong (a malformed endpoint): an error naming the variables, not "Invalid URL". */
async function configured<T>(signal: 'traces' | 'metrics', env: NodeJS.ProcessEnv, make: () => Promise<T>): Promise<T> {
  try {
    return await make();
  } catch (error) {
    const variable =
      env[`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_ENDPOINT`] !== undefined
        ? `OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_ENDPOINT`
        : 'OTEL_EXPORTER_OTLP_ENDPOINT';
    throw new ConfigError(
      variable,
      `the OTLP ${signal} exporter cannot be made from ${variable}=${JSON.stringify(env[variable] ?? '')} (protocol ${otlpProtocol(signal, env)}): ${(error as Error).message}; it must be a URL such as http://localhost:4318`,
    );
  }
}

/** The OTLP span exporter OTEL_EXPORTER_OTLP_*PROTOCOL asks for (made in the export worker, export-worker.ts). */
export function otlpSpanExporter(env: NodeJS.ProcessEnv, log: Logger): Promise<SpanExporter> {
  return configured('traces', env, async () => {
    switch (otlpProtocol('traces', env, log)) {
      case 'http/json':
        return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
      case 'grpc':
        return new (await import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter();
      default:
        return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
    }
  });
}

/** The OTLP metric exporter the environment asks for; `timeoutMillis` over OTEL_EXPORTER_OTLP_METRICS_TIMEOUT when given (retries included). */
function otlpMetricExporter(env: NodeJS.ProcessEnv, log: Logger, timeoutMillis?: number): Promise<PushMetricExporter> {
  const config = timeoutMillis === undefined ? {} : { timeoutMillis: Math.max(1, timeoutMillis) };
  return configured('metrics', env, async () => {
    switch (otlpProtocol('metrics', env, log)) {
      case 'http/json':
        return new (await import('@opentelemetry/exporter-metrics-otlp-http')).OTLPMetricExporter(config);
      case 'grpc':
        return new (await import('@opentelemetry/exporter-metrics-otlp-grpc')).OTLPMetricExporter(config);
      default:
        return new (await import('@opentelemetry/exporter-metrics-otlp-proto')).OTLPMetricExporter(config);
    }
  });
}

/** The console span exporter, on stderr: one JSON line per span. */
export const STDERR_SPAN_EXPORTER: SpanExporter = {
  export(spans, done) {
    for (const span of spans) {
      const { traceId, spanId } = span.spanContext();
      process.stderr.write(
        `${JSON.stringify({ service: span.resource.attributes['service.name'], traceId, spanId, parentSpanId: span.parentSpanContext?.spanId, name: span.name, kind: span.kind, startTime: span.startTime, duration: span.duration, attributes: span.attributes, status: span.status, events: span.events.map((e) => ({ name: e.name, attributes: e.attributes })) })}\n`,
      );
    }
    done({ code: 0 });
  },
  shutdown: async () => {},
};

/** The console metric exporter, on stderr: one JSON line per metric per export. */
const STDERR_METRIC_EXPORTER: PushMetricExporter = {
  export(metrics: ResourceMetrics, done) {
    for (const scope of metrics.scopeMetrics) {
      for (const metric of scope.metrics) {
        process.stderr.write(
          `${JSON.stringify({ scope: scope.scope.name, name: metric.descriptor.name, unit: metric.descriptor.unit, dataPoints: metric.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value })) })}\n`,
        );
      }
    }
    done({ code: 0 });
  },
  selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE,
  forceFlush: async () => {},
  shutdown: async () => {},
};

/**
 * What OTEL_TRACES_EXPORTER asks for, as span processors: `otlp` (batched, by
 * OTEL_EXPORTER_OTLP_PROTOCOL), `console` (stderr, at once), `none`. Unset, `whenUnset` applies:
 * the specification's `otlp` for an application under `register`, and for agentperf's own
 * commands `otlp` only when an OTLP endpoint is set (a load test does not send spans to a
 * collector nobody started).
 */
export async function spanProcessorsFromEnv(
  env: NodeJS.ProcessEnv,
  whenUnset: 'otlp' | 'otlp-if-endpoint',
  log: Logger,
  simple = false,
): Promise<SpanProcessor[]> {
  const endpointSet = Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  const names = listFromEnv(env.OTEL_TRACES_EXPORTER) ?? (whenUnset === 'otlp' || endpointSet ? ['otlp'] : []);
  if (names.includes('none')) return [];
  const processors: SpanProcessor[] = [];
  for (const name of names) {
    if (name === 'otlp') {
      // Batched: in the export worker, off the main thread. `simple` (tests, one-shot commands
      // that want each span at once): on this thread.
      processors.push(simple ? new SimpleSpanProcessor(await otlpSpanExporter(env, log)) : await WorkerSpanProcessor.start(exportSettingsFromEnv(env), log));
    } else if (name === 'console') processors.push(new SimpleSpanProcessor(STDERR_SPAN_EXPORTER));
    else log.warn({ exporter: name }, `OTEL_TRACES_EXPORTER "${name}" is not supported here (otlp, console, none): ignored`);
  }
  return processors;
}

export interface PrometheusEndpoint {
  reader: PrometheusExporter;
  /** Answers a scrape: names with their units, one scope (metric-export.ts). */
  scrape: (request: IncomingMessage, response: ServerResponse) => void;
  /** Where /metrics is served, when agentperf serves it. */
  url?: string;
  server?: Server;
}

/**
 * The Prometheus reader, with agentperf's own small server around its handler when `listen` is
 * given (the exporter's own server reads port 0, "any free port", as "unset" and takes 9464).
 * Unref'd: the endpoint must not keep a finished program alive.
 */
export async function prometheusEndpoint(
  listen: { host: string; port: number } | undefined,
  metricProducers: MetricProducer[],
  setting = '--metrics-port',
): Promise<PrometheusEndpoint> {
  const reader = new PrometheusExporter({ preventServerStart: true, metricProducers });
  const scrape = prometheusScrapeHandler(reader);
  if (!listen) return { reader, scrape };
  const server = createServer((request, response) => {
    if (request.url?.split('?')[0] === '/metrics') scrape(request, response);
    else response.writeHead(404).end('not found: try /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new ListenError('the Prometheus /metrics endpoint', setting, listen.host, listen.port, error)));
    server.listen(listen.port, listen.host, () => resolve());
  });
  server.unref();
  return { reader, scrape, server, url: `http://${listen.host}:${(server.address() as AddressInfo).port}/metrics` };
}

/** A positive number of milliseconds, else the default (0 is not a period: OpenTelemetry's reader refuses it). */
function millisFromEnv(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && value.trim() !== '' && Number.isFinite(n) && n > 0 ? n : fallback;
}

/**
 * What OTEL_METRICS_EXPORTER asks for besides Prometheus: `otlp` and `console` as periodic
 * readers (OTEL_METRIC_EXPORT_INTERVAL, default 60 s; _TIMEOUT, 30 s, never above the interval).
 * Prometheus (the default here) is a pull reader, made by `prometheusEndpoint`.
 */
export async function pushMetricReadersFromEnv(
  env: NodeJS.ProcessEnv,
  log: Logger,
  producer: PreaggregatedProducer,
  flushTimeoutMs: number,
): Promise<{ readers: MetricReader[]; exporters: ScopeMergingExporter[] }> {
  const interval = millisFromEnv(env.OTEL_METRIC_EXPORT_INTERVAL, 60_000);
  const timeout = Math.min(interval, millisFromEnv(env.OTEL_METRIC_EXPORT_TIMEOUT, 30_000));
  const readers: MetricReader[] = [];
  const exporters: ScopeMergingExporter[] = [];
  for (const name of metricsExporters(env)) {
    if (name === 'otlp') {
      // The last export, at shutdown, through an exporter whose retries end within the flush bound.
      const exporter = new ScopeMergingExporter(await otlpMetricExporter(env, log), await otlpMetricExporter(env, log, flushTimeoutMs));
      // Delta when the exporter asks for it (OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE).
      const temporality = exporter.selectAggregationTemporality?.(InstrumentType.HISTOGRAM) ?? AggregationTemporality.CUMULATIVE;
      exporters.push(exporter);
      readers.push(
        new PeriodicExportingMetricReader({
          exporter,
          exportIntervalMillis: interval,
          exportTimeoutMillis: timeout,
          metricProducers: [producer.forReader(temporality)],
        }),
      );
    } else if (name === 'console')
      readers.push(
        new PeriodicExportingMetricReader({
          exporter: new ScopeMergingExporter(STDERR_METRIC_EXPORTER),
          exportIntervalMillis: interval,
          exportTimeoutMillis: timeout,
          metricProducers: [producer],
        }),
      );
    else if (name !== 'prometheus')
      log.warn({ exporter: name }, `OTEL_METRICS_EXPORTER "${name}" is not supported here (prometheus, otlp, console, none): ignored`);
  }
  return { readers, exporters };
}

/** What OTEL_METRICS_EXPORTER names (default `prometheus` here); none at all for `none`. */
export function metricsExporters(env: NodeJS.ProcessEnv): string[] {
  const names = listFromEnv(env.OTEL_METRICS_EXPORTER) ?? ['prometheus'];
  return names.includes('none') ? [] : names;
}

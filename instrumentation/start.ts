import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, type MetricReader } from '@opentelemetry/sdk-metrics';
import { AlwaysOffSampler, AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, SimpleSpanProcessor, TraceIdRatioBasedSampler, type Sampler, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ListenError } from '../src/errors.js';
import { rootLogger, setLogContext, type Logger } from '../src/logger.js';
import { VERSION } from '../src/runtime/self.js';
import { contextManager } from './context.js';
import { HdrRegistry } from './hdr-registry.js';
import { Subscribers } from './subscribers.js';
import { SwitchableTracerProvider } from './switchable.js';


/**
 * Discards spans: what benchmarks and the gate use for "fully on", so that the cost of making
 * and batching spans is measured, not the cost of sending them.
 */
export const NOOP_SPAN_EXPORTER: SpanExporter = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: () => Promise.resolve(),
};

export interface InstrumentationOptions {
  /**
   * Prometheus `/metrics` (default 127.0.0.1:9464; port 0 picks a free one), or false for no
   * HTTP endpoint (metrics are still collected, e.g. by `metricReader`).
   */
  prometheus?: { host?: string; port?: number } | false;
  /** Another metric reader instead of Prometheus (tests use an in-memory one). */
  metricReader?: MetricReader;
  /**
   * Where spans go. Default from the environment: OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT
   * (or ..._TRACES_ENDPOINT) is set, the console when OTEL_TRACES_EXPORTER=console, otherwise
   * no spans at all.
   */
  spanExporter?: SpanExporter | 'none';
  /** `simple` exports each span at once (tests); `batch` (default) in the background. */
  spanProcessor?: 'simple' | 'batch';
  /**
   * Head sampling: the share of traces recorded (0 to 1), parent-based so the SDK's spans
   * follow their agent span. Default from OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG, else 1.
   * Metrics and HDR histograms record every call whatever is sampled.
   */
  sampleRatio?: number;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Busy work added to every traced agent call, in µs: the gate's self-test uses it to stand for a costlier instrumentation. */
  simulatedCostUs?: number;
}

export interface Instrumentation {
  hdr: HdrRegistry;
  /** The Prometheus endpoint, when one is served. */
  metricsUrl: string | undefined;
  metricReader: MetricReader;
  /** Exposes a cache's entries and bytes by tier as gauges. */
  observeCache(cache: Parameters<Subscribers['observeCache']>[0]): void;
  /** Exposes an orchestrator's queue length and bound as gauges. */
  observeOrchestrator(orchestrator: Parameters<Subscribers['observeOrchestrator']>[0]): void;
  /**
   * Switches everything off (no channel subscribed, every tracer handing out spans that record
   * nothing) and on again, without tearing it down: how the overhead is measured in one process.
   */
  setEnabled(enabled: boolean): void;
  /** Flushes spans and metrics, unsubscribes from every channel, and unregisters the providers. */
  stop(): Promise<void>;
}

/**
 * The sampler: `ratio` from code wins; else OTEL_TRACES_SAMPLER as the specification lists it
 * (always_on, always_off, traceidratio and their parentbased_ forms, with
 * OTEL_TRACES_SAMPLER_ARG); default parentbased_always_on. Samplers that need a remote
 * service (jaeger_remote, xray) are not offered: the default is used, with a warning.
 */
export function samplerFor(ratio: number | undefined, env: NodeJS.ProcessEnv, log?: Logger): Sampler {
  const ratioSampler = (r: number) => (r >= 1 ? new AlwaysOnSampler() : r <= 0 ? new AlwaysOffSampler() : new TraceIdRatioBasedSampler(r));
  if (ratio !== undefined && Number.isFinite(ratio)) return new ParentBasedSampler({ root: ratioSampler(ratio) });
  const arg = Number(env.OTEL_TRACES_SAMPLER_ARG ?? '1');
  const r = Number.isFinite(arg) ? Math.min(1, Math.max(0, arg)) : 1;
  switch ((env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on').trim()) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratioSampler(r);
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratioSampler(r) });
    case 'parentbased_always_on':
    case '':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    default:
      log?.warn({ sampler: env.OTEL_TRACES_SAMPLER }, 'OTEL_TRACES_SAMPLER not supported here: using parentbased_always_on');
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/**
 * OTEL_RESOURCE_ATTRIBUTES (`key=value,...`, values percent-decoded) under OTEL_SERVICE_NAME
 * and agentperf's own service.version default.
 */
export function resourceAttributesFrom(env: NodeJS.ProcessEnv): Record<string, string> {
  const attributes: Record<string, string> = { 'service.name': 'agentperf', 'service.version': VERSION };
  for (const pair of (env.OTEL_RESOURCE_ATTRIBUTES ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    try {
      attributes[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      // a malformed percent-encoding: the pair is skipped, as the specification says
    }
  }
  if (env.OTEL_SERVICE_NAME) attributes['service.name'] = env.OTEL_SERVICE_NAME;
  return attributes;
}

/** The console exporter, writing to stderr. */
const STDERR_SPAN_EXPORTER: SpanExporter = {
  export(spans, done) {
    for (const span of spans) {
      const { traceId, spanId } = span.spanContext();
      process.stderr.write(`${JSON.stringify({ service: span.resource.attributes['service.name'], traceId, spanId, parentSpanId: span.parentSpanContext?.spanId, name: span.name, kind: span.kind, startTime: span.startTime, duration: span.duration, attributes: span.attributes, status: span.status, events: span.events.map((e) => ({ name: e.name, attributes: e.attributes })) })}\n`);
    }
    done({ code: 0 });
  },
  shutdown: async () => {},
};

/** Whether the environment asks for telemetry to be exported (an OTLP endpoint or the console exporter). */
export function telemetryConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.OTEL_SDK_DISABLED !== 'true' && spanExporterFromEnv(env) !== undefined;
}

function spanExporterFromEnv(env: NodeJS.ProcessEnv): SpanExporter | undefined {
  if (env.OTEL_TRACES_EXPORTER === 'none') return undefined;
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return new OTLPTraceExporter();
  // On stderr, one JSON line per span: stdout stays the command's (`--json` output).
  if (env.OTEL_TRACES_EXPORTER === 'console') return STDERR_SPAN_EXPORTER;
  return undefined;
}

/**
 * Starts OpenTelemetry (spans, metrics, Prometheus) and the HDR histograms, and subscribes to
 * the core's diagnostics channels. One at a time per process: it registers the global
 * providers, which the Anthropic SDK uses for its own gen_ai spans.
 */
export async function startInstrumentation(options: InstrumentationOptions = {}): Promise<Instrumentation> {
  const env = options.env ?? process.env;
  const log = (options.logger ?? rootLogger).child({ component: 'instrumentation' });
  const resource = resourceFromAttributes(resourceAttributesFrom(env));

  let metricReader: MetricReader;
  let metricsUrl: string | undefined;
  let metricsServer: Server | undefined;
  if (options.metricReader) metricReader = options.metricReader;
  else {
    const prometheus = options.prometheus === false ? undefined : { host: options.prometheus?.host ?? '127.0.0.1', port: options.prometheus?.port ?? 9464 };
    // Our own server around the exporter's handler: the exporter's would read port 0 ("any
    // free port") as "unset" and take 9464.
    const exporter = new PrometheusExporter({ preventServerStart: true });
    if (prometheus) {
      const server = createServer((request, response) => {
        if (request.url?.split('?')[0] === '/metrics') exporter.getMetricsRequestHandler(request, response);
        else response.writeHead(404).end('not found: try /metrics\n');
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', (error) => reject(new ListenError('the Prometheus /metrics endpoint', '--metrics-port', prometheus.host, prometheus.port, error)));
        server.listen(prometheus.port, prometheus.host, () => resolve());
      });
      // Unref'd: the endpoint must not keep a finished program alive (a one-shot script under
      // `--import agentperf/register` exits, and its telemetry is flushed on the way out).
      server.unref();
      metricsServer = server;
      metricsUrl = `http://${prometheus.host}:${(server.address() as AddressInfo).port}/metrics`;
    }
    metricReader = exporter;
  }
  const meterProvider = new MeterProvider({ resource, readers: [metricReader] });
  metrics.setGlobalMeterProvider(meterProvider);

  // OTEL_SDK_DISABLED=true: no spans at all (agentperf's own HDR histograms and Prometheus
  // endpoint are its measurements, and stay).
  const sdkDisabled = env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true';
  const exporter = options.spanExporter === 'none' || sdkDisabled ? undefined : (options.spanExporter ?? spanExporterFromEnv(env));
  let tracerProvider: BasicTracerProvider | undefined;
  let switchable: SwitchableTracerProvider | undefined;
  const logContext = (call?: object) => {
    const span = call ? Subscribers.spanOf(call) : trace.getSpan(context.active());
    if (!span) return undefined;
    const { traceId, spanId } = span.spanContext();
    return { trace_id: traceId, span_id: spanId };
  };
  if (exporter) {
    const processor = options.spanProcessor === 'simple' ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter);
    tracerProvider = new BasicTracerProvider({ resource, spanProcessors: [processor], sampler: samplerFor(options.sampleRatio, env, log) });
    switchable = new SwitchableTracerProvider(tracerProvider);
    context.setGlobalContextManager(contextManager);
    trace.setGlobalTracerProvider(switchable);
    // W3C trace context and baggage: `serve` joins its callers' traces, and the SDK's outgoing
    // requests carry the trace on (OTEL_PROPAGATORS=none switches it off).
    if ((env.OTEL_PROPAGATORS ?? '').trim() !== 'none') {
      propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
    }
    setLogContext(logContext);
  }

  const hdr = new HdrRegistry();
  const subscribers = new Subscribers(hdr, meterProvider.getMeter('agentperf', VERSION), switchable?.getTracer('agentperf', VERSION), log, options.simulatedCostUs ?? 0);
  subscribers.subscribe();
  if (metricsUrl) log.info({ metricsUrl }, 'Prometheus metrics served');

  let stopped = false;
  return {
    hdr,
    metricsUrl,
    metricReader,
    observeCache: (cache) => subscribers.observeCache(cache),
    observeOrchestrator: (orchestrator) => subscribers.observeOrchestrator(orchestrator),
    setEnabled(enabled: boolean) {
      if (stopped) return;
      if (enabled) subscribers.attach();
      else subscribers.detach();
      if (switchable) switchable.enabled = enabled;
      setLogContext(enabled && switchable ? logContext : undefined);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      subscribers.unsubscribe();
      setLogContext(undefined);
      await tracerProvider?.forceFlush();
      await Promise.allSettled([tracerProvider?.shutdown(), meterProvider.shutdown()]);
      if (metricsServer) {
        metricsServer.closeAllConnections();
        await new Promise<void>((resolve) => metricsServer!.close(() => resolve()));
      }
      trace.disable();
      propagation.disable();
      metrics.disable();
      context.disable();
      hdr.destroy();
    },
  };
}

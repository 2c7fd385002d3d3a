import { context, diag, DiagLogLevel, metrics, propagation, ProxyTracerProvider, trace, type DiagLogger } from '@opentelemetry/api';
import { defaultResource, detectResources, envDetector, hostDetector, osDetector, processDetector, resourceFromAttributes } from '@opentelemetry/resources';
import type { MetricProducer, MetricReader } from '@opentelemetry/sdk-metrics';
import { ParentBasedSampler, SimpleSpanProcessor, BatchSpanProcessor, TraceIdRatioBasedSampler, type Sampler, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { rootLogger, setLogContext, type Logger } from '../src/logger.js';
import { VERSION } from '../src/runtime/self.js';
import { contextManager } from './context.js';
import { listFromEnv, prometheusEndpoint, pushMetricReadersFromEnv, spanProcessorsFromEnv, wantsPrometheus, type PrometheusEndpoint } from './exporters.js';
import { HdrRegistry } from './hdr-registry.js';
import { PreaggregatedProducer } from './preaggregated.js';
import { SdkCallMetricsProvider } from './sdk-calls.js';
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
   * Where agentperf serves Prometheus `/metrics` when OTEL_METRICS_EXPORTER includes
   * `prometheus` (the default): default OTEL_EXPORTER_PROMETHEUS_HOST / _PORT, else
   * 127.0.0.1:9464; port 0 picks a free one. `false`: no HTTP endpoint of its own (the reader
   * is still there, for `prometheusHandler`).
   */
  prometheus?: { host?: string; port?: number } | false;
  /**
   * One metric reader instead of those the environment asks for (tests use an in-memory one).
   * It must take `producers` as its `metricProducers`: agentperf's hot-path histograms reach
   * readers that way.
   */
  metricReader?: (producers: MetricProducer[]) => MetricReader;
  /** Where spans go, instead of what OTEL_TRACES_EXPORTER asks for. */
  spanExporter?: SpanExporter | 'none';
  /** `simple` exports each span at once (tests, one-shot commands); `batch` (default) in the background. */
  spanProcessor?: 'simple' | 'batch';
  /**
   * OTEL_TRACES_EXPORTER unset: `otlp` as the specification says (what `register` uses), or
   * `otlp-if-endpoint` (the default, for agentperf's own commands): spans only when an OTLP
   * endpoint is set.
   */
  tracesWhenUnset?: 'otlp' | 'otlp-if-endpoint';
  /**
   * Head sampling from code: the share of traces recorded (0 to 1), parent-based. Unset:
   * OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG, read by NodeSDK (default
   * parentbased_always_on). Metrics and HDR histograms record every call whatever is sampled.
   */
  sampleRatio?: number;
  /** service.name and service.version unless OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES say otherwise. Default agentperf's. */
  service?: { name: string; version?: string };
  logger?: Logger;
  /** Busy work added to every traced agent call, in µs: the gate's self-test uses it to stand for a costlier instrumentation. */
  simulatedCostUs?: number;
}

export interface Instrumentation {
  hdr: HdrRegistry;
  /** The Prometheus endpoint, when agentperf serves one. */
  metricsUrl: string | undefined;
  /** Answers a Prometheus scrape (for a server of the caller's own, as `serve` has), when Prometheus is on. */
  prometheusHandler: ((request: IncomingMessage, response: ServerResponse) => void) | undefined;
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

/** A head sampler for a ratio given in code: parent-based, so the SDK's spans follow their agent span. */
export function ratioSampler(ratio: number): Sampler {
  return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(Math.min(1, Math.max(0, ratio))) });
}

/** Whether the environment asks for telemetry to be exported (an OTLP endpoint, or an exporter named). */
export function telemetryConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  if (sdkDisabled(env)) return false;
  const traces = listFromEnv(env.OTEL_TRACES_EXPORTER);
  const metricsNamed = listFromEnv(env.OTEL_METRICS_EXPORTER)?.some((name) => name !== 'none' && name !== 'prometheus') ?? false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT) || (traces !== undefined && !traces.includes('none')) || metricsNamed;
}

function sdkDisabled(env: NodeJS.ProcessEnv): boolean {
  return env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true';
}

/** OpenTelemetry's own diagnostics (OTEL_LOG_LEVEL) into agentperf's log on stderr, not the console. */
function diagTo(log: Logger): DiagLogger {
  return {
    error: (message, ...args) => log.error({ args }, message),
    warn: (message, ...args) => log.warn({ args }, message),
    info: (message, ...args) => log.info({ args }, message),
    debug: (message, ...args) => log.debug({ args }, message),
    verbose: (message, ...args) => log.trace({ args }, message),
  };
}

const DIAG_LEVELS: Record<string, DiagLogLevel> = { none: DiagLogLevel.NONE, error: DiagLogLevel.ERROR, warn: DiagLogLevel.WARN, info: DiagLogLevel.INFO, debug: DiagLogLevel.DEBUG, verbose: DiagLogLevel.VERBOSE, all: DiagLogLevel.ALL };

/**
 * Starts OpenTelemetry through NodeSDK (so every standard OTEL_* variable means what the
 * specification says), agentperf's metrics and HDR histograms, and subscribes to the core's
 * diagnostics channels. One at a time per process: it registers the global providers, which the
 * Anthropic SDK uses for its own gen_ai spans.
 */
export async function startInstrumentation(options: InstrumentationOptions = {}): Promise<Instrumentation> {
  const env = process.env;
  const log = (options.logger ?? rootLogger).child({ component: 'instrumentation' });
  const disabled = sdkDisabled(env);

  // Built here and handed to NodeSDK (see exporters.ts for why); none of it when the SDK is disabled.
  const producer = new PreaggregatedProducer({ name: 'agentperf', version: VERSION });
  let prometheus: PrometheusEndpoint | undefined;
  let metricReaders: MetricReader[] = [];
  let spanProcessors: SpanProcessor[] = [];
  if (!disabled) {
    if (options.metricReader) metricReaders = [options.metricReader([producer])];
    else {
      if (wantsPrometheus(env)) {
        const listen = options.prometheus === false ? undefined : { host: options.prometheus?.host ?? env.OTEL_EXPORTER_PROMETHEUS_HOST ?? '127.0.0.1', port: options.prometheus?.port ?? (Number(env.OTEL_EXPORTER_PROMETHEUS_PORT) || 9464) };
        prometheus = await prometheusEndpoint(listen, [producer]);
        metricReaders.push(prometheus.reader);
      }
      metricReaders.push(...(await pushMetricReadersFromEnv(env, log, [producer])));
    }
    if (options.spanExporter === 'none') spanProcessors = [];
    else if (options.spanExporter) spanProcessors = [options.spanProcessor === 'simple' ? new SimpleSpanProcessor(options.spanExporter) : new BatchSpanProcessor(options.spanExporter)];
    else spanProcessors = await spanProcessorsFromEnv(env, options.tracesWhenUnset ?? 'otlp-if-endpoint', log, options.spanProcessor === 'simple');
  }

  const service = options.service ?? { name: 'agentperf', version: VERSION };
  // NodeSDK's own detectors, run here and awaited: the host's id is read asynchronously, and
  // span processors hold every span back until it is there (a span ended in the first
  // milliseconds would otherwise reach nobody before the test or the script looks).
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the environment detector) win over `service`.
  const detected = detectResources({ detectors: [hostDetector, osDetector, processDetector, envDetector] });
  await detected.waitForAsyncAttributes?.();
  // Without the command line: `agentperf exec AGENT "prompt"` would put the prompt (and any
  // secret passed as a flag) on every span, where the SDK keeps content off by default.
  const { 'process.command_args': _args, 'process.command_line': _line, ...detectedAttributes } = detected.attributes;
  const resource = defaultResource()
    .merge(resourceFromAttributes({ 'service.name': service.name, ...(service.version ? { 'service.version': service.version } : {}) }))
    .merge(resourceFromAttributes(detectedAttributes));
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const sdk = new NodeSDK({
    resource,
    autoDetectResources: false,
    contextManager,
    metricReaders,
    spanProcessors,
    sampler: options.sampleRatio !== undefined && Number.isFinite(options.sampleRatio) ? ratioSampler(options.sampleRatio) : undefined,
    // agentperf logs with pino; no OpenTelemetry log pipeline (NodeSDK would start an OTLP one).
    logRecordProcessors: [],
  });
  const diagLevel = DIAG_LEVELS[(env.OTEL_LOG_LEVEL ?? '').trim().toLowerCase()];
  if (diagLevel !== undefined) diag.setLogger(diagTo(log), { logLevel: diagLevel, suppressOverrideMessage: true });
  try {
    sdk.start();
  } catch (error) {
    const server = prometheus?.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    throw error;
  }

  // NodeSDK registered its tracer provider (when spans go anywhere). agentperf registers it
  // again, wrapped twice: the Anthropic SDK's tracers meter its calls made outside the
  // orchestrator (sdk-calls.ts; over a provider that records nothing when no spans are
  // exported), and a switch lets the overhead measurement turn it all off and on for clients
  // that keep their tracer.
  let switchable: SwitchableTracerProvider | undefined;
  let subscribers: Subscribers | undefined;
  const tracing = !disabled && spanProcessors.length > 0;
  const logContext = (call?: object) => {
    const span = call ? Subscribers.spanOf(call) : trace.getSpan(context.active());
    if (!span) return undefined;
    const { traceId, spanId } = span.spanContext();
    return { trace_id: traceId, span_id: spanId };
  };
  if (!disabled) {
    const registered = tracing ? (trace.getTracerProvider() as ProxyTracerProvider).getDelegate() : new ProxyTracerProvider();
    switchable = new SwitchableTracerProvider(new SdkCallMetricsProvider(registered, (call) => subscribers?.recordSdkCall(call)));
    trace.disable();
    trace.setGlobalTracerProvider(switchable);
    if (tracing) setLogContext(logContext);
  }

  const hdr = new HdrRegistry();
  subscribers = new Subscribers(hdr, metrics.getMeter('agentperf', VERSION), producer, tracing ? switchable?.getTracer('agentperf', VERSION) : undefined, log, options.simulatedCostUs ?? 0);
  subscribers.subscribe();
  if (prometheus?.url) log.info({ metricsUrl: prometheus.url }, 'Prometheus metrics served');

  let stopped = false;
  return {
    hdr,
    metricsUrl: prometheus?.url,
    prometheusHandler: prometheus ? (request, response) => prometheus!.reader.getMetricsRequestHandler(request, response) : undefined,
    observeCache: (cache) => subscribers.observeCache(cache),
    observeOrchestrator: (orchestrator) => subscribers.observeOrchestrator(orchestrator),
    setEnabled(enabled: boolean) {
      if (stopped) return;
      if (enabled) subscribers!.attach();
      else subscribers!.detach();
      if (switchable) switchable.enabled = enabled;
      setLogContext(enabled && tracing ? logContext : undefined);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      subscribers.unsubscribe();
      setLogContext(undefined);
      // Flushes spans and pushes the last metrics (periodic readers export on shutdown).
      await sdk.shutdown().catch((error: unknown) => log.warn({ err: error }, 'telemetry did not flush cleanly'));
      const server = prometheus?.server;
      if (server) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      trace.disable();
      propagation.disable();
      metrics.disable();
      context.disable();
      if (diagLevel !== undefined) diag.disable();
      hdr.destroy();
    },
  };
}

import {
  context,
  createNoopMeter,
  type ContextManager,
  diag,
  DiagLogLevel,
  metrics,
  propagation,
  ProxyTracerProvider,
  trace,
  type DiagLogger,
  type TracerProvider,
} from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { defaultResource, detectResources, envDetector, hostDetector, osDetector, processDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { InstrumentType, type MetricProducer, type MetricReader } from '@opentelemetry/sdk-metrics';
import {
  ParentBasedSampler,
  SimpleSpanProcessor,
  BatchSpanProcessor,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfigError, ListenError } from '../src/errors.js';
import { rootLogger, setLogContext, type Logger } from '../src/logger.js';
import { VERSION } from '../src/runtime/self.js';
import { DEFAULT_LABEL_VALUES_MAX } from './bounded-values.js';
import { contextManagerFor, type ContextManagerKind } from './context.js';
import { guardRegisteredPropagator } from './propagation.js';
import type { ScopeMergingExporter } from './metric-export.js';
import {
  listFromEnv,
  metricsExporters,
  validateOtlpEndpoints,
  prometheusEndpoint,
  pushMetricReadersFromEnv,
  spanProcessorsFromEnv,
  type PrometheusEndpoint,
} from './exporters.js';
import { HdrRegistry } from './hdr-registry.js';
import { PreaggregatedProducer } from './preaggregated.js';
import { SdkCallMetricsProvider } from './sdk-calls.js';
import { Subscribers } from './subscribers.js';
import { SwitchableTracerProvider } from './switchable.js';
import { WorkerSpanProcessor, type WorkerExportStats } from './worker-span-processor.js';
import { LightTracer, samplerFromEnv } from './light-span.js';

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
   * is still there, for `prometheusHandler`). `setting` names what sets the port in a listen
   * error (default `--metrics-port`); `onListenError: 'warn'` goes on without the endpoint
   * (everything else on) where the default refuses to start.
   */
  prometheus?: { host?: string; port?: number; setting?: string; onListenError?: 'throw' | 'warn' } | false;
  /**
   * One metric reader instead of those the environment asks for (tests use an in-memory one):
   * a reader, or a function that makes one with `producers` as its `metricProducers` (how
   * agentperf's pre-aggregated histograms reach a reader; a plain reader gets them joined to
   * the producer the SDK sets on it).
   */
  metricReader?: MetricReader | ((producers: MetricProducer[]) => MetricReader);
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
  /**
   * How the active context follows the code: `async` (AsyncLocalStorage, OpenTelemetry's
   * default) in an application's own process, where its spans must stay active across awaits
   * (what `register` uses); `stack` (the default) for agentperf's own commands, which hand
   * their context along explicitly and would pay for promise hooks on every promise (context.ts).
   */
  contextManager?: ContextManagerKind;
  /**
   * How long stopping may wait for the last spans and metrics to be sent, in ms: past it, what
   * is unsent is dropped (with a warning) so that a one-shot script with no collector running
   * ends at once. Default AGENTPERF_FLUSH_TIMEOUT_MS, else 1000.
   */
  flushTimeoutMs?: number;
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
  /**
   * With it enabled, which parts run (the overhead breakdown measures each in one process):
   * `spans` off makes no span (metrics, HDR records and handlers go on); `export` off makes the
   * spans but exports none of them through the export worker.
   */
  setParts(parts: { spans: boolean; export: boolean }): void;
  /**
   * Exports the spans ended so far; resolves with what the export worker delivered, failed to
   * deliver and dropped since the start (undefined when spans are not exported through it).
   */
  flushSpans(): Promise<WorkerExportStats | undefined>;
  /** Flushes spans and metrics, unsubscribes from every channel, and unregisters the providers. */
  stop(): Promise<void>;
}

/**
 * A whole-number environment variable within [min, max]: undefined when unset or empty, else
 * the number, else AP_ERR_CONFIG naming the variable and `rule` (how the rule reads to a user).
 */
export function integerFromEnv(env: NodeJS.ProcessEnv, variable: string, min: number, max: number, rule: string): number | undefined {
  const raw = env[variable]?.trim();
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(variable, `${variable} must be ${rule}, got ${JSON.stringify(raw)}`);
  return n;
}

/** AGENTPERF_FLUSH_TIMEOUT_MS, a whole number of ms (0 or more); default 1000. */
export function flushTimeoutFromEnv(env: NodeJS.ProcessEnv): number {
  return integerFromEnv(env, 'AGENTPERF_FLUSH_TIMEOUT_MS', 0, Number.MAX_SAFE_INTEGER, 'a whole number of milliseconds, 0 or more') ?? 1000;
}

/** AGENTPERF_LABEL_VALUES_MAX, a whole number from 1; default 100. */
export function labelValuesMaxFromEnv(env: NodeJS.ProcessEnv): number {
  return integerFromEnv(env, 'AGENTPERF_LABEL_VALUES_MAX', 1, 100_000, 'a whole number from 1 to 100000') ?? DEFAULT_LABEL_VALUES_MAX;
}

/** Whether `work` settled within `ms`; the timer does not outlive it. */
async function settledWithin(work: Promise<unknown>, ms: number): Promise<'settled' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  try {
    return await Promise.race([work.then(() => 'settled' as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A head sampler for a ratio given in code: parent-based, so the SDK's spans follow their agent span. */
export function ratioSampler(ratio: number): Sampler {
  return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(Math.min(1, Math.max(0, ratio))) });
}

/** Whether the environment asks for telemetry to be exported (an OTLP endpoint, or an exporter named). */
export function telemetryConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  if (sdkDisabled(env)) return false;
  const traces = listFromEnv(env.OTEL_TRACES_EXPORTER);
  const metricsPushed = metricsExporters(env).some((name) => name !== 'prometheus');
  return (
    Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT) ||
    (traces !== undefined && !traces.includes('none')) ||
    metricsPushed
  );
}

/** For one-shot commands (`exec`, `workflow run`): instrumentation when the environment asks for telemetry, else none. */
export function startInstrumentationIfConfigured(options: InstrumentationOptions): Promise<Instrumentation | undefined> {
  return telemetryConfigured() ? startInstrumentation(options) : Promise.resolve(undefined);
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

/** The pino level that shows what a diag level lets through. */
const PINO_LEVEL_OF_DIAG: Partial<Record<DiagLogLevel, string>> = {
  [DiagLogLevel.NONE]: 'silent',
  [DiagLogLevel.ERROR]: 'error',
  [DiagLogLevel.WARN]: 'warn',
  [DiagLogLevel.INFO]: 'info',
  [DiagLogLevel.DEBUG]: 'debug',
  [DiagLogLevel.VERBOSE]: 'trace',
  [DiagLogLevel.ALL]: 'trace',
};

const DIAG_LEVELS: Record<string, DiagLogLevel> = {
  none: DiagLogLevel.NONE,
  error: DiagLogLevel.ERROR,
  warn: DiagLogLevel.WARN,
  info: DiagLogLevel.INFO,
  debug: DiagLogLevel.DEBUG,
  verbose: DiagLogLevel.VERBOSE,
  all: DiagLogLevel.ALL,
};

/**
 * OpenTelemetry allows one context manager, tracer provider, meter provider and propagator per
 * process. agentperf registers all four (NodeSDK does), so another SDK already set up here (the
 * host app's own) means it cannot start: it says so rather than count calls twice or send its
 * metrics to another SDK's readers. Each global is tried and given back at once (the tracer
 * provider is looked at instead).
 */
function globalsTaken(): string[] {
  const taken: string[] = [];
  if (context.setGlobalContextManager(contextManagerFor('stack'))) context.disable();
  else taken.push('context manager');
  // Not tried like the others: trace.disable() would replace the global proxy that SDK clients
  // built before this start hold on to. A registered provider is the proxy's delegate.
  if ((trace.getTracerProvider() as ProxyTracerProvider).getDelegate() !== new ProxyTracerProvider().getDelegate()) taken.push('tracer provider');
  if (metrics.setGlobalMeterProvider({ getMeter: () => createNoopMeter() })) metrics.disable();
  else taken.push('meter provider');
  if (propagation.setGlobalPropagator({ inject: () => {}, extract: (ctx) => ctx, fields: () => [] })) propagation.disable();
  else taken.push('propagator');
  return taken;
}

/** Gives back every OpenTelemetry global (agentperf registered them all: see globalsTaken). */
function releaseGlobals(): void {
  trace.disable();
  propagation.disable();
  metrics.disable();
  context.disable();
  logs.disable();
}

/**
 * A reader made by someone else (a plain MetricReader given as `metricReader`): agentperf's
 * pre-aggregated histograms reach it through the producer the SDK sets on it, joined with ours.
 */
function joinProducer(reader: MetricReader, preaggregated: PreaggregatedProducer): MetricReader {
  const producer = preaggregated.forReader(reader.selectAggregationTemporality(InstrumentType.HISTOGRAM));
  const set = reader.setMetricProducer.bind(reader);
  reader.setMetricProducer = (sdk: MetricProducer) =>
    set({
      async collect(options) {
        const [own, more] = await Promise.all([sdk.collect(options), producer.collect()]);
        return {
          resourceMetrics: {
            resource: own.resourceMetrics.resource,
            scopeMetrics: [...own.resourceMetrics.scopeMetrics, ...more.resourceMetrics.scopeMetrics],
          },
          errors: [...own.errors, ...more.errors],
        };
      },
    });
  return reader;
}

/**
 * Starts OpenTelemetry through NodeSDK (so every standard OTEL_* variable means what the
 * specification says), agentperf's metrics and HDR histograms, and subscribes to the core's
 * diagnostics channels. One at a time per process, and not beside another OpenTelemetry SDK: it
 * registers the global providers, which the Anthropic SDK uses for its own gen_ai spans. A
 * start that fails leaves nothing behind (no server, no global, no subscription).
 */
export async function startInstrumentation(options: InstrumentationOptions = {}): Promise<Instrumentation> {
  const env = process.env;
  const log = (options.logger ?? rootLogger).child({ component: 'instrumentation' });
  const disabled = sdkDisabled(env);
  if (!disabled) validateOtlpEndpoints(env);
  const flushTimeoutMs = options.flushTimeoutMs ?? flushTimeoutFromEnv(env);
  const labelValuesMax = labelValuesMaxFromEnv(env);
  const taken = globalsTaken();
  if (taken.length > 0) {
    throw new Error(
      `OpenTelemetry is already set up in this process (its global ${taken.join(', ')} ${taken.length > 1 ? 'are' : 'is'} registered): agentperf's instrumentation does not start beside another SDK; start one or the other`,
    );
  }

  const producer = new PreaggregatedProducer({ name: 'agentperf', version: VERSION });
  let prometheus: PrometheusEndpoint | undefined;
  /** OTLP metric exporters whose last export, at stop, must end within flushTimeoutMs. */
  let pushExporters: ScopeMergingExporter[] = [];
  let sdk: { start(): void; shutdown(): Promise<void> } | undefined;
  let switchable: SwitchableTracerProvider | undefined;
  /** NodeSDK's own tracer provider, when spans are exported. */
  let registered: TracerProvider | undefined;
  let subscribers: Subscribers | undefined;
  let hdr: HdrRegistry | undefined;
  let spanProcessors: SpanProcessor[] = [];
  let tracing = false;
  let manager: ContextManager | undefined;
  const logLevel = env.OTEL_LOG_LEVEL?.trim().toLowerCase();
  const logContext = (call?: object) => {
    const span = call ? Subscribers.spanOf(call) : trace.getSpan(context.active());
    if (!span) return undefined;
    const { traceId, spanId } = span.spanContext();
    return { trace_id: traceId, span_id: spanId };
  };
  /** Undoes whatever was set up, after a failed start or at stop: nothing is left behind. */
  const teardown = async () => {
    subscribers?.unsubscribe();
    setLogContext(undefined);
    // Tracers handed out stay with their holders: switched off, they record nothing from here.
    if (switchable) switchable.enabled = false;
    // Flushes spans and pushes the last metrics (periodic readers export on shutdown), for at
    // most flushTimeoutMs: an exporter retrying a collector that is not there would hold the
    // process for its own timeout (about 9 s measured with OTLP's defaults).
    for (const exporter of pushExporters) exporter.finish();
    if (
      sdk &&
      (await settledWithin(
        sdk.shutdown().catch((error: unknown) => log.warn({ err: error }, 'telemetry did not flush cleanly')),
        flushTimeoutMs,
      )) === 'timeout'
    ) {
      log.warn({ flushTimeoutMs }, `telemetry not flushed within ${flushTimeoutMs} ms (AGENTPERF_FLUSH_TIMEOUT_MS); what was still unsent is dropped`);
      for (const processor of spanProcessors) if (processor instanceof WorkerSpanProcessor) await processor.abandon();
    }
    const server = prometheus?.server;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    releaseGlobals();
    if (logLevel) diag.disable();
    hdr?.destroy();
  };
  try {
    // Built here and handed to NodeSDK (see exporters.ts for why); none of it when the SDK is disabled.
    let metricReaders: MetricReader[] = [];
    if (!disabled) {
      if (options.metricReader)
        metricReaders = [typeof options.metricReader === 'function' ? options.metricReader([producer]) : joinProducer(options.metricReader, producer)];
      else {
        if (metricsExporters(env).includes('prometheus')) {
          const listen =
            options.prometheus === false
              ? undefined
              : {
                  host: options.prometheus?.host ?? env.OTEL_EXPORTER_PROMETHEUS_HOST ?? '127.0.0.1',
                  port: options.prometheus?.port ?? (Number(env.OTEL_EXPORTER_PROMETHEUS_PORT) || 9464),
                };
          prometheus = await prometheusEndpoint(listen, [producer], options.prometheus ? options.prometheus.setting : undefined).catch(
            async (error: unknown) => {
              if (!(error instanceof ListenError) || !options.prometheus || options.prometheus.onListenError !== 'warn') throw error;
              // An endpoint that cannot listen (a second instance on the default port) costs the endpoint, not the traces and pushed metrics.
              log.warn({ err: error }, `${error.message}; /metrics is not served, all other telemetry is on`);
              return prometheusEndpoint(undefined, [producer]);
            },
          );
          metricReaders.push(prometheus.reader);
        }
        const pushed = await pushMetricReadersFromEnv(env, log, producer, flushTimeoutMs);
        metricReaders.push(...pushed.readers);
        pushExporters = pushed.exporters;
      }
      if (options.spanExporter === 'none') spanProcessors = [];
      else if (options.spanExporter)
        spanProcessors = [options.spanProcessor === 'simple' ? new SimpleSpanProcessor(options.spanExporter) : new BatchSpanProcessor(options.spanExporter)];
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
    manager = contextManagerFor(options.contextManager ?? 'stack');
    // NodeSDK's constructor sets a console diagnostics logger for OTEL_LOG_LEVEL, which writes
    // debug and info to stdout (agentperf's --json output): the variable is hidden from it, and
    // agentperf's own logger (stderr) is set here instead.
    const hiddenLogLevel = env.OTEL_LOG_LEVEL;
    delete env.OTEL_LOG_LEVEL;
    if (logLevel) {
      const level = DIAG_LEVELS[logLevel];
      if (level === undefined)
        log.warn({ OTEL_LOG_LEVEL: hiddenLogLevel }, 'OTEL_LOG_LEVEL is not one of none, error, warn, info, debug, verbose, all: using info');
      // Its own level: OTEL_LOG_LEVEL=debug shows OpenTelemetry's debug lines whatever AGENTPERF_LOG_LEVEL says.
      const diagLog = log.child({ component: 'opentelemetry' });
      diagLog.level = PINO_LEVEL_OF_DIAG[level ?? DiagLogLevel.INFO] ?? 'info';
      diag.setLogger(diagTo(diagLog), { logLevel: level ?? DiagLogLevel.INFO, suppressOverrideMessage: true });
    }
    try {
      sdk = new NodeSDK({
        resource,
        autoDetectResources: false,
        contextManager: manager,
        metricReaders,
        spanProcessors,
        sampler: options.sampleRatio !== undefined && Number.isFinite(options.sampleRatio) ? ratioSampler(options.sampleRatio) : undefined,
        // agentperf logs with pino; no OpenTelemetry log pipeline (NodeSDK would start an OTLP one).
        logRecordProcessors: [],
      });
    } finally {
      if (hiddenLogLevel !== undefined) env.OTEL_LOG_LEVEL = hiddenLogLevel;
    }
    sdk.start();
    guardRegisteredPropagator();

    // NodeSDK registered its tracer provider (when spans go anywhere). agentperf puts it behind
    // two wrappers: the Anthropic SDK's tracers meter its calls made outside the orchestrator
    // (sdk-calls.ts; over a provider that records nothing when no spans are exported), and a
    // switch lets the overhead measurement turn it all off and on for clients that keep their
    // tracer. The wrapper becomes the delegate of the same global proxy, so SDK clients built
    // before this start are reached too.
    tracing = !disabled && spanProcessors.length > 0;
    if (!disabled) {
      const proxy = trace.getTracerProvider() as ProxyTracerProvider;
      registered = tracing ? proxy.getDelegate() : undefined;
      switchable = new SwitchableTracerProvider(
        new SdkCallMetricsProvider(registered ?? new ProxyTracerProvider(), (call) => subscribers?.recordClientCall(call)),
      );
      if (tracing) proxy.setDelegate(switchable);
      else trace.setGlobalTracerProvider(switchable);
      if (tracing) setLogContext(logContext);
    }

    hdr = new HdrRegistry();
    // agentperf's own spans: light ones (light-span.ts) to the span processors NodeSDK has, by
    // the sampler it has (from code, else OTEL_TRACES_SAMPLER); not behind the switch and the
    // SDK-call metering (switched off, the subscribers are detached and make no span anyway).
    const ownTracer = registered
      ? new LightTracer({
          processors: spanProcessors,
          sampler: options.sampleRatio !== undefined && Number.isFinite(options.sampleRatio) ? ratioSampler(options.sampleRatio) : samplerFromEnv(env, log),
          resource,
          scope: { name: 'agentperf', version: VERSION },
        })
      : undefined;
    subscribers = new Subscribers(hdr, metrics.getMeter('agentperf', VERSION), producer, ownTracer, log, options.simulatedCostUs ?? 0, labelValuesMax);
    subscribers.subscribe();
  } catch (error) {
    await teardown();
    throw error;
  }
  if (prometheus?.url) log.info({ metricsUrl: prometheus.url }, 'Prometheus metrics served');

  // Set up by now: the try above assigned them or threw.
  const running = { hdr: hdr, subscribers: subscribers };
  let stopped = false;
  return {
    hdr: running.hdr,
    metricsUrl: prometheus?.url,
    prometheusHandler: prometheus?.scrape,
    observeCache: (cache) => running.subscribers.observeCache(cache),
    observeOrchestrator: (orchestrator) => running.subscribers.observeOrchestrator(orchestrator),
    setEnabled(enabled: boolean) {
      if (stopped) return;
      if (enabled) running.subscribers.attach();
      else running.subscribers.detach();
      if (switchable) switchable.enabled = enabled;
      // Off is the uninstrumented process: an AsyncLocalStorage manager stops its promise hooks
      // too (Node turns them on at its first use and keeps them while it is enabled).
      if (options.contextManager === 'async') {
        if (enabled) manager?.enable();
        else manager?.disable();
      }
      setLogContext(enabled && tracing ? logContext : undefined);
    },
    setParts(parts) {
      running.subscribers.spans = parts.spans;
      for (const p of spanProcessors) if (p instanceof WorkerSpanProcessor) p.exporting = parts.export;
    },
    async flushSpans() {
      const worker = spanProcessors.find((p): p is WorkerSpanProcessor => p instanceof WorkerSpanProcessor);
      return worker?.flushWithStats();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await teardown();
    },
  };
}

import type { TierStats } from '../src/cache/tier.js';
import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Counter,
  type Meter,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import {
  agentChannel,
  attemptChannel,
  cacheEvictionChannel,
  cacheExpirationChannel,
  cacheGetChannel,
  cacheIntegrityChannel,
  circuitChannel,
  httpServerRequestChannel,
  httpServerResponseChannel,
  memoryHitChannel,
  retryChannel,
  streamChannel,
  type AgentCallMessage,
  type AttemptMessage,
  type CacheEventMessage,
  type CacheOperationMessage,
  type CircuitMessage,
  type MemoryHitMessage,
  type RetryMessage,
  type StreamMessage,
  workflowChannel,
  workflowStepChannel,
  type WorkflowMessage,
  type WorkflowStepMessage,
} from '../src/diagnostics.js';
import { errorType } from '../src/errors.js';
import { busyWait } from '../src/runtime/cpu.js';
import type { Logger } from '../src/logger.js';
import { activeContextStore } from './context.js';
import type { HdrRegistry } from './hdr-registry.js';
import { BoundedValues, DEFAULT_LABEL_VALUES_MAX } from './bounded-values.js';
import { httpServerHandlers } from './http-server.js';
import {
  AGENT_DURATION_BUCKETS,
  CIRCUIT_STATE_VALUE,
  METRIC_UNITS,
  METRICS,
  OPERATION_DURATION_BUCKETS,
  PROVIDER_NAME,
  SPAN_ATTRIBUTES as A,
  TIME_PER_OUTPUT_CHUNK_BUCKETS,
  TIME_TO_FIRST_CHUNK_BUCKETS,
  TOKEN_USAGE_BUCKETS,
  WORKFLOW_DURATION_BUCKETS,
} from './names.js';
import type { BucketHistogram, BucketSeries, PreaggregatedProducer } from './preaggregated.js';
import type { ProviderResult, ProviderServer } from '../src/providers/types.js';
import { clientSpanFailure, clientSpanStart, clientSpanSuccess, resendAttributes, type ClientSpanStart } from './client-span.js';
import { ORCHESTRATED, type ClientCall } from './sdk-calls.js';
import { promptTokens } from '../src/config/models.js';

const SPAN = Symbol('agentperf.span');
const STARTED = Symbol('agentperf.started');
/** The context an agent call's attempts run in: its caller's (baggage included), with the agent span when there is one. */
const CALL_CONTEXT = Symbol('agentperf.callContext');
/** A workflow run's name as its labels and span name carry it (bounded-values.ts). */
const BOUNDED_NAME = Symbol('agentperf.boundedName');
type WithSpan = AgentCallMessage & { [SPAN]?: Span; [CALL_CONTEXT]?: Context };
type WithStart = { [STARTED]?: number };
type Spanned = { [SPAN]?: Span };

/** The trace context and baggage of `ctx`, as the registered propagators write them, into the headers an attempt sends. */
function injectInto(message: AttemptMessage, ctx: Context): void {
  const headers: Record<string, string> = {};
  propagation.inject(ctx, headers);
  for (const _ in headers) {
    message.headers = headers;
    break;
  }
}

/** The server a client call's metric points name (ProviderServer, or what an SDK call's span says). */
type MetricServer = Pick<ProviderServer, 'address' | 'port' | 'ephemeralPort'>;

/**
 * The conventions' attributes of a GenAI client call's metric points (series by model, response
 * model and server). No server labels for the embedded simulator (a port picked for this
 * process): a label that changes every run would make new series every run, and the
 * conventions ask for `server.port` whenever `server.address` is set, so both are left off.
 */
function clientAttributes(model: string | undefined, responseModel: string | undefined, server: MetricServer | undefined): Attributes {
  return {
    [A.operation]: 'chat',
    [A.providerName]: PROVIDER_NAME,
    ...(model ? { [A.requestModel]: model } : {}),
    ...(responseModel ? { [A.responseModel]: responseModel } : {}),
    ...(server && !server.ephemeralPort ? { [A.serverAddress]: server.address, [A.serverPort]: server.port } : {}),
  };
}

/**
 * Per agent: calls by cache result and calls in progress, numeric fields found with one map
 * lookup per call and read by observable instruments at collection time.
 */
/** What the agent-call handlers record into, made once by defineAgentInstruments. */
interface AgentInstruments {
  /** The invocation-duration series of an agent call, found by a key (no attribute hashing per call). */
  agentSeries: (agent: string, model: string, cacheResult: string, error: string | undefined) => BucketSeries;
  queueWait: BucketHistogram;
  agentErrors: Counter;
}

interface AgentCounts {
  hit: number;
  miss: number;
  bypass: number;
  error: number;
  /** Configured in an observed orchestrator: its call series exist at zero before its first call. */
  known?: boolean;
  inFlight: number;
  /** Whether a call (not a memory hit) has started: only then is its in-flight gauge reported. */
  started: boolean;
  /** The invocation-duration series of this agent's memory hits, and its model (the hottest path: no lookup). */
  hitSeries?: BucketSeries;
  hitModel?: string;
  /** The attributes its invoke_agent spans start with, built once (per model). */
  spanAttributes?: Attributes;
  spanModel?: string;
  spanMaxTokens?: number;
  spanTemperature?: number;
  /** What its attempts' `chat` client spans start with, built once (per model, max_tokens and server). */
  clientSpan?: ClientSpanStart;
  /**
   * The client-metric series its answered attempts last recorded into: the usual case is the
   * same model, response model and server every time, so the common path finds them with three
   * comparisons (no key lookups, no closure per call).
   */
  clientSeries?: {
    model: string;
    responseModel: string;
    server: ProviderServer | undefined;
    duration: BucketSeries;
    input: BucketSeries;
    output: BucketSeries;
  };
  /** The invocation-duration series of its successful calls, by cache result, for `resultModel`. */
  resultSeries?: Partial<Record<'hit' | 'miss' | 'bypass', BucketSeries>>;
  resultModel?: string;
  queueSeries?: BucketSeries;
}

interface QueueSource {
  readonly queued: number;
  readonly maxQueued: number;
  /** The orchestrator's agents and their models: their series exist from the start. */
  readonly agentModels?: ReadonlyArray<{ agent: string; model: string }>;
}

interface CacheStatsSource {
  stats(): { memory: { entries: number; bytes: number }; tiers: ReadonlyArray<TierStats & { name: string }> };
}

/** One subscription to a channel, which can be made and undone again. */
interface Binding {
  attach(): void;
  detach(): void;
}

/**
 * Subscribes to the core's channels and turns them into OpenTelemetry spans and metrics and
 * HDR histograms. The instruments are made once (`subscribe`); the channel subscriptions can
 * then be undone and made again (`detach`, `attach`: the overhead measurement switches them
 * off and on), and `unsubscribe()` removes every one, so switched off means off.
 */
export class Subscribers {
  private readonly bindings: Binding[] = [];
  private attached = false;
  /** Calls are counted here and read by observable instruments at collection time. */
  private readonly agents = new Map<string, AgentCounts>();
  /** Cache lookups by result, then tier. */
  private readonly cacheRequestCounts = new Map<string, Map<string, number>>();
  private memoryHitCount = 0;
  private readonly circuitStates = new Map<string, number>();
  /** The per-tier cache counters (evictions, expirations), made in define(). */
  private tierCounters: Array<{ add(value: number, attributes: Attributes): void }> = [];
  private readonly caches = new Set<CacheStatsSource>();
  private readonly orchestrators = new Set<QueueSource>();
  /**
   * Whether spans are made (with a tracer): the overhead breakdown switches them off while the
   * metrics and HDR records go on, to measure each part in one process.
   */
  spans = true;
  /** The GenAI client histograms, made by `define`. */
  private clientMetrics?: { operationDuration: BucketHistogram; tokenUsage: BucketHistogram };
  /** The GenAI streaming client histograms, made by `define`. */
  private streamMetrics?: { timeToFirstChunk: BucketHistogram; timePerOutputChunk: BucketHistogram };

  constructor(
    private readonly hdr: HdrRegistry,
    private readonly meter: Meter,
    /** Where the hot-path histograms are aggregated, read by every metric reader at collection. */
    private readonly producer: PreaggregatedProducer,
    private readonly tracer: Tracer | undefined,
    private readonly log: Logger,
    /** Busy work added to every traced agent call (µs): the gate's self-test uses it to stand for a costlier instrumentation. */
    private readonly simulatedCostUs = 0,
    /** The bound on distinct values of a client-supplied label (bounded-values.ts). */
    private readonly labelValuesMax = DEFAULT_LABEL_VALUES_MAX,
  ) {}

  /** The tracer spans are made with, while they are (see `spans`). */
  private get spanTracer(): Tracer | undefined {
    return this.spans ? this.tracer : undefined;
  }

  observeCache(cache: CacheStatsSource): void {
    this.caches.add(cache);
    // The per-tier counters exist at zero, with their real tier, from the start.
    const tiers = ['memory', ...cache.stats().tiers.map((t) => t.name)];
    for (const tier of tiers) for (const counter of this.tierCounters) counter.add(0, { tier });
  }

  /** Exposes an orchestrator's queue and its bound as gauges (the alert on a queue near full reads them). */
  observeOrchestrator(orchestrator: QueueSource): void {
    this.orchestrators.add(orchestrator);
    // Every agent's calls and every model's circuit (closed) have a series before the first call.
    for (const { agent, model } of orchestrator.agentModels ?? []) {
      this.countsFor(agent).known = true;
      if (!this.circuitStates.has(model)) this.circuitStates.set(model, CIRCUIT_STATE_VALUE.closed);
    }
  }

  /** Makes the instruments and subscribes to every channel. */
  subscribe(): void {
    this.define();
    this.attach();
  }

  /** Subscribes to every channel again (after `detach`). */
  attach(): void {
    if (this.attached) return;
    this.attached = true;
    for (const b of this.bindings) b.attach();
  }

  /** Undoes every channel subscription; the instruments stay (what they counted is kept). */
  detach(): void {
    if (!this.attached) return;
    this.attached = false;
    for (const b of this.bindings) b.detach();
  }

  private bind(attach: () => void, detach: () => void): void {
    this.bindings.push({ attach, detach });
  }

  /** Every instrument and subscription, one group per channel (each group owns its instruments). */
  private define(): void {
    const agentInstruments = this.defineAgentInstruments();
    this.subscribeAgentCalls(agentInstruments);
    this.subscribeAttempts();
    this.subscribeCache();
    this.subscribeResilience();
    this.subscribeStreams();
    this.subscribeWorkflows();
    this.subscribeHttpServer();
  }

  private histogram(name: string, unit: string, description: string, boundaries: readonly number[]): BucketHistogram {
    return this.producer.histogram(name, { unit, description, boundaries });
  }

  // No series without attributes (it shows as a `{}` row in every "by" panel): a counter whose
  // labels are known before the first event starts at zero with them (per agent and cache
  // result, per cache tier, per workflow status; see observeOrchestrator and observeCache);
  // one whose labels name what happened (an error type, a retry reason) has none until it
  // happens, and the alert rules read its absence as zero (`or vector(0)`).
  private counter(name: string, unit: string, description: string): Counter {
    return this.meter.createCounter(name, { unit, description });
  }

  /**
   * The client and agent-call instruments: operation duration and token usage (client calls),
   * invocation duration, queue wait, errors, calls in flight and queued, calls by cache result.
   */
  private defineAgentInstruments(): AgentInstruments {
    const m = this.meter;
    const operationDuration = this.histogram(
      METRICS.operationDuration,
      METRIC_UNITS.operationDuration,
      'Duration of GenAI client operations (one per API call; the orchestrator makes one per attempt)',
      OPERATION_DURATION_BUCKETS,
    );
    const tokenUsage = this.histogram(
      METRICS.tokenUsage,
      METRIC_UNITS.tokenUsage,
      'Tokens used per API call (input includes cache reads and writes)',
      TOKEN_USAGE_BUCKETS,
    );
    const agentDuration = this.histogram(
      METRICS.agentDuration,
      METRIC_UNITS.agentDuration,
      'Agent invocations, from call to result (memory-cache hits included)',
      AGENT_DURATION_BUCKETS,
    );
    const queueWait = this.histogram(METRICS.queueWait, METRIC_UNITS.queueWait, 'Time agent calls waited for a concurrency slot', AGENT_DURATION_BUCKETS);
    this.clientMetrics = { operationDuration, tokenUsage };
    const agentErrors = this.counter(METRICS.agentErrors, METRIC_UNITS.agentErrors, 'Failed agent calls by error type');
    m.createObservableGauge(METRICS.inFlight, {
      unit: METRIC_UNITS.inFlight,
      description: 'Agent calls in progress (memory hits finish at once and are not counted)',
    }).addCallback((result) => {
      for (const [agent, counts] of this.agents) if (counts.started) result.observe(counts.inFlight, { 'gen_ai.agent.name': agent });
    });
    const queueGauge = (key: 'queued' | 'queueLimit', description: string, pick: (o: QueueSource) => number) =>
      m.createObservableGauge(METRICS[key], { unit: METRIC_UNITS[key], description }).addCallback((result) => {
        let total = 0;
        for (const o of this.orchestrators) total += pick(o);
        if (this.orchestrators.size > 0) result.observe(total);
      });
    queueGauge('queued', 'Agent calls waiting for a concurrency slot', (o) => o.queued);
    queueGauge('queueLimit', 'Agent calls that may wait for a slot before calls fail with AP_ERR_QUEUE_FULL', (o) => o.maxQueued);
    m.createObservableCounter(METRICS.agentCalls, {
      unit: METRIC_UNITS.agentCalls,
      description: 'Agent calls by agent and cache result (memory hits included)',
    }).addCallback((result) => {
      for (const [agent, counts] of this.agents) {
        for (const cacheResult of ['hit', 'miss', 'bypass', 'error'] as const) {
          if (counts.known || counts[cacheResult] > 0)
            result.observe(counts[cacheResult], { 'gen_ai.agent.name': agent, 'agentperf.cache.result': cacheResult });
        }
      }
    });

    // The invocation-duration series of an agent call, found by a key (no attribute hashing per call).
    const agentSeries = (agent: string, model: string, cacheResult: string, error: string | undefined) =>
      agentDuration.series(agent, model, cacheResult, error, undefined, () => ({
        [A.agentName]: agent,
        [A.requestModel]: model,
        'agentperf.cache.result': cacheResult,
        ...(error ? { [A.errorType]: error } : {}),
      }));

    return { agentSeries, queueWait, agentErrors };
  }

  /** Agent calls: memory hits (the hottest path), then every other call's span, duration and counts. */
  private subscribeAgentCalls({ agentSeries, queueWait, agentErrors }: AgentInstruments): void {
    // Memory hits: the hottest path. One HDR record, one bucket record and two numeric
    // increments; no span and no OpenTelemetry call per hit.
    this.on(memoryHitChannel, (hit: MemoryHitMessage) => {
      this.hdr.memoryHits.record(hit.latencyMs);
      const counts = this.countsFor(hit.agent);
      if (counts.hitModel !== hit.model) {
        counts.hitSeries = agentSeries(hit.agent, hit.model, 'hit', undefined);
        counts.hitModel = hit.model;
      }
      counts.hitSeries!.record(hit.latencyMs / 1000);
      counts.hit++;
      this.memoryHitCount++;
    });

    // While an attempt's provider call starts (synchronously), its agent call's context is the
    // active one (the caller's, baggage included, with the agent span), marked as the
    // orchestrator's: an attempt runs after queueing, when the caller's context may be gone.
    // agentperf's own clients make no span of their own (agentperf makes their `chat` span,
    // below), but a provider the user gave may wrap an SDK client with its tracing on: its span
    // then joins the agent's trace and is not metered a second time (sdk-calls.ts).
    const attemptStart = attemptChannel.start as unknown as {
      bindStore(store: typeof activeContextStore, transform: (message: unknown) => Context): void;
      unbindStore(store: typeof activeContextStore): boolean;
    };
    this.bind(
      () =>
        attemptStart.bindStore(activeContextStore, (raw) => {
          // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- needed: WithSpan adds the symbol-keyed span the subscriber stored (typescript-eslint misreads the intersection)
          const call = (raw as AttemptMessage).call as WithSpan | undefined;
          return (call?.[CALL_CONTEXT] ?? context.active()).setValue(ORCHESTRATED, true);
        }),
      () => attemptStart.unbindStore(activeContextStore),
    );

    const simulatedCostUs = this.simulatedCostUs;
    this.onTracing(agentChannel, {
      start: (message: AgentCallMessage & WithStart) => {
        message[STARTED] = performance.now();
        if (simulatedCostUs > 0) busyWait(simulatedCostUs);
        const counts = this.countsFor(message.agent);
        counts.inFlight++;
        counts.started = true;
        const tracer = this.spanTracer;
        const caller = context.active();
        if (tracer) {
          // Built once per agent, and again only when what the request asks for changes.
          if (counts.spanModel !== message.model || counts.spanMaxTokens !== message.maxTokens || counts.spanTemperature !== message.temperature) {
            counts.spanAttributes = Object.freeze({
              [A.operation]: 'invoke_agent',
              [A.providerName]: PROVIDER_NAME,
              [A.agentName]: message.agent,
              ...(message.description ? { [A.agentDescription]: message.description } : {}),
              [A.requestModel]: message.model,
              [A.requestMaxTokens]: message.maxTokens,
              ...(message.temperature !== undefined ? { [A.requestTemperature]: message.temperature } : {}),
            });
            counts.spanModel = message.model;
            counts.spanMaxTokens = message.maxTokens;
            counts.spanTemperature = message.temperature;
          }
          const span = ((message as WithSpan)[SPAN] = tracer.startSpan(
            `invoke_agent ${message.agent}`,
            { kind: SpanKind.INTERNAL, attributes: counts.spanAttributes },
            caller,
          ));
          (message as WithSpan)[CALL_CONTEXT] = trace.setSpan(caller, span);
        } else (message as WithSpan)[CALL_CONTEXT] = caller;
      },
      asyncEnd: (message: AgentCallMessage & WithStart) => {
        const counts = this.countsFor(message.agent);
        counts.inFlight--;
        const elapsedMs = performance.now() - (message[STARTED] ?? performance.now());
        const result = message.result;
        const cacheResult = result?.cached ? 'hit' : (message.cacheResult ?? 'miss');
        const error = message.error === undefined ? undefined : errorType(message.error);
        this.hdr.upstreamCalls.record(elapsedMs);
        if (error) agentSeries(message.agent, message.model, cacheResult, error).record(elapsedMs / 1000);
        else {
          if (counts.resultModel !== message.model) {
            counts.resultSeries = {};
            counts.resultModel = message.model;
          }
          (counts.resultSeries![cacheResult] ??= agentSeries(message.agent, message.model, cacheResult, undefined)).record(elapsedMs / 1000);
        }
        counts[error ? 'error' : cacheResult]++;
        if (error) agentErrors.add(1, { [A.agentName]: message.agent, [A.errorType]: error });
        else if (cacheResult !== 'bypass') this.countCacheRequest(cacheResult, result?.cacheTier ?? 'none');
        if (result && !result.cached && result.attempts > 0) {
          this.hdr.queueWait.record(result.queueMs);
          (counts.queueSeries ??= queueWait.series(message.agent, undefined, undefined, undefined, undefined, () => ({ [A.agentName]: message.agent }))).record(
            result.queueMs / 1000,
          );
        }
        const span = (message as WithSpan)[SPAN];
        if (!span) return;
        // An unsampled span records nothing: no attributes are built for it.
        if (span.isRecording()) {
          const attributes: Attributes = { [A.cacheResult]: cacheResult };
          if (result) {
            if (result.cacheTier) attributes[A.cacheTier] = result.cacheTier;
            attributes[A.attempts] = result.attempts;
            attributes[A.queueWaitMs] = result.queueMs;
            // As the conventions (and the SDK's span under this one) count them: cache reads and writes included.
            attributes[A.inputTokens] = promptTokens(result.usage);
            attributes[A.outputTokens] = result.usage.outputTokens;
            if (result.usage.cacheReadTokens !== undefined) attributes[A.cacheReadTokens] = result.usage.cacheReadTokens;
            if (result.usage.cacheWriteTokens !== undefined) attributes[A.cacheCreationTokens] = result.usage.cacheWriteTokens;
            if (result.timeToFirstChunkMs !== undefined) attributes[A.timeToFirstChunk] = result.timeToFirstChunkMs / 1000;
          }
          if (error) {
            attributes[A.errorType] = error;
            span.setStatus({ code: SpanStatusCode.ERROR, message: (message.error as Error)?.message });
            if (message.error instanceof Error) span.recordException(message.error);
          }
          span.setAttributes(attributes);
        }
        span.end();
      },
    });
  }

  /**
   * Streamed calls, once each ends: the GenAI conventions' time to first chunk and time per
   * output chunk (recorded for streamed calls only, every chunk's gap handed over in one
   * message), their HDR histograms with output tokens per second, and cancellations and
   * mid-stream failures by reason.
   */
  private subscribeStreams(): void {
    const timeToFirstChunk = this.histogram(
      METRICS.timeToFirstChunk,
      METRIC_UNITS.timeToFirstChunk,
      'Time from a streamed call to its first chunk (queue wait included)',
      TIME_TO_FIRST_CHUNK_BUCKETS,
    );
    const timePerOutputChunk = this.histogram(
      METRICS.timePerOutputChunk,
      METRIC_UNITS.timePerOutputChunk,
      'Time between each output chunk of a streamed call after the first and the chunk before it',
      TIME_PER_OUTPUT_CHUNK_BUCKETS,
    );
    this.streamMetrics = { timeToFirstChunk, timePerOutputChunk };
    const cancellations = this.counter(
      METRICS.streamCancellations,
      METRIC_UNITS.streamCancellations,
      'Streamed calls their caller stopped before the last chunk, by reason (consumer_left, aborted)',
    );
    const interruptions = this.counter(
      METRICS.streamInterruptions,
      METRIC_UNITS.streamInterruptions,
      'Streamed calls that failed after their first chunk, by error type',
    );
    const attributes = (stream: StreamMessage) => () => ({
      [A.operation]: 'chat',
      [A.providerName]: PROVIDER_NAME,
      [A.requestModel]: stream.model,
      [A.agentName]: stream.agent,
    });
    this.on(streamChannel, (stream: StreamMessage) => {
      if (stream.timeToFirstChunkMs !== undefined) {
        this.hdr.streamTimeToFirstChunk.record(stream.timeToFirstChunkMs);
        timeToFirstChunk.series(stream.agent, stream.model, undefined, undefined, undefined, attributes(stream)).record(stream.timeToFirstChunkMs / 1000);
      }
      if (stream.chunkGapsMs.length > 0) {
        const series = timePerOutputChunk.series(stream.agent, stream.model, undefined, undefined, undefined, attributes(stream));
        for (const gap of stream.chunkGapsMs) {
          this.hdr.streamChunkGap.record(gap);
          series.record(gap / 1000);
        }
      }
      if (stream.end === 'completed' && stream.outputTokens && stream.streamingMs > 0)
        this.hdr.streamTokensPerSecond.record(stream.outputTokens / (stream.streamingMs / 1000));
      if (stream.end === 'cancelled') cancellations.add(1, { [A.agentName]: stream.agent, reason: stream.cancelReason ?? 'consumer_left' });
      else if (stream.end === 'failed' && stream.chunks > 0)
        interruptions.add(1, { [A.agentName]: stream.agent, [A.errorType]: stream.errorType ?? 'unknown' });
    });
  }

  /** Each upstream attempt: its `chat` client span, the client metrics, the answer on the agent span. */
  private subscribeAttempts(): void {
    this.onTracing(attemptChannel, {
      start: (message: AttemptMessage & WithStart & Spanned) => {
        message[STARTED] = performance.now();
        const tracer = this.spanTracer;
        if (!tracer) {
          // No span made here (none exported, or the breakdown's handlers-only part): the
          // caller's trace context and baggage still go upstream, as a non-recording span would carry them.
          injectInto(message, context.active());
          return;
        }
        // The attempt's `chat` client span (client-span.ts), a child of its agent span, and its
        // trace context in the headers the attempt sends.
        const counts = this.countsFor(message.agent);
        let start = counts.clientSpan;
        if (!start || start.model !== message.model || start.maxTokens !== message.maxTokens || start.server !== message.server) {
          start = counts.clientSpan = clientSpanStart(message.model, message.maxTokens, message.server);
        }
        // The active context is the agent span's here: the store bound above made it so before
        // `start` was published (no context made for it again).
        const parent = context.active();
        const span = (message[SPAN] = tracer.startSpan(start.name, { kind: SpanKind.CLIENT, attributes: start.attributes }, parent));
        injectInto(message, trace.setSpan(parent, span));
        if (message.attempt > 1 && span.isRecording()) span.setAttributes(resendAttributes(message.attempt)!);
      },
      asyncEnd: (message: AttemptMessage & WithStart & Spanned) => {
        const seconds = (performance.now() - (message[STARTED] ?? performance.now())) / 1000;
        const failed = message.error !== undefined;
        const response = failed ? undefined : (message.result as ProviderResult | undefined);
        const usage = response?.usage;
        const error = failed ? errorType(message.error) : undefined;
        // Input tokens count cache reads and writes too, as the conventions' Anthropic page (and the SDK) say.
        const inputTokens = usage ? usage.input_tokens + (usage.cache_read_input_tokens ?? 0) + (usage.cache_creation_input_tokens ?? 0) : 0;
        if (response && usage) {
          // The common path: an answer, recorded into the series this agent's answers last went to.
          const counts = this.countsFor(message.agent);
          let series = counts.clientSeries;
          if (!series || series.model !== message.model || series.responseModel !== response.model || series.server !== message.server) {
            series = counts.clientSeries = {
              model: message.model,
              responseModel: response.model,
              server: message.server,
              ...this.clientSeriesFor(message.model, response.model, message.server),
            };
          }
          series.duration.record(seconds);
          series.input.record(inputTokens);
          series.output.record(usage.output_tokens);
        } else this.recordClientCall({ model: message.model, server: message.server, seconds, error });
        const span = message[SPAN];
        if (span?.isRecording()) {
          if (failed) {
            span.setAttributes(clientSpanFailure(message.error));
            span.setStatus({ code: SpanStatusCode.ERROR });
          } else if (response) {
            span.setAttributes(clientSpanSuccess(response));
            span.setStatus({ code: SpanStatusCode.OK });
          }
        }
        span?.end();
        // The answer's model and finish reason on the agent span, when it is recorded.
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- needed: WithSpan adds the symbol-keyed span the subscriber stored (typescript-eslint misreads the intersection)
        const agentSpan = (message.call as WithSpan | undefined)?.[SPAN];
        if (response && agentSpan?.isRecording()) {
          agentSpan.setAttributes({ [A.responseModel]: response.model, ...(response.stop_reason ? { [A.finishReasons]: [response.stop_reason] } : {}) });
        }
      },
    });
  }

  /** The cache: lookups by result and tier, bytes and entries by tier, evictions, expirations, integrity failures, and each shared tier's gets (HDR). */
  private subscribeCache(): void {
    const m = this.meter;
    m.createObservableCounter(METRICS.cacheRequests, { unit: METRIC_UNITS.cacheRequests, description: 'Cache lookups by result and tier' }).addCallback(
      (result) => {
        // With a cache observed, its lookups' series start at zero: hits of memory and of each shared tier, misses.
        const sharedTiers = new Set([...this.caches].flatMap((c) => c.stats().tiers.map((t) => t.name)));
        const seen = new Set<string>();
        const observe = (cacheResult: string, tier: string, count: number) => {
          seen.add(`${cacheResult} ${tier}`);
          result.observe(count, { result: cacheResult, tier });
        };
        const memoryHits = this.memoryHitCount + (this.cacheRequestCounts.get('hit')?.get('memory') ?? 0);
        if (memoryHits > 0 || this.caches.size > 0) observe('hit', 'memory', memoryHits);
        for (const [cacheResult, tiers] of this.cacheRequestCounts)
          for (const [tier, count] of tiers) if (!(cacheResult === 'hit' && tier === 'memory')) observe(cacheResult, tier, count);
        if (this.caches.size > 0) {
          if (!seen.has('miss none')) observe('miss', 'none', 0);
          for (const tier of sharedTiers) if (!seen.has(`hit ${tier}`)) observe('hit', tier, 0);
        }
      },
    );
    const tierGauge = (name: string, unit: string, pick: (s: { entries: number; bytes: number }) => number) =>
      m.createObservableGauge(name, { unit, description: `Cache ${unit === 'By' ? 'bytes' : 'entries'} by tier` }).addCallback((result) => {
        for (const cache of this.caches) {
          const stats = cache.stats();
          result.observe(pick(stats.memory), { tier: 'memory' });
          for (const tier of stats.tiers) result.observe(pick(tier), { tier: tier.name });
        }
      });
    tierGauge(METRICS.cacheBytes, METRIC_UNITS.cacheBytes, (s) => s.bytes);
    tierGauge(METRICS.cacheEntries, METRIC_UNITS.cacheEntries, (s) => s.entries);
    // A tier over the network (Redis): its operations by outcome, and whether it is in use.
    const linkedTiers = () =>
      [...this.caches].flatMap((cache) => cache.stats().tiers.flatMap((tier) => (tier.link ? [{ tier: tier.name, link: tier.link }] : [])));
    m.createObservableCounter(METRICS.cacheTierOperations, {
      unit: METRIC_UNITS.cacheTierOperations,
      description: "A networked cache tier's operations by outcome: ok, error, timeout (over its budget), skipped (not tried: down or not connected)",
    }).addCallback((result) => {
      for (const { tier, link } of linkedTiers()) {
        result.observe(link.ok, { tier, outcome: 'ok' });
        result.observe(link.errors, { tier, outcome: 'error' });
        result.observe(link.timeouts, { tier, outcome: 'timeout' });
        result.observe(link.skipped, { tier, outcome: 'skipped' });
      }
    });
    m.createObservableGauge(METRICS.cacheTierUp, {
      unit: METRIC_UNITS.cacheTierUp,
      description: 'Whether a networked cache tier is in use: 1 connected and answering, 0 not (calls go on without it)',
    }).addCallback((result) => {
      for (const { tier, link } of linkedTiers()) result.observe(link.connected && link.state === 'up' ? 1 : 0, { tier });
    });

    const evictions = this.counter(METRICS.cacheEvictions, METRIC_UNITS.cacheEvictions, 'Cache evictions by tier');
    const expirations = this.counter(METRICS.cacheExpirations, METRIC_UNITS.cacheExpirations, 'Expired cache entries removed, by tier');
    this.tierCounters = [evictions, expirations];
    const integrity = this.counter(
      METRICS.cacheIntegrityFailures,
      METRIC_UNITS.cacheIntegrityFailures,
      'Cache entries that failed HMAC verification (never served)',
    );

    this.onTracing(cacheGetChannel, {
      start: (message: CacheOperationMessage & WithStart) => {
        message[STARTED] = performance.now();
      },
      asyncEnd: (message: CacheOperationMessage & WithStart) => {
        this.hdr.tierGet(message.tier).record(performance.now() - (message[STARTED] ?? performance.now()));
      },
    });

    this.on(cacheEvictionChannel, (event: CacheEventMessage) => evictions.add(1, { tier: event.tier }));
    this.on(cacheExpirationChannel, (event: CacheEventMessage) => expirations.add(1, { tier: event.tier }));
    this.on(cacheIntegrityChannel, (event: CacheEventMessage) => integrity.add(1, { tier: event.tier, reason: event.reason ?? 'unknown' }));
  }

  /** Retries and the circuit breaker: counted, and told to the agent span as events. */
  private subscribeResilience(): void {
    const m = this.meter;
    const retries = this.counter(METRICS.retries, METRIC_UNITS.retries, 'Retried API attempts by reason');
    m.createObservableGauge(METRICS.circuitState, {
      unit: METRIC_UNITS.circuitState,
      description: 'Circuit breaker state per model: 0 closed, 1 half-open, 2 open',
    }).addCallback((result) => {
      for (const [model, state] of this.circuitStates) result.observe(state, { 'gen_ai.request.model': model });
    });
    this.on(retryChannel, (retry: RetryMessage) => {
      retries.add(1, { [A.agentName]: retry.agent, reason: retry.reason });
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- needed: WithSpan adds the symbol-keyed span the subscriber stored (typescript-eslint misreads the intersection)
      const span = (retry.call as WithSpan | undefined)?.[SPAN];
      if (span?.isRecording())
        span.addEvent('retry', {
          'agentperf.attempt': retry.attempt,
          'agentperf.retry.delay_ms': Math.round(retry.delayMs),
          'agentperf.retry.reason': retry.reason,
        });
    });
    this.on(circuitChannel, (change: CircuitMessage) => {
      this.circuitStates.set(change.model, CIRCUIT_STATE_VALUE[change.to]);
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- needed: WithSpan adds the symbol-keyed span the subscriber stored (typescript-eslint misreads the intersection)
      (change.call as WithSpan | undefined)?.[SPAN]?.addEvent('circuit_state_change', {
        [A.requestModel]: change.model,
        'agentperf.circuit.from': change.from,
        'agentperf.circuit.to': change.to,
      });
    });
  }

  private subscribeHttpServer(): void {
    const http = httpServerHandlers(this.meter, () => this.spanTracer);
    this.on(httpServerRequestChannel, http.request);
    this.on(httpServerResponseChannel, http.response);
  }

  /**
   * One GenAI client call (an orchestrator attempt, or an SDK call made outside the
   * orchestrator, sdk-calls.ts): `gen_ai.client.operation.duration` and, when it answered,
   * `gen_ai.client.token.usage`, with the conventions' attributes.
   */
  recordClientCall({ model, server, seconds, answer, error, timeToFirstChunkS, chunkGapsMs }: ClientCall): void {
    const metrics = this.clientMetrics;
    if (!metrics || !this.attached) return;
    const responseModel = answer?.model;
    const labelled = server?.ephemeralPort ? undefined : server;
    const address = labelled?.address;
    const port = labelled?.port;
    metrics.operationDuration
      .series(model, responseModel, address, port, error, () => ({
        ...clientAttributes(model, responseModel, server),
        ...(error ? { [A.errorType]: error } : {}),
      }))
      .record(seconds);
    if (answer?.inputTokens !== undefined)
      metrics.tokenUsage
        .series(model, responseModel, address, port, 'input', () => ({ ...clientAttributes(model, responseModel, server), [A.tokenType]: 'input' }))
        .record(answer.inputTokens);
    if (answer?.outputTokens !== undefined)
      metrics.tokenUsage
        .series(model, responseModel, address, port, 'output', () => ({ ...clientAttributes(model, responseModel, server), [A.tokenType]: 'output' }))
        .record(answer.outputTokens);
    // An application's own streamed call (the orchestrator's are recorded from the stream channel).
    if (timeToFirstChunkS !== undefined && this.streamMetrics) {
      this.hdr.streamTimeToFirstChunk.record(timeToFirstChunkS * 1000);
      this.streamMetrics.timeToFirstChunk
        .series(model, responseModel, address, port, 'sdk', () => clientAttributes(model, responseModel, server))
        .record(timeToFirstChunkS);
    }
    if (chunkGapsMs?.length && this.streamMetrics) {
      const series = this.streamMetrics.timePerOutputChunk.series(model, responseModel, address, port, 'sdk', () =>
        clientAttributes(model, responseModel, server),
      );
      for (const gap of chunkGapsMs) {
        this.hdr.streamChunkGap.record(gap);
        series.record(gap / 1000);
      }
    }
  }

  /** The series an answered call with these keys records into (the same ones `recordClientCall` finds). */
  private clientSeriesFor(
    model: string,
    responseModel: string,
    server: MetricServer | undefined,
  ): { duration: BucketSeries; input: BucketSeries; output: BucketSeries } {
    const metrics = this.clientMetrics!;
    const labelled = server?.ephemeralPort ? undefined : server;
    const address = labelled?.address;
    const port = labelled?.port;
    return {
      duration: metrics.operationDuration.series(model, responseModel, address, port, undefined, () => clientAttributes(model, responseModel, server)),
      input: metrics.tokenUsage.series(model, responseModel, address, port, 'input', () => ({
        ...clientAttributes(model, responseModel, server),
        [A.tokenType]: 'input',
      })),
      output: metrics.tokenUsage.series(model, responseModel, address, port, 'output', () => ({
        ...clientAttributes(model, responseModel, server),
        [A.tokenType]: 'output',
      })),
    };
  }

  /**
   * Workflows: a span per run (`invoke_workflow {name}`, the conventions' workflow operation)
   * with a span per step under it (agentperf's own `workflow_step {id}`: the conventions define
   * no step), and the step's agent span under the step (the step span is active while the step's
   * call starts). Runs and steps are counted by status and timed.
   */
  private subscribeWorkflows(): void {
    const m = this.meter;
    // Client-supplied: bounded for labels and span names (the real value stays an attribute).
    const names = new BoundedValues(this.labelValuesMax);
    const stepIds = new BoundedValues(this.labelValuesMax);
    m.createObservableCounter(METRICS.labelOverflow, {
      unit: METRIC_UNITS.labelOverflow,
      description: 'Label values turned into "other" past the bound on distinct values (AGENTPERF_LABEL_VALUES_MAX), by label',
    }).addCallback((result) => {
      result.observe(names.overflowed, { label: A.workflowName });
      result.observe(stepIds.overflowed, { label: A.stepId });
    });
    const runs = m.createCounter(METRICS.workflowRuns, { unit: METRIC_UNITS.workflowRuns, description: 'Workflow runs by final status' });
    for (const status of ['completed', 'failed', 'cancelled']) runs.add(0, { [A.workflowStatus]: status });
    const runDuration = m.createHistogram(METRICS.workflowDuration, {
      unit: METRIC_UNITS.workflowDuration,
      description: 'GenAI workflow duration: workflow invocations, start to finish',
      advice: { explicitBucketBoundaries: WORKFLOW_DURATION_BUCKETS },
    });
    const steps = m.createCounter(METRICS.workflowSteps, { unit: METRIC_UNITS.workflowSteps, description: 'Workflow steps run, by outcome (done or failed)' });
    const stepDuration = m.createHistogram(METRICS.workflowStepDuration, {
      unit: METRIC_UNITS.workflowStepDuration,
      description: 'Workflow steps, start to finish',
      advice: { explicitBucketBoundaries: AGENT_DURATION_BUCKETS },
    });

    const tracer = this.tracer;
    if (tracer) {
      // Node runs a bound store's transform before it publishes `start`, so the step span is
      // made here; it is the active context while the step's agent call starts.
      const start = workflowStepChannel.start as unknown as {
        bindStore(store: typeof activeContextStore, transform: (message: unknown) => Context): void;
        unbindStore(store: typeof activeContextStore): boolean;
      };
      const transform = (raw: unknown) => {
        const message = raw as WorkflowStepMessage & Spanned;
        const parent = (message.workflow as Spanned)[SPAN];
        const active = context.active();
        if (!parent || !this.spans) return active;
        message[SPAN] = tracer.startSpan(
          `workflow_step ${stepIds.of(message.stepId)}`,
          { kind: SpanKind.INTERNAL, attributes: { [A.workflowId]: message.workflow.workflowId, [A.stepId]: message.stepId, [A.agentName]: message.agent } },
          trace.setSpan(active, parent),
        );
        return trace.setSpan(active, message[SPAN]);
      };
      this.bind(
        () => start.bindStore(activeContextStore, transform),
        () => start.unbindStore(activeContextStore),
      );
    }

    this.onTracing(workflowChannel, {
      start: (message: WorkflowMessage & WithStart & Spanned & { [BOUNDED_NAME]?: string }) => {
        message[STARTED] = performance.now();
        // Bounded once per run: the span name and the metric label say the same, and it is counted once.
        if (message.name) message[BOUNDED_NAME] = names.of(message.name);
        const tracer = this.spanTracer;
        if (tracer) {
          message[SPAN] = tracer.startSpan(
            message.name ? `invoke_workflow ${message[BOUNDED_NAME]}` : 'invoke_workflow',
            {
              kind: SpanKind.INTERNAL,
              attributes: {
                [A.operation]: 'invoke_workflow',
                [A.workflowId]: message.workflowId,
                [A.workflowSteps]: message.steps,
                ...(message.name ? { [A.workflowName]: message.name } : {}),
              },
            },
            context.active(),
          );
        }
      },
      asyncEnd: (message: WorkflowMessage & WithStart & Spanned & { [BOUNDED_NAME]?: string }) => {
        const status = message.error ? 'error' : (message.result?.status ?? 'completed');
        // error.type: the error's, or the run's final status when it did not complete (`failed`, `cancelled`).
        const error = message.error !== undefined ? errorType(message.error) : status !== 'completed' ? status : undefined;
        const attributes: Attributes = {
          [A.workflowStatus]: status,
          ...(message.name ? { [A.workflowName]: message[BOUNDED_NAME] ?? names.of(message.name) } : {}),
          ...(error ? { [A.errorType]: error } : {}),
        };
        runs.add(1, { [A.workflowStatus]: status });
        runDuration.record((performance.now() - (message[STARTED] ?? performance.now())) / 1000, attributes);
        const span = message[SPAN];
        if (span) {
          span.setAttributes({ [A.workflowStatus]: status, ...(error ? { [A.errorType]: error } : {}) });
          if (status !== 'completed') span.setStatus({ code: SpanStatusCode.ERROR, message: status });
          span.end();
        }
      },
    });

    this.onTracing(workflowStepChannel, {
      start: (message: WorkflowStepMessage & WithStart) => {
        message[STARTED] = performance.now();
      },
      error: (message: WorkflowStepMessage & Spanned) => {
        const span = message[SPAN];
        if (span) {
          span.setAttribute(A.errorType, errorType(message.error));
          span.setStatus({ code: SpanStatusCode.ERROR, message: (message.error as Error)?.message });
        }
      },
      asyncEnd: (message: WorkflowStepMessage & WithStart & Spanned) => {
        const outcome = message.error ? 'failed' : 'done';
        steps.add(1, { outcome, 'gen_ai.agent.name': message.agent });
        stepDuration.record((performance.now() - (message[STARTED] ?? performance.now())) / 1000, { outcome, 'gen_ai.agent.name': message.agent });
        message[SPAN]?.end();
      },
    });
  }

  /** Removes every subscription for good. */
  unsubscribe(): void {
    this.detach();
    this.bindings.splice(0);
  }

  /** The span of a traced call, for log lines written on its behalf. */
  static spanOf(call: object): Span | undefined {
    return (call as WithSpan)[SPAN];
  }

  private countsFor(agent: string): AgentCounts {
    let counts = this.agents.get(agent);
    if (!counts) this.agents.set(agent, (counts = { hit: 0, miss: 0, bypass: 0, error: 0, inFlight: 0, started: false }));
    return counts;
  }

  private countCacheRequest(result: string, tier: string): void {
    let tiers = this.cacheRequestCounts.get(result);
    if (!tiers) this.cacheRequestCounts.set(result, (tiers = new Map<string, number>()));
    tiers.set(tier, (tiers.get(tier) ?? 0) + 1);
  }

  /** Telemetry never throws into the host: every handler is guarded. */
  private guard<T>(name: string, handler: (message: T) => void): (message: unknown) => void {
    return (message) => {
      try {
        handler(message as T);
      } catch (error) {
        this.log.warn({ err: error, channel: name }, 'instrumentation subscriber failed; the call goes on');
      }
    };
  }

  private on<T>(
    channel: { name: string | symbol; subscribe(fn: (m: unknown) => void): void; unsubscribe(fn: (m: unknown) => void): void },
    handler: (message: T) => void,
  ): void {
    const guarded = this.guard(String(channel.name), handler);
    this.bind(
      () => channel.subscribe(guarded),
      () => channel.unsubscribe(guarded),
    );
  }

  private onTracing<T>(
    channel: { subscribe(h: object): void; unsubscribe(h: object): void },
    handlers: { start?: (m: T) => void; error?: (m: T) => void; asyncEnd?: (m: T) => void },
  ): void {
    const noop = () => {};
    const guardedHandlers = {
      start: handlers.start ? this.guard('start', handlers.start) : noop,
      end: noop,
      asyncStart: noop,
      asyncEnd: handlers.asyncEnd ? this.guard('asyncEnd', handlers.asyncEnd) : noop,
      error: handlers.error ? this.guard('error', handlers.error) : noop,
    };
    this.bind(
      () => channel.subscribe(guardedHandlers),
      () => channel.unsubscribe(guardedHandlers),
    );
  }
}

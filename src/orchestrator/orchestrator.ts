import type { AgentConfig } from '../config/agents.js';
import { estimateCostUsd, MODELS, MODEL_IDS, type ModelInfo, type ModelPrices } from '../config/models.js';
import { canonicalPrefix, canonicalSuffix, keyOfCanonical } from '../cache/key.js';
import type { CachedResponse, ResponseCache } from '../cache/response-cache.js';
import type { Cancellation } from '../cancellation.js';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import {
  agentChannel,
  attemptChannel,
  circuitChannel,
  memoryHitChannel,
  retryChannel,
  streamChannel,
  traced,
  type AgentCallMessage,
  type MemoryHitMessage,
  type StreamMessage,
} from '../diagnostics.js';
import {
  AbortedError,
  ClosedError,
  ConfigError,
  errorType,
  StreamInterruptedError,
  TimeoutError,
  UnknownAgentError,
  UnknownModelError,
  UpstreamError,
} from '../errors.js';
import { logFieldsFor, rootLogger, type Logger } from '../logger.js';
import { inputTokensOf } from '../providers/tokens.js';
import type { CreateMessageOptions, MessageParams, MessagesProvider, ProviderResult } from '../providers/types.js';
import { eventsOf, pacedReader, replayReader } from '../providers/stream-events.js';
import { AgentStream, type StreamReport, type StreamStart } from './agent-stream.js';
import type { AgentResult, TokenUsage } from './result.js';

export type { AgentResult, TokenUsage } from './result.js';
import { RelayedStream } from './relayed-stream.js';
import { SharedStream } from './shared-stream.js';
import { CircuitBreaker, DEFAULT_CIRCUIT_OPTIONS, type CircuitBreakerOptions, type CircuitState } from './circuit-breaker.js';
import { Coalescer, Flight } from './coalescer.js';
import { ConcurrencyLimiter } from './limiter.js';
import { ModelRateLimiter, type ModelRateLimit, type RateGate } from './rate-limiter.js';
import type { CrossInstanceFlight, FlightLease } from './cross-instance.js';
import { DEFAULT_RETRY_POLICY, isRetryable, retryDelayMs, type RetryPolicy } from './retry.js';
import { validateAgentName, validateMaxTokens, validateTask, validateTemperature } from './validate.js';

export interface OrchestratorOptions {
  agents: readonly AgentConfig[];
  provider: MessagesProvider;
  /** Calls in flight upstream at once. Default 10. */
  maxConcurrent?: number;
  /** Calls waiting for a slot; past it QueueFullError at once. Default 1,000. */
  maxQueued?: number;
  /** Per attempt. Default 20 s. */
  attemptTimeoutMs?: number;
  /** Per call, queue wait and retries included. Default 30 s. */
  deadlineMs?: number;
  /** Streamed calls: the wait for an attempt's first chunk (it is retried like an attempt timeout). Default: attemptTimeoutMs. */
  firstChunkTimeoutMs?: number;
  /** Streamed calls: the longest wait for the next chunk once the stream has started. Default 10 s. */
  idleTimeoutMs?: number;
  /**
   * Streamed calls: the most bytes of events kept per stream for callers of an identical request
   * that join it late (they first receive what was already delivered). Past it nobody new joins
   * and only what the slowest reader has yet to read is kept. Default 1 MiB.
   */
  streamReplayBytes?: number;
  retry?: Partial<RetryPolicy>;
  circuit?: Partial<CircuitBreakerOptions>;
  /** Optional client-side limits per model id. */
  rateLimits?: Readonly<Record<string, ModelRateLimit>>;
  /** Single-flight across instances (the stack passes one through Redis): after a miss, one instance goes upstream and the others read its answer. */
  crossInstance?: CrossInstanceFlight;
  /** Makes each model's limit (default: this process's own buckets); the stack passes one shared through Redis. */
  rateGate?: (model: string, limit: ModelRateLimit, clock: Clock) => RateGate;
  /** Overrides of the price table, per model id. */
  modelPrices?: Readonly<Record<string, Partial<ModelPrices>>>;
  /** Tenant scope for request keys. Default `default`. */
  namespace?: string;
  /** The signed response cache; without it nothing is cached. */
  cache?: ResponseCache;
  clock?: Clock;
  /** Source of jitter; injectable for tests. */
  random?: () => number;
  logger?: Logger;
}

export interface ExecuteOptions {
  signal?: AbortSignal;
  /** `bypass`: neither read nor write the cache; `refresh`: skip the read, store the answer. */
  cache?: 'default' | 'bypass' | 'refresh';
  temperature?: number;
  maxTokens?: number;
  deadlineMs?: number;
  attemptTimeoutMs?: number;
}

/** A streamed call's options: executeAgent's, plus its stream timeouts (the orchestrator's by default). */
export interface StreamOptions extends ExecuteOptions {
  /**
   * A cache hit: replayed at once (`immediate`, the default), or as it arrived when it was
   * streamed (`paced`: the recorded time to first chunk and gaps between chunks, for realistic
   * load tests; an answer stored from a whole call has no pacing and comes at once).
   */
  replay?: 'immediate' | 'paced';
  /** The wait for an attempt's first chunk (OrchestratorOptions.firstChunkTimeoutMs). */
  firstChunkTimeoutMs?: number;
  /** The longest wait for the next chunk (OrchestratorOptions.idleTimeoutMs). */
  idleTimeoutMs?: number;
}

export interface ExecuteItem {
  agent: string;
  task: string;
  options?: ExecuteOptions;
}

/** Running totals since the orchestrator was created. */
export interface OrchestratorCounters {
  calls: number;
  succeeded: number;
  failed: number;
  upstreamAttempts: number;
  retries: number;
  /** Retries by the error that caused them (`rate_limit_error`, `overloaded_error`, `connection_error`, ...). */
  retriesByReason: Record<string, number>;
  coalesced: number;
  /** Calls answered by another instance's upstream call (single-flight across instances). */
  answeredByOtherInstance: number;
  /** Streamed calls (each also counted in calls). */
  streams: number;
  /** Streamed calls that their caller stopped (`break`, `return()`, its signal) before the last event. */
  streamsCancelled: number;
  /** Streamed calls that failed after their first chunk (StreamInterruptedError). */
  streamsInterrupted: number;
}

export type SettledResult = { status: 'fulfilled'; value: AgentResult } | { status: 'rejected'; reason: unknown };

/** What an upstream stream gives its shared stream once its first event arrived. */
interface OpenedStream {
  attempts: number;
  queueMs: number;
  /** When the attempt that answered was sent. */
  sentAt: number;
  events: RelayedStream;
}

/** What one upstream call (shared by coalesced callers) produced. */
interface UpstreamOutcome {
  result: ProviderResult;
  attempts: number;
  queueMs: number;
  /** Set when the flight was answered by the disk tier instead of the API. */
  cacheTier?: string;
}

/** What the hot path needs about an agent, resolved once at construction. */
interface AgentRuntime {
  config: AgentConfig;
  model: ModelInfo;
  prices: ModelPrices;
  /** One per model, shared by the agents on that model. */
  breaker: CircuitBreaker;
  rateLimiter: RateGate | undefined;
  /** The agent's part of the request encoding (the system prompt may be long). */
  canonicalPrefix: string;
  /** Whether its answers may be cached (config, exclusions, a cache present). */
  cacheable: boolean;
  cacheTtlMs: number;
  /** Its memory-hit message, made once and reused (see MemoryHitMessage). */
  hitMessage: MemoryHitMessage;
}

interface PreparedCall {
  agent: AgentRuntime;
  params: MessageParams;
  /** The canonical request encoding: the coalescing key (its SHA-256 is the cache key). */
  canonical: string;
  /** The cache key, when this call reads or writes the cache. */
  cacheKey: string | undefined;
  /** Whether the cache is read (memory here, disk in the flight); false for `refresh`. */
  readCache: boolean;
}

/** A call's deadline: when it passes, and how long it was (the error names it). */
interface Deadline {
  at: number;
  ms: number;
}

/**
 * One upstream attempt's timeout and cancellation. Only a cancellable attempt gets an
 * AbortController and a timer of its own (see callApi); the others pass the timeout to the
 * provider, whose per-request timer enforces it.
 */
class Attempt {
  readonly controller: AbortController | undefined;
  readonly request: CreateMessageOptions;
  private timer: TimerHandle | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    readonly timeoutMs: number,
    /** The timeout is what was left of the call's deadline: a timeout is the deadline's. */
    readonly byDeadline: boolean,
    cancellation: Cancellation | undefined,
    clock: Clock,
    kind: 'attempt' | 'first_chunk' = 'attempt',
  ) {
    if (!cancellation) {
      this.request = { timeoutMs };
      return;
    }
    const controller = (this.controller = new AbortController());
    this.unsubscribe = cancellation.onAbort(() => controller.abort(cancellation.reason));
    this.timer = clock.setTimer(() => controller.abort(new TimeoutError(kind, timeoutMs)), timeoutMs);
    this.request = { signal: controller.signal, timeoutMs };
  }

  /** The attempt's own timeout no longer applies (a stream's first event arrived). */
  stopTimer(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** The attempt is over: its timer and its tie to the call's cancellation go. */
  end(): void {
    this.stopTimer();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }
}

/**
 * Runs agents against the Messages API: validation, bounded concurrency, deadlines, one retry
 * layer, a circuit breaker per model, coalescing of identical in-flight requests and an
 * optional client-side rate limit.
 */
/** What the agent span of a call is made from. */
function callMessage(call: PreparedCall): AgentCallMessage {
  return {
    agent: call.agent.config.name,
    model: call.agent.model.id,
    description: call.agent.config.description,
    maxTokens: call.params.max_tokens,
    temperature: call.params.temperature,
    cacheResult: call.cacheKey === undefined ? 'bypass' : 'miss',
  };
}

/** The whole message of a shared stream that completed. */
function finalOf(shared: SharedStream): Promise<ProviderResult> {
  return shared.over.then((message) => message ?? Promise.reject(new Error('the shared stream ended without its final message')));
}

function asError(reason: unknown): unknown {
  return reason instanceof Error ? reason : new AbortedError(reason);
}

export class Orchestrator {
  private readonly agents = new Map<string, AgentRuntime>();
  private readonly provider: MessagesProvider;
  private readonly limiter: ConcurrencyLimiter;
  private readonly coalescer = new Coalescer<UpstreamOutcome, AgentCallMessage>();
  /** Streamed calls not yet over (close() waits for or cuts them). */
  private readonly streams = new Set<Flight<void, AgentCallMessage>>();
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly retry: RetryPolicy;
  private readonly circuitOptions: CircuitBreakerOptions;
  private readonly attemptTimeoutMs: number;
  private readonly deadlineMs: number;
  private readonly namespace: string;
  private readonly clock: Clock;
  private readonly cache: ResponseCache | undefined;
  /** Cache writes not yet finished (close() waits for them). */
  private readonly cacheWrites = new Set<Promise<void>>();
  private readonly crossInstance: CrossInstanceFlight | undefined;
  private readonly random: () => number;
  private readonly log: Logger;
  private closed = false;
  private readonly firstChunkTimeoutMs: number | undefined;
  private readonly idleTimeoutMs: number;
  private readonly streamReplayBytes: number;
  /** Streams in flight by request: an identical streamed call joins one while it is joinable. */
  private readonly sharedStreams = new Map<string, SharedStream>();
  private readonly counters: OrchestratorCounters = {
    calls: 0,
    succeeded: 0,
    failed: 0,
    upstreamAttempts: 0,
    retries: 0,
    retriesByReason: {},
    coalesced: 0,
    answeredByOtherInstance: 0,
    streams: 0,
    streamsCancelled: 0,
    streamsInterrupted: 0,
  };

  constructor(options: OrchestratorOptions) {
    this.provider = options.provider;
    this.limiter = new ConcurrencyLimiter(options.maxConcurrent ?? 10, options.maxQueued ?? 1_000);
    this.retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.circuitOptions = { ...DEFAULT_CIRCUIT_OPTIONS, ...options.circuit };
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 20_000;
    this.deadlineMs = options.deadlineMs ?? 30_000;
    this.firstChunkTimeoutMs = options.firstChunkTimeoutMs;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 10_000;
    this.streamReplayBytes = options.streamReplayBytes ?? 1024 * 1024;
    this.namespace = options.namespace ?? 'default';
    this.clock = options.clock ?? systemClock;
    this.cache = options.cache;
    this.crossInstance = options.cache ? options.crossInstance : undefined;
    this.random = options.random ?? Math.random;
    this.log = (options.logger ?? rootLogger).child({ component: 'orchestrator' });
    const rateLimiters = new Map<string, RateGate>();
    for (const [id, limit] of Object.entries(options.rateLimits ?? {})) {
      if (!MODELS.has(id)) throw new UnknownModelError('rateLimits', id, MODEL_IDS);
      rateLimiters.set(id, options.rateGate?.(id, limit, this.clock) ?? new ModelRateLimiter(limit, this.clock));
    }
    for (const config of options.agents) {
      const model = MODELS.get(config.model);
      if (!model) throw new UnknownModelError('model', config.model, MODEL_IDS);
      let breaker = this.breakers.get(model.id);
      if (!breaker) {
        breaker = new CircuitBreaker(model.id, this.circuitOptions, this.clock, (m, from, to, cause) => {
          this.log.warn({ model: m, from, to }, 'circuit breaker changed state');
          if (circuitChannel.hasSubscribers) circuitChannel.publish({ call: cause as AgentCallMessage | undefined, model: m, from, to });
        });
        this.breakers.set(model.id, breaker);
      }
      this.agents.set(config.name, {
        config,
        model,
        prices: { ...model.prices, ...options.modelPrices?.[model.id] },
        breaker,
        rateLimiter: rateLimiters.get(model.id),
        canonicalPrefix: canonicalPrefix(
          { namespace: this.namespace, provider: this.provider.name, agentVersion: config.version },
          config.model,
          config.systemPrompt,
        ),
        cacheable: this.cache?.allows(config.name, config.cacheable) ?? false,
        cacheTtlMs: config.cacheTtlMs ?? this.cache?.defaultTtlMs ?? 0,
        hitMessage: { agent: config.name, model: model.id, latencyMs: 0 },
      });
    }
  }

  get inFlight(): number {
    return this.limiter.inFlight;
  }

  get queued(): number {
    return this.limiter.queued;
  }

  /** Calls that may wait for a slot; past it a call fails at once with QueueFullError. */
  get maxQueued(): number {
    return this.limiter.maxQueued;
  }

  /** Each configured agent and its model (instrumentation makes their series before the first call). */
  get agentModels(): ReadonlyArray<{ agent: string; model: string }> {
    return [...this.agents.values()].map((a) => ({ agent: a.config.name, model: a.model.id }));
  }

  circuitState(model: string): CircuitState {
    return this.breakers.get(model)?.state ?? 'closed';
  }

  stats(): OrchestratorCounters {
    return { ...this.counters, retriesByReason: { ...this.counters.retriesByReason } };
  }

  executeAgent(agentName: string, task: string, options: ExecuteOptions = {}): Promise<AgentResult> {
    const startedAt = this.clock.now();
    this.counters.calls++;
    let call: PreparedCall;
    try {
      if (this.closed) throw new ClosedError();
      call = this.prepare(agentName, task, options);
    } catch (error) {
      this.counters.failed++;
      return Promise.reject(error);
    }
    if (call.cacheKey !== undefined && call.readCache) {
      // The hot path of a repeat: the key, one lookup, no verification (memory is trusted).
      const hit = this.cache!.fromMemory(call.cacheKey);
      if (hit) {
        this.counters.succeeded++;
        const result = this.toResult(call, { result: hit, attempts: 0, queueMs: 0, cacheTier: 'memory' }, false, this.clock.now() - startedAt);
        // No span for a memory hit (a span costs more than the hit), and no message made per hit.
        if (memoryHitChannel.hasSubscribers) {
          call.agent.hitMessage.latencyMs = result.latencyMs;
          memoryHitChannel.publish(call.agent.hitMessage);
        }
        return Promise.resolve(result);
      }
    }
    if (!agentChannel.hasSubscribers) return this.runFlight(call, options, startedAt, undefined);
    const message = callMessage(call);
    return agentChannel.tracePromise(() => this.runFlight(call, options, startedAt, message), message);
  }

  /** Joins or starts the upstream flight for a call and turns its outcome into the result. */
  private runFlight(call: PreparedCall, options: ExecuteOptions, startedAt: number, trace: AgentCallMessage | undefined): Promise<AgentResult> {
    let flight = this.coalescer.join(call.canonical);
    const joined = flight !== undefined;
    if (flight) this.counters.coalesced++;
    else
      flight = this.coalescer.start(call.canonical, (started) => {
        started.trace = trace; // set before the first await inside callUpstream reads it
        return this.callUpstream(call, options, started, startedAt);
      });
    // One .then rather than an async function: a promise less per call on the hot path.
    return this.coalescer.wait(flight, options.signal).then(
      (outcome) => {
        this.counters.succeeded++;
        return this.toResult(call, outcome, joined, this.clock.now() - startedAt);
      },
      (error: unknown) => {
        this.counters.failed++;
        throw error;
      },
    );
  }

  /**
   * A streamed call: the same validation, cache, concurrency slot, rate limit, deadline, circuit
   * breaker and retry policy as executeAgent, its answer delivered event by event as it is
   * generated (see AgentStream). Returns at once; a failure to start (validation, an open
   * circuit, no answer before the deadline) is thrown by the first read and rejects `result`.
   *
   * - Retries happen only until an attempt's first event arrives (`firstChunkTimeoutMs` bounds
   *   that wait): from then on output may have reached the caller, and a later failure ends the
   *   stream with a StreamInterruptedError. `idleTimeoutMs` bounds each wait for the next event.
   * - A cache hit is replayed as a stream at once; a stream that completed is stored (signed,
   *   like any entry); one that failed or was left is not.
   * - An identical streamed call while one is in flight joins it: it first receives the events
   *   already delivered, then the live ones. The first caller's timeouts and deadline govern the
   *   shared upstream; a joiner's own deadline and signal end only its own reading. The upstream
   *   is cancelled when its last reader leaves. Memory per stream: see `streamReplayBytes`.
   */
  executeAgentStream(agentName: string, task: string, options: StreamOptions = {}): AgentStream {
    const startedAt = this.clock.now();
    this.counters.calls++;
    this.counters.streams++;
    return new AgentStream(this.startStream(agentName, task, options, startedAt), {
      clock: this.clock,
      startedAt,
      signal: options.signal,
      onEnd: (report) => this.streamEnded(report),
    });
  }

  /** Where a streamed call's events come from: the cache, an identical stream in flight, or a new upstream stream. */
  private async startStream(agentName: string, task: string, options: StreamOptions, startedAt: number): Promise<StreamStart> {
    if (this.closed) throw new ClosedError();
    const call = this.prepare(agentName, task, options);
    if (!this.provider.streamMessage) throw new ConfigError('provider', `the ${this.provider.name} provider cannot stream: it has no streamMessage()`);
    // The agent span starts here, in the caller's context (nothing was awaited yet), and ends with the stream.
    const trace = agentChannel.hasSubscribers ? this.traceStart(call) : undefined;
    const about = { agent: call.agent.config.name, model: call.agent.model.id, trace };
    if (call.cacheKey !== undefined && call.readCache) {
      const memory = this.cache!.fromMemory(call.cacheKey);
      const hit = memory ? { value: memory, tier: 'memory' } : await this.cache!.fromTiers(call.cacheKey);
      if (hit) {
        const message = hit.value;
        const pacing = options.replay === 'paced' ? message._stream_pacing : undefined;
        // The pacing stays with the entry; the answer handed on is the message alone.
        const { _stream_pacing: _, ...answer } = message;
        return {
          reader: pacing ? pacedReader(eventsOf(answer), pacing, (ms) => this.clock.sleep(ms)) : replayReader(eventsOf(answer)),
          finalMessage: () => Promise.resolve(answer),
          result: (m, latencyMs) => this.toResult(call, { result: m, attempts: 0, queueMs: 0, cacheTier: hit.tier }, false, latencyMs),
          source: hit.tier,
          ...about,
        };
      }
    }
    const inFlight = this.sharedStreams.get(call.canonical);
    if (inFlight?.joinable) {
      this.counters.coalesced++;
      return {
        reader: inFlight.join(),
        finalMessage: () => finalOf(inFlight),
        result: (m, latencyMs) => this.toResult(call, { result: m, attempts: 0, queueMs: 0 }, true, latencyMs),
        deadline: this.deadlineOf(options, startedAt),
        source: 'shared',
        ...about,
      };
    }
    // The upstream belongs to no single caller: each caller's signal ends only its own reading.
    const controller = new AbortController();
    const opened = { attempts: 0, queueMs: 0, sentAt: 0 };
    const opening = this.streamUpstream(call, { ...options, signal: controller.signal }, startedAt).then((o) => {
      opened.attempts = o.attempts;
      opened.queueMs = o.queueMs;
      opened.sentAt = o.sentAt;
      return o.events;
    });
    const shared = new SharedStream(
      opening,
      (reason) => controller.abort(reason),
      this.streamReplayBytes,
      () => this.clock.now(),
      () => opened.sentAt,
    );
    this.sharedStreams.set(call.canonical, shared);
    void shared.over.then((message) => {
      if (this.sharedStreams.get(call.canonical) === shared) this.sharedStreams.delete(call.canonical);
      if (message && call.cacheKey !== undefined) void this.store(call, message);
    });
    return {
      reader: shared.join(),
      finalMessage: () => finalOf(shared),
      result: (m, latencyMs) => this.toResult(call, { result: m, attempts: opened.attempts, queueMs: opened.queueMs }, false, latencyMs),
      source: 'upstream',
      ...about,
    };
  }

  /** The agent span's message for a streamed call, its start published. */
  private traceStart(call: PreparedCall): AgentCallMessage {
    const message = callMessage(call);
    agentChannel.start.publish(message);
    return message;
  }

  /** One caller's stream ended: counted once, by how it ended; its span ended and its metrics published. */
  private streamEnded(report: StreamReport): void {
    if (report.end === 'completed') this.counters.succeeded++;
    else {
      this.counters.failed++;
      if (report.end === 'cancelled') this.counters.streamsCancelled++;
      else if (report.events > 0) this.counters.streamsInterrupted++;
    }
    const { start } = report;
    if (!start) return;
    const trace = start.trace;
    if (trace) {
      if (report.result) trace.result = report.result;
      else trace.error = report.error;
      agentChannel.asyncEnd.publish(trace);
    }
    if (streamChannel.hasSubscribers) {
      const failure = report.error instanceof StreamInterruptedError ? report.error.reason : errorType(report.error);
      const message: StreamMessage = {
        agent: start.agent,
        model: start.model,
        end: report.end,
        errorType: report.end === 'failed' ? failure : undefined,
        cancelReason: report.cancelReason,
        timeToFirstChunkMs: report.timeToFirstChunkMs,
        chunkGapsMs: report.chunkGapsMs,
        streamingMs: report.streamingMs,
        events: report.events,
        chunks: report.chunks,
        outputTokens: report.result?.usage.outputTokens,
        source: start.source,
      };
      streamChannel.publish(message);
    }
  }

  /**
   * A new upstream stream: admission, then attempts until one's first event arrives, then the
   * relay. The rule: an attempt is retried only until its first event arrives. From then on
   * output may have reached a caller and a retry would replay it, so a later failure ends the
   * stream with its error. The slot, the breaker's verdict and the timers are settled when the
   * stream ends, fails, is left, or is cut by the deadline, the idle timeout or a cancellation
   * (read or not).
   */
  private async streamUpstream(call: PreparedCall, options: StreamOptions, startedAt: number): Promise<OpenedStream> {
    const flight = new Flight<void, AgentCallMessage>(call.canonical);
    const { signal } = options;
    const onCallerAbort = signal && (() => flight.cancellation.abort(new AbortedError(signal.reason)));
    if (onCallerAbort) signal.addEventListener('abort', onCallerAbort, { once: true });
    let ended!: () => void;
    flight.promise = new Promise<void>((resolve) => (ended = resolve));
    this.streams.add(flight);
    let slotHeld = false;
    let attempt: Attempt | undefined;
    let deadlineTimer: TimerHandle | undefined;
    let settled = false;
    // The caller's stream counts the call (AgentStream's end); this settles the upstream's resources.
    const settle = () => {
      if (settled) return;
      settled = true;
      if (slotHeld) this.limiter.release();
      attempt?.end();
      deadlineTimer?.cancel();
      if (onCallerAbort) signal.removeEventListener('abort', onCallerAbort);
      this.streams.delete(flight);
      ended();
    };
    const deadline = this.deadlineOf(options, startedAt);
    try {
      const slot = this.takeSlot(flight, deadline);
      if (slot) await slot;
      slotHeld = true;
      const queueMs = this.clock.now() - startedAt;
      const spent = this.spendRateLimit(call, flight, deadline);
      if (spent) await spent;
      // A streamed attempt's timeout is the wait for its first event.
      const firstChunkTimeoutMs = options.firstChunkTimeoutMs ?? this.firstChunkTimeoutMs ?? options.attemptTimeoutMs ?? this.attemptTimeoutMs;
      const idleMs = options.idleTimeoutMs ?? this.idleTimeoutMs;
      for (let n = 1; ; n++) {
        // Always cancellable: leaving a stream must cancel its request.
        const current = (attempt = this.beginAttempt(call, flight, deadline, firstChunkTimeoutMs, true, 'first_chunk'));
        let error: unknown;
        try {
          // startStream checked that the provider streams.
          const sentAt = this.clock.now();
          const source = this.provider.streamMessage!(call.params, current.request);
          const upstream = source[Symbol.asyncIterator]();
          const first = await upstream.next();
          if (first.done) throw new UpstreamError({ errorType: 'connection_error', message: 'the stream ended before its first event' });
          // The first event is here: from now on the stream is the caller's and is never retried.
          current.stopTimer();
          const relay = new RelayedStream(
            first.value,
            upstream,
            source,
            {
              succeeded: () => {
                call.agent.breaker.onSuccess(flight.trace);
                settle();
              },
              failed: (thrown) => {
                const failure = this.attemptError(thrown, current, flight, deadline);
                call.agent.breaker.onFailure(failure, flight.trace);
                settle();
                return failure;
              },
              left: () => {
                const leaving = new AbortedError('the consumer left the stream');
                current.controller!.abort(leaving);
                call.agent.breaker.onFailure(leaving, flight.trace);
                settle();
              },
            },
            { ms: idleMs, clock: this.clock, onIdle: () => current.controller!.abort(new TimeoutError('idle', idleMs)) },
          );
          // The deadline and any cancellation cut the stream even while nobody reads it.
          current.controller!.signal.addEventListener('abort', () => relay.abandon(current.controller!.signal.reason), { once: true });
          deadlineTimer = this.clock.setTimer(() => current.controller!.abort(new TimeoutError('deadline', deadline.ms)), deadline.at - this.clock.now());
          return { attempts: n, queueMs, sentAt, events: relay };
        } catch (thrown) {
          error = this.attemptError(thrown, current, flight, deadline);
          current.end();
          attempt = undefined;
        }
        await this.clock.sleep(this.retryDelayAfter(call, flight, n, error, deadline), flight.cancellation);
      }
    } catch (error) {
      settle();
      throw error;
    }
  }

  /** Runs every item concurrently; one failure never cancels the others. */
  executeMany(items: readonly ExecuteItem[]): Promise<SettledResult[]> {
    return Promise.allSettled(items.map((item) => this.executeAgent(item.agent, item.task, item.options)));
  }

  /**
   * Stops accepting calls, rejects those still queued, then waits for the ones in flight
   * (or aborts them with `abortInFlight`) and closes the provider's sockets.
   */
  async close(options: { abortInFlight?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.limiter.rejectAll(new ClosedError());
    // Streams are waited for (or cut) like shared calls: their promise settles when they end.
    const flights: Array<Flight<unknown, AgentCallMessage>> = [...this.coalescer.inFlight(), ...this.streams];
    if (options.abortInFlight) {
      for (const f of flights) f.cancellation.abort(new ClosedError());
      // Attempts without an AbortController end when their sockets do.
      await this.provider.close({ force: true });
      await Promise.allSettled(flights.map((f) => f.promise));
      await Promise.allSettled([...this.cacheWrites]);
      return;
    }
    await Promise.allSettled(flights.map((f) => f.promise));
    await Promise.allSettled([...this.cacheWrites]);
    await this.provider.close();
  }

  /** Validation before anything leaves the process. */
  private prepare(agentName: string, task: string, options: ExecuteOptions): PreparedCall {
    validateAgentName(agentName);
    const agent = this.agents.get(agentName);
    if (!agent) throw new UnknownAgentError(agentName, [...this.agents.keys()]);
    validateTask(task);
    const { config, model } = agent;
    const params: MessageParams = {
      model: config.model,
      max_tokens: options.maxTokens === undefined ? config.maxTokens : validateMaxTokens(options.maxTokens, model),
      system: config.systemPrompt,
      // The task always travels as user content, never spliced into the system prompt.
      messages: [{ role: 'user', content: task }],
    };
    if (options.temperature !== undefined) params.temperature = validateTemperature(options.temperature, model);
    else if (model.acceptsTemperature) params.temperature = config.temperature;
    if (config.stopSequences?.length) params.stop_sequences = config.stopSequences;
    const canonical = agent.canonicalPrefix + canonicalSuffix(params);
    const mode = options.cache ?? 'default';
    const useCache = agent.cacheable && mode !== 'bypass';
    return { agent, params, canonical, cacheKey: useCache ? keyOfCanonical(canonical) : undefined, readCache: useCache && mode !== 'refresh' };
  }

  /**
   * The shared upstream call: a concurrency slot, then attempts with retries. One async frame
   * for all of it, because on the hot path every extra await costs a promise per call.
   */
  private async callUpstream(
    call: PreparedCall,
    options: ExecuteOptions,
    flight: Flight<UpstreamOutcome, AgentCallMessage>,
    queuedAt: number,
  ): Promise<UpstreamOutcome> {
    let lease: FlightLease | undefined;
    try {
      if (call.cacheKey !== undefined && call.readCache) {
        const hit = await this.cache!.fromTiers(call.cacheKey);
        if (hit) return { result: hit.value, attempts: 0, queueMs: 0, cacheTier: hit.tier };
        // Another instance may be asking the same: lead, or wait for its answer.
        if (this.crossInstance) {
          const joined = await this.crossInstance.join(call.cacheKey, flight.cancellation, this.deadlineOf(options, queuedAt).at);
          if (joined.kind === 'answered') {
            this.counters.answeredByOtherInstance++;
            return { result: joined.value, attempts: 0, queueMs: 0, cacheTier: 'redis' };
          }
          if (joined.kind === 'lead') lease = joined.lease;
        }
      }
      const outcome = await this.callApi(call, options, flight, queuedAt);
      if (call.cacheKey !== undefined) {
        const stored = this.store(call, outcome.result);
        // The lease goes once the answer is where the others read it.
        const held = lease;
        if (held) void stored.finally(() => held.release());
        lease = undefined;
      }
      return outcome;
    } finally {
      lease?.release();
      this.coalescer.finish(call.canonical, flight);
    }
  }

  /**
   * Only complete, successful answers are stored; a failed write is logged, never thrown. The
   * caller has its answer before the write ends; close() waits for the writes still going, so a
   * short-lived process (one `exec`) still leaves its answer in the shared tiers.
   */
  private store(call: PreparedCall, message: CachedResponse): Promise<void> {
    if (message.stop_reason === null || message.type !== 'message') return Promise.resolve();
    const write: Promise<void> = this.cache!.set(call.cacheKey!, message, call.agent.cacheTtlMs)
      .catch((error: unknown) => this.log.warn({ err: error, agent: call.agent.config.name }, 'cache write failed'))
      .finally(() => this.cacheWrites.delete(write));
    this.cacheWrites.add(write);
    return write;
  }

  /**
   * A concurrency slot and the rate limit, then attempts with retries, against the API. Each
   * attempt is three phases, shared with streamed calls (openStream): prepare (beginAttempt),
   * send (the provider call), settle (onSuccess, or attemptError then retryDelayAfter).
   */
  private async callApi(
    call: PreparedCall,
    options: ExecuteOptions,
    flight: Flight<UpstreamOutcome, AgentCallMessage>,
    queuedAt: number,
  ): Promise<UpstreamOutcome> {
    const deadline = this.deadlineOf(options, queuedAt);
    const slot = this.takeSlot(flight, deadline);
    if (slot) await slot;
    try {
      const queueMs = this.clock.now() - queuedAt;
      const spent = this.spendRateLimit(call, flight, deadline);
      if (spent) await spent;
      const attemptTimeoutMs = options.attemptTimeoutMs ?? this.attemptTimeoutMs;
      // Only a call that can be cancelled from outside mid-attempt (its caller passed a
      // signal) needs an AbortController per attempt; with an injected clock (tests) the
      // timer must run on that clock too. Everything else leaves the attempt timeout to the
      // provider's own per-request timer, which costs nothing extra (see the bench notes).
      const cancellable = options.signal !== undefined || this.clock !== systemClock;
      for (let n = 1; ; n++) {
        const attempt = this.beginAttempt(call, flight, deadline, attemptTimeoutMs, cancellable);
        let error: unknown;
        try {
          const result = await traced(
            attemptChannel,
            () => ({
              call: flight.trace,
              agent: call.agent.config.name,
              model: call.agent.model.id,
              maxTokens: call.params.max_tokens,
              provider: this.provider.name,
              server: this.provider.server,
              attempt: n,
            }),
            (message) => this.provider.createMessage(call.params, message?.headers ? { ...attempt.request, headers: message.headers } : attempt.request),
          );
          call.agent.breaker.onSuccess(flight.trace);
          return { result, attempts: n, queueMs };
        } catch (thrown) {
          error = this.attemptError(thrown, attempt, flight, deadline);
        } finally {
          attempt.end();
        }
        await this.clock.sleep(this.retryDelayAfter(call, flight, n, error, deadline), flight.cancellation);
      }
    } finally {
      this.limiter.release();
    }
  }

  private deadlineOf(options: ExecuteOptions, queuedAt: number): Deadline {
    const ms = options.deadlineMs ?? this.deadlineMs;
    return { at: queuedAt + ms, ms };
  }

  /** A concurrency slot; only a real wait makes a promise (and the deadline's timer). The caller releases it. */
  private takeSlot(flight: Flight<unknown, AgentCallMessage>, deadline: Deadline): Promise<void> | undefined {
    return this.limiter.tryAcquire() ? undefined : this.beforeDeadline(this.limiter.acquire(flight.cancellation), deadline, flight.cancellation);
  }

  /** The call's tokens from its model's client-side rate limit, when there is one. */
  private spendRateLimit(call: PreparedCall, flight: Flight<unknown, AgentCallMessage>, deadline: Deadline): Promise<void> | undefined {
    const { rateLimiter } = call.agent;
    return (
      rateLimiter &&
      this.beforeDeadline(rateLimiter.acquire(inputTokensOf(call.params) + call.params.max_tokens, flight.cancellation), deadline, flight.cancellation)
    );
  }

  /**
   * Prepare: the breaker admits the attempt (or throws CircuitOpenError), and the attempt gets
   * one timeout, its own or what is left of the deadline, whichever ends first.
   */
  private beginAttempt(
    call: PreparedCall,
    flight: Flight<unknown, AgentCallMessage>,
    deadline: Deadline,
    attemptTimeoutMs: number,
    cancellable: boolean,
    timeoutKind: 'attempt' | 'first_chunk' = 'attempt',
  ): Attempt {
    call.agent.breaker.admit(flight.trace);
    this.counters.upstreamAttempts++;
    const leftMs = deadline.at - this.clock.now();
    const byDeadline = leftMs <= attemptTimeoutMs;
    return new Attempt(byDeadline ? Math.max(1, leftMs) : attemptTimeoutMs, byDeadline, cancellable ? flight.cancellation : undefined, this.clock, timeoutKind);
  }

  /** Settle, for a failure: what the caller is told. The provider reports an abort its own way; our reason (timeout, caller, close) is the truth. */
  private attemptError(thrown: unknown, attempt: Attempt, flight: Flight<unknown, AgentCallMessage>, deadline: Deadline): unknown {
    let error: unknown;
    if (attempt.controller?.signal.aborted) error = asError(attempt.controller.signal.reason);
    else if (flight.cancelled) error = flight.cancellation.reason;
    else error = this.provider.toError(thrown, attempt.timeoutMs);
    if (attempt.byDeadline && error instanceof TimeoutError) error = new TimeoutError('deadline', deadline.ms);
    return error;
  }

  /**
   * Settle, after a failure: the breaker counts it; then either it is thrown (the call was
   * cancelled, no attempt is left, it is not retryable, or the wait would pass the deadline)
   * or the delay before the next attempt is returned.
   */
  private retryDelayAfter(call: PreparedCall, flight: Flight<unknown, AgentCallMessage>, attempt: number, error: unknown, deadline: Deadline): number {
    call.agent.breaker.onFailure(error, flight.trace);
    // A 429's retry-after holds off every call on the model (every instance, when the limit is shared).
    if (error instanceof UpstreamError && error.status === 429 && error.retryAfterMs !== undefined) call.agent.rateLimiter?.holdOff(error.retryAfterMs);
    if (flight.cancelled || attempt >= this.retry.maxAttempts || !isRetryable(error)) throw error;
    const delayMs = retryDelayMs(this.retry, attempt, error, this.random);
    // Waiting past the deadline only to fail there helps nobody: fail now with the cause.
    if (this.clock.now() + delayMs >= deadline.at) throw error;
    this.counters.retries++;
    const reason = errorType(error);
    this.counters.retriesByReason[reason] = (this.counters.retriesByReason[reason] ?? 0) + 1;
    if (retryChannel.hasSubscribers)
      retryChannel.publish({ call: flight.trace, agent: call.agent.config.name, model: call.agent.model.id, attempt, delayMs, reason });
    this.log.debug(
      { ...logFieldsFor(flight.trace), agent: call.agent.config.name, attempt, delayMs: Math.round(delayMs), error: (error as Error).message },
      'retrying',
    );
    return delayMs;
  }

  /** Awaits a wait (queue, rate limit) that the call's deadline may cut short. */
  private async beforeDeadline(wait: Promise<void>, deadline: Deadline, cancellation: Cancellation): Promise<void> {
    const timer = this.clock.setTimer(() => cancellation.abort(new TimeoutError('deadline', deadline.ms)), deadline.at - this.clock.now());
    try {
      await wait;
    } finally {
      timer.cancel();
    }
  }

  private toResult(call: PreparedCall, outcome: UpstreamOutcome, joined: boolean, latencyMs: number): AgentResult {
    const message = outcome.result;
    let output = '';
    for (const block of message.content) if (block.type === 'text') output += (block as { text: string }).text;
    const usage: TokenUsage = {
      inputTokens: message.usage.input_tokens,
      outputTokens: message.usage.output_tokens,
      cacheReadTokens: message.usage.cache_read_input_tokens ?? 0,
      cacheWriteTokens: message.usage.cache_creation_input_tokens ?? 0,
      cacheWrite1hTokens: message.usage.cache_creation?.ephemeral_1h_input_tokens ?? 0,
    };
    return {
      agent: call.agent.config.name,
      output,
      model: message.model,
      stopReason: message.stop_reason,
      usage,
      estimatedCostUsd: outcome.cacheTier ? 0 : estimateCostUsd(call.agent.prices, usage),
      latencyMs,
      queueMs: joined ? 0 : outcome.queueMs,
      attempts: joined ? 0 : outcome.attempts,
      cached: outcome.cacheTier !== undefined,
      cacheTier: outcome.cacheTier,
      coalesced: joined,
      requestId: message._request_id ?? undefined,
    };
  }
}

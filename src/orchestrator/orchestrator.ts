import type { AgentConfig } from '../config/agents.js';
import { estimateCostUsd, MODELS, MODEL_IDS, type ModelInfo, type ModelPrices } from '../config/models.js';
import { canonicalPrefix, canonicalSuffix, keyOfCanonical } from '../cache/key.js';
import type { CachedResponse, ResponseCache } from '../cache/response-cache.js';
import type { Cancellation } from '../cancellation.js';
import { systemClock, type Clock } from '../clock.js';
import { agentChannel, attemptChannel, circuitChannel, memoryHitChannel, retryChannel, traced, type AgentCallMessage, type MemoryHitMessage } from '../diagnostics.js';
import { AbortedError, ClosedError, errorType, TimeoutError, UnknownAgentError, UnknownModelError } from '../errors.js';
import { logFieldsFor, rootLogger, type Logger } from '../logger.js';
import { inputTokensOf } from '../providers/tokens.js';
import type { MessageParams, MessagesProvider, ProviderResult } from '../providers/types.js';
import { CircuitBreaker, DEFAULT_CIRCUIT_OPTIONS, type CircuitBreakerOptions, type CircuitState } from './circuit-breaker.js';
import { Coalescer, type Flight } from './coalescer.js';
import { ConcurrencyLimiter } from './limiter.js';
import { ModelRateLimiter, type ModelRateLimit } from './rate-limiter.js';
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
  retry?: Partial<RetryPolicy>;
  circuit?: Partial<CircuitBreakerOptions>;
  /** Optional client-side limits per model id. */
  rateLimits?: Readonly<Record<string, ModelRateLimit>>;
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

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  /** Every cache write (5-minute and 1-hour). */
  cacheWriteTokens: number;
  /** The part of the cache writes made for an hour (`cache_creation.ephemeral_1h_input_tokens`), priced at the 1-hour rate. */
  cacheWrite1hTokens: number;
}

export interface AgentResult {
  agent: string;
  output: string;
  model: string;
  stopReason: string | null;
  usage: TokenUsage;
  estimatedCostUsd: number;
  /** From the call to its result, queue wait included. */
  latencyMs: number;
  /** Time spent waiting for a concurrency slot. */
  queueMs: number;
  /** Upstream attempts made (0 when answered without one). */
  attempts: number;
  /** True when answered from the response cache (nothing was spent: estimatedCostUsd is 0). */
  cached: boolean;
  cacheTier: string | undefined;
  /** True when this call shared an identical call already in flight. */
  coalesced: boolean;
  requestId: string | undefined;
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
  coalesced: number;
}

export type SettledResult = { status: 'fulfilled'; value: AgentResult } | { status: 'rejected'; reason: unknown };

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
  rateLimiter: ModelRateLimiter | undefined;
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

/**
 * Runs agents against the Messages API: validation, bounded concurrency, deadlines, one retry
 * layer, a circuit breaker per model, coalescing of identical in-flight requests and an
 * optional client-side rate limit.
 */
function asError(reason: unknown): unknown {
  return reason instanceof Error ? reason : new AbortedError(reason);
}

export class Orchestrator {
  private readonly agents = new Map<string, AgentRuntime>();
  private readonly provider: MessagesProvider;
  private readonly limiter: ConcurrencyLimiter;
  private readonly coalescer = new Coalescer<UpstreamOutcome, AgentCallMessage>();
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly retry: RetryPolicy;
  private readonly circuitOptions: CircuitBreakerOptions;
  private readonly attemptTimeoutMs: number;
  private readonly deadlineMs: number;
  private readonly namespace: string;
  private readonly clock: Clock;
  private readonly cache: ResponseCache | undefined;
  private readonly random: () => number;
  private readonly log: Logger;
  private closed = false;
  private readonly counters: OrchestratorCounters = { calls: 0, succeeded: 0, failed: 0, upstreamAttempts: 0, retries: 0, coalesced: 0 };

  constructor(options: OrchestratorOptions) {
    this.provider = options.provider;
    this.limiter = new ConcurrencyLimiter(options.maxConcurrent ?? 10, options.maxQueued ?? 1_000);
    this.retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.circuitOptions = { ...DEFAULT_CIRCUIT_OPTIONS, ...options.circuit };
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 20_000;
    this.deadlineMs = options.deadlineMs ?? 30_000;
    this.namespace = options.namespace ?? 'default';
    this.clock = options.clock ?? systemClock;
    this.cache = options.cache;
    this.random = options.random ?? Math.random;
    this.log = (options.logger ?? rootLogger).child({ component: 'orchestrator' });
    const rateLimiters = new Map<string, ModelRateLimiter>();
    for (const [id, limit] of Object.entries(options.rateLimits ?? {})) {
      if (!MODELS.has(id)) throw new UnknownModelError('rateLimits', id, MODEL_IDS);
      rateLimiters.set(id, new ModelRateLimiter(limit, this.clock));
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
        canonicalPrefix: canonicalPrefix({ namespace: this.namespace, provider: this.provider.name, agentVersion: config.version }, config.model, config.systemPrompt),
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
    return { ...this.counters };
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
    const message: AgentCallMessage = {
      agent: call.agent.config.name,
      model: call.agent.model.id,
      description: call.agent.config.description,
      maxTokens: call.params.max_tokens,
      temperature: call.params.temperature,
      cacheResult: call.cacheKey === undefined ? 'bypass' : 'miss',
    };
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

  /** Runs every item concurrently; one failure never cancels the others. */
  executeMany(items: readonly ExecuteItem[]): Promise<SettledResult[]> {
    return Promise.allSettled(items.map((item) => this.executeAgent(item.agent, item.task, item.options))) as Promise<SettledResult[]>;
  }

  /**
   * Stops accepting calls, rejects those still queued, then waits for the ones in flight
   * (or aborts them with `abortInFlight`) and closes the provider's sockets.
   */
  async close(options: { abortInFlight?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.limiter.rejectAll(new ClosedError());
    const flights = this.coalescer.inFlight();
    if (options.abortInFlight) {
      for (const f of flights) f.cancellation.abort(new ClosedError());
      // Attempts without an AbortController end when their sockets do.
      await this.provider.close({ force: true });
      await Promise.allSettled(flights.map((f) => f.promise));
      return;
    }
    await Promise.allSettled(flights.map((f) => f.promise));
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
  private async callUpstream(call: PreparedCall, options: ExecuteOptions, flight: Flight<UpstreamOutcome, AgentCallMessage>, queuedAt: number): Promise<UpstreamOutcome> {
    try {
      if (call.cacheKey !== undefined && call.readCache) {
        const hit = await this.cache!.fromTiers(call.cacheKey);
        if (hit) return { result: hit.value, attempts: 0, queueMs: 0, cacheTier: hit.tier };
      }
      const outcome = await this.callApi(call, options, flight, queuedAt);
      if (call.cacheKey !== undefined) this.store(call, outcome.result);
      return outcome;
    } finally {
      this.coalescer.finish(call.canonical, flight);
    }
  }

  /** Only complete, successful answers are stored; a failed write is logged, never thrown. */
  private store(call: PreparedCall, message: CachedResponse): void {
    if (message.stop_reason === null || message.type !== 'message') return;
    this.cache!.set(call.cacheKey!, message, call.agent.cacheTtlMs).catch((error: unknown) => this.log.warn({ err: error, agent: call.agent.config.name }, 'cache write failed'));
  }

  /** A concurrency slot, then attempts with retries, against the API. */
  private async callApi(call: PreparedCall, options: ExecuteOptions, flight: Flight<UpstreamOutcome, AgentCallMessage>, queuedAt: number): Promise<UpstreamOutcome> {
    const deadlineMs = options.deadlineMs ?? this.deadlineMs;
    const deadlineAt = queuedAt + deadlineMs;
    // The fast path takes a slot without a promise; only a real wait needs the deadline timer.
    if (!this.limiter.tryAcquire()) await this.beforeDeadline(this.limiter.acquire(flight.cancellation), deadlineAt, deadlineMs, flight.cancellation);
    try {
      const queueMs = this.clock.now() - queuedAt;
      const { rateLimiter, breaker } = call.agent;
      if (rateLimiter) await this.beforeDeadline(rateLimiter.acquire(inputTokensOf(call.params) + call.params.max_tokens, flight.cancellation), deadlineAt, deadlineMs, flight.cancellation);
      const attemptTimeoutMs = options.attemptTimeoutMs ?? this.attemptTimeoutMs;
      // Only a call that can be cancelled from outside mid-attempt (its caller passed a
      // signal) needs an AbortController per attempt; with an injected clock (tests) the
      // timer must run on that clock too. Everything else leaves the attempt timeout to the
      // provider's own per-request timer, which costs nothing extra (see the bench notes).
      const cancellable = options.signal !== undefined || this.clock !== systemClock;
      for (let attempt = 1; ; attempt++) {
        breaker.admit(flight.trace);
        this.counters.upstreamAttempts++;
        // One timeout per attempt: the attempt's own, or what is left of the deadline.
        const leftMs = deadlineAt - this.clock.now();
        const byDeadline = leftMs <= attemptTimeoutMs;
        const timeoutMs = byDeadline ? Math.max(1, leftMs) : attemptTimeoutMs;
        const controller = cancellable ? new AbortController() : undefined;
        const unsubscribe = controller ? flight.cancellation.onAbort(() => controller.abort(flight.cancellation.reason)) : undefined;
        const timer = controller ? this.clock.setTimer(() => controller.abort(new TimeoutError('attempt', timeoutMs)), timeoutMs) : undefined;
        let error: unknown;
        try {
          const request = controller ? { signal: controller.signal, timeoutMs } : { timeoutMs };
          const result = await traced(
            attemptChannel,
            () => ({ call: flight.trace, agent: call.agent.config.name, model: call.agent.model.id, maxTokens: call.params.max_tokens, provider: this.provider.name, server: this.provider.server, attempt }),
            (message) => this.provider.createMessage(call.params, message?.headers ? { ...request, headers: message.headers } : request),
          );
          breaker.onSuccess(flight.trace);
          return { result, attempts: attempt, queueMs };
        } catch (thrown) {
          // The provider reports an abort its own way; our reason (timeout, caller, close) is the truth.
          if (controller?.signal.aborted) error = asError(controller.signal.reason);
          else if (flight.cancelled) error = flight.cancellation.reason;
          else error = this.provider.toError(thrown, timeoutMs);
          if (byDeadline && error instanceof TimeoutError) error = new TimeoutError('deadline', deadlineMs);
        } finally {
          timer?.cancel();
          unsubscribe?.();
        }
        breaker.onFailure(error, flight.trace);
        if (flight.cancelled || attempt >= this.retry.maxAttempts || !isRetryable(error)) throw error;
        const delayMs = retryDelayMs(this.retry, attempt, error, this.random);
        // Waiting past the deadline only to fail there helps nobody: fail now with the cause.
        if (this.clock.now() + delayMs >= deadlineAt) throw error;
        this.counters.retries++;
        if (retryChannel.hasSubscribers) retryChannel.publish({ call: flight.trace, agent: call.agent.config.name, model: call.agent.model.id, attempt, delayMs, reason: errorType(error) });
        this.log.debug({ ...logFieldsFor(flight.trace), agent: call.agent.config.name, attempt, delayMs: Math.round(delayMs), error: (error as Error).message }, 'retrying');
        await this.clock.sleep(delayMs, flight.cancellation);
      }
    } finally {
      this.limiter.release();
    }
  }

  /** Awaits a wait (queue, rate limit) that the call's deadline may cut short. */
  private async beforeDeadline(wait: Promise<void>, deadlineAt: number, deadlineMs: number, cancellation: Cancellation): Promise<void> {
    const timer = this.clock.setTimer(() => cancellation.abort(new TimeoutError('deadline', deadlineMs)), deadlineAt - this.clock.now());
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

import type { AgentConfig } from '../config/agents.ts';
import { estimateCostUsd, MODELS, MODEL_IDS, type ModelInfo, type ModelPrices } from '../config/models.ts';
import { requestKey } from '../cache/key.ts';
import type { Cancellation } from '../cancellation.ts';
import { systemClock, type Clock } from '../clock.ts';
import { AbortedError, ClosedError, TimeoutError, UnknownAgentError, UnknownModelError } from '../errors.ts';
import { rootLogger, type Logger } from '../logger.ts';
import { inputTokensOf } from '../providers/simulator/respond.ts';
import type { MessageParams, MessagesProvider, ProviderResult } from '../providers/types.ts';
import { CircuitBreaker, DEFAULT_CIRCUIT_OPTIONS, type CircuitBreakerOptions, type CircuitState } from './circuit-breaker.ts';
import { Coalescer } from './coalescer.ts';
import { ConcurrencyLimiter } from './limiter.ts';
import { ModelRateLimiter, type ModelRateLimit } from './rate-limiter.ts';
import { DEFAULT_RETRY_POLICY, isRetryable, retryDelayMs, type RetryPolicy } from './retry.ts';
import { validateAgentName, validateMaxTokens, validateTask, validateTemperature } from './validate.ts';

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
  clock?: Clock;
  /** Source of jitter; injectable for tests. */
  random?: () => number;
  logger?: Logger;
}

export interface ExecuteOptions {
  signal?: AbortSignal;
  temperature?: number;
  maxTokens?: number;
  deadlineMs?: number;
  attemptTimeoutMs?: number;
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
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
  cached: boolean;
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
}

interface PreparedCall {
  agent: AgentConfig;
  model: ModelInfo;
  params: MessageParams;
  key: string;
}

/**
 * Runs agents against the Messages API: validation, bounded concurrency, deadlines, one retry
 * layer, a circuit breaker per model, coalescing of identical in-flight requests and an
 * optional client-side rate limit.
 */
export class Orchestrator {
  private readonly agents: Map<string, AgentConfig>;
  private readonly provider: MessagesProvider;
  private readonly limiter: ConcurrencyLimiter;
  private readonly coalescer = new Coalescer<UpstreamOutcome>();
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly rateLimiters = new Map<string, ModelRateLimiter>();
  private readonly prices = new Map<string, ModelPrices>();
  private readonly retry: RetryPolicy;
  private readonly circuitOptions: CircuitBreakerOptions;
  private readonly attemptTimeoutMs: number;
  private readonly deadlineMs: number;
  private readonly namespace: string;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly log: Logger;
  private closed = false;
  private readonly counters: OrchestratorCounters = { calls: 0, succeeded: 0, failed: 0, upstreamAttempts: 0, retries: 0, coalesced: 0 };

  constructor(options: OrchestratorOptions) {
    this.agents = new Map(options.agents.map((a) => [a.name, a]));
    this.provider = options.provider;
    this.limiter = new ConcurrencyLimiter(options.maxConcurrent ?? 10, options.maxQueued ?? 1_000);
    this.retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.circuitOptions = { ...DEFAULT_CIRCUIT_OPTIONS, ...options.circuit };
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 20_000;
    this.deadlineMs = options.deadlineMs ?? 30_000;
    this.namespace = options.namespace ?? 'default';
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.log = (options.logger ?? rootLogger).child({ component: 'orchestrator' });
    for (const [id, info] of MODELS) this.prices.set(id, { ...info.prices, ...options.modelPrices?.[id] });
    for (const [id, limit] of Object.entries(options.rateLimits ?? {})) {
      if (!MODELS.has(id)) throw new UnknownModelError('rateLimits', id, MODEL_IDS);
      this.rateLimiters.set(id, new ModelRateLimiter(limit, this.clock));
    }
  }

  get inFlight(): number {
    return this.limiter.inFlight;
  }

  get queued(): number {
    return this.limiter.queued;
  }

  circuitState(model: string): CircuitState {
    return this.breakers.get(model)?.state ?? 'closed';
  }

  stats(): OrchestratorCounters {
    return { ...this.counters };
  }

  agentNames(): string[] {
    return [...this.agents.keys()];
  }

  async executeAgent(agentName: string, task: string, options: ExecuteOptions = {}): Promise<AgentResult> {
    const startedAt = this.clock.now();
    this.counters.calls++;
    try {
      if (this.closed) throw new ClosedError();
      const call = this.prepare(agentName, task, options);
      const { value, joined } = await this.coalescer.run(call.key, options.signal, (cancellation) => this.callUpstream(call, options, cancellation));
      if (joined) this.counters.coalesced++;
      this.counters.succeeded++;
      return this.toResult(call, value, joined, this.clock.now() - startedAt);
    } catch (error) {
      this.counters.failed++;
      throw error;
    }
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
    if (options.abortInFlight) for (const f of flights) f.cancellation.abort(new ClosedError());
    await Promise.allSettled(flights.map((f) => f.promise));
    await this.provider.close();
  }

  /** Validation before anything leaves the process. */
  private prepare(agentName: string, task: string, options: ExecuteOptions): PreparedCall {
    validateAgentName(agentName);
    const agent = this.agents.get(agentName);
    if (!agent) throw new UnknownAgentError(agentName, [...this.agents.keys()]);
    validateTask(task);
    const model = MODELS.get(agent.model);
    if (!model) throw new UnknownModelError('model', agent.model, MODEL_IDS);
    const params: MessageParams = {
      model: agent.model,
      max_tokens: options.maxTokens === undefined ? agent.maxTokens : validateMaxTokens(options.maxTokens, model),
      system: agent.systemPrompt,
      // The task always travels as user content, never spliced into the system prompt.
      messages: [{ role: 'user', content: task }],
    };
    if (options.temperature !== undefined) params.temperature = validateTemperature(options.temperature, model);
    else if (model.acceptsTemperature) params.temperature = agent.temperature;
    if (agent.stopSequences?.length) params.stop_sequences = agent.stopSequences;
    const key = requestKey({ namespace: this.namespace, provider: this.provider.name, agentVersion: agent.version }, params);
    return { agent, model, params, key };
  }

  private async callUpstream(call: PreparedCall, options: ExecuteOptions, signal: Cancellation): Promise<UpstreamOutcome> {
    const deadlineMs = options.deadlineMs ?? this.deadlineMs;
    const deadlineAt = this.clock.now() + deadlineMs;
    const deadline = this.clock.setTimer(() => signal.abort(new TimeoutError('deadline', deadlineMs)), deadlineMs);
    const queuedAt = this.clock.now();
    try {
      await this.limiter.acquire(signal);
    } catch (error) {
      deadline.cancel();
      throw error;
    }
    const queueMs = this.clock.now() - queuedAt;
    try {
      const rateLimiter = this.rateLimiters.get(call.model.id);
      if (rateLimiter) await rateLimiter.acquire(inputTokensOf(call.params) + call.params.max_tokens, signal);
      const breaker = this.breakerFor(call.model.id);
      const attemptTimeoutMs = options.attemptTimeoutMs ?? this.attemptTimeoutMs;
      for (let attempt = 1; ; attempt++) {
        breaker.admit();
        this.counters.upstreamAttempts++;
        try {
          const result = await this.attempt(call.params, signal, attemptTimeoutMs);
          breaker.onSuccess();
          return { result, attempts: attempt, queueMs };
        } catch (error) {
          breaker.onFailure(error);
          if (signal.aborted || attempt >= this.retry.maxAttempts || !isRetryable(error)) throw error;
          const delayMs = retryDelayMs(this.retry, attempt, error, this.random);
          // Waiting past the deadline only to fail there helps nobody: fail now with the cause.
          if (this.clock.now() + delayMs >= deadlineAt) throw error;
          this.counters.retries++;
          this.log.debug({ agent: call.agent.name, attempt, delayMs: Math.round(delayMs), error: (error as Error).message }, 'retrying');
          await this.clock.sleep(delayMs, signal);
        }
      }
    } finally {
      deadline.cancel();
      this.limiter.release();
    }
  }

  /** One request with its own timeout and AbortController; cancelling the call aborts it too. */
  private async attempt(params: MessageParams, call: Cancellation, timeoutMs: number): Promise<ProviderResult> {
    if (call.aborted) throw call.reason;
    const controller = new AbortController();
    const unsubscribe = call.onAbort(() => controller.abort(call.reason));
    const timer = this.clock.setTimer(() => controller.abort(new TimeoutError('attempt', timeoutMs)), timeoutMs);
    try {
      return await this.provider.createMessage(params, { signal: controller.signal });
    } catch (error) {
      // The provider reports an abort its own way; our reason (timeout, deadline, caller) is the truth.
      if (controller.signal.aborted) throw controller.signal.reason instanceof Error ? controller.signal.reason : new AbortedError(controller.signal.reason);
      throw error;
    } finally {
      timer.cancel();
      unsubscribe();
    }
  }

  private breakerFor(model: string): CircuitBreaker {
    let breaker = this.breakers.get(model);
    if (!breaker) {
      breaker = new CircuitBreaker(model, this.circuitOptions, this.clock, (m, from, to) => this.log.warn({ model: m, from, to }, 'circuit breaker changed state'));
      this.breakers.set(model, breaker);
    }
    return breaker;
  }

  private toResult(call: PreparedCall, outcome: UpstreamOutcome, joined: boolean, latencyMs: number): AgentResult {
    const { message, requestId } = outcome.result;
    let output = '';
    for (const block of message.content) if (block.type === 'text') output += (block as { text: string }).text;
    const usage: TokenUsage = {
      inputTokens: message.usage.input_tokens,
      outputTokens: message.usage.output_tokens,
      cacheReadTokens: message.usage.cache_read_input_tokens ?? 0,
      cacheWriteTokens: message.usage.cache_creation_input_tokens ?? 0,
    };
    return {
      agent: call.agent.name,
      output,
      model: message.model,
      stopReason: message.stop_reason,
      usage,
      estimatedCostUsd: estimateCostUsd(this.prices.get(call.model.id)!, usage),
      latencyMs,
      queueMs: joined ? 0 : outcome.queueMs,
      attempts: joined ? 0 : outcome.attempts,
      cached: false,
      coalesced: joined,
      requestId,
    };
  }
}

/**
 * Where the core meets instrumentation (DESIGN.md, seam 1). The core publishes here and imports
 * nothing from OpenTelemetry; `instrumentation/` subscribes. Every publisher checks
 * `hasSubscribers` first, so with nobody listening the cost is a boolean check.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { CircuitState } from './orchestrator/circuit-breaker.js';
import type { ProviderServer } from './providers/types.js';

/** Context of one traced agent call (not a memory hit: those go to `memoryHitChannel`). */
export interface AgentCallMessage {
  agent: string;
  model: string;
  /** The agent's description (agents.json), when it has one. */
  description?: string;
  /** What the request asks for: `max_tokens`, and `temperature` when it is sent. */
  maxTokens: number;
  temperature?: number;
  /** `miss` (went upstream or coalesced), `hit` (disk tier) or `bypass` (not cacheable). */
  cacheResult?: 'hit' | 'miss' | 'bypass';
  /** Which tier answered a hit: `memory`, or a shared tier's name (`disk`). */
  cacheTier?: string;
  /** Set by TracingChannel when the call resolves: the AgentResult. */
  result?: {
    queueMs: number;
    attempts: number;
    latencyMs: number;
    cached: boolean;
    cacheTier: string | undefined;
    usage: { inputTokens: number; outputTokens: number; cacheReadTokens?: number; cacheWriteTokens?: number };
    /** Streamed calls only: from the call to its first chunk. */
    timeToFirstChunkMs?: number;
  };
  /** Set by TracingChannel when the call rejects. */
  error?: unknown;
}

/**
 * One streamed call, published when it ends for its caller (however it ends): what the
 * streaming metrics are made of. `chunkGapsMs` is every chunk's time since the one before it
 * (the GenAI conventions' time per output chunk), kept in the call and handed over once.
 */
export interface StreamMessage {
  agent: string;
  model: string;
  end: 'completed' | 'failed' | 'cancelled';
  /** Failed: errorType of the error the caller was given (a StreamInterruptedError's is its cause's). */
  errorType?: string;
  /** Cancelled: `consumer_left` (break, return()) or `aborted` (the caller's signal). */
  cancelReason?: 'consumer_left' | 'aborted';
  /** To the first output chunk (`content_block_delta`); undefined when none arrived. */
  timeToFirstChunkMs: number | undefined;
  chunkGapsMs: readonly number[];
  /** From the first output chunk to the last. */
  streamingMs: number;
  /** Events delivered, and output chunks among them. */
  events: number;
  chunks: number;
  /** Completed: the answer's output tokens. */
  outputTokens?: number;
  /** Where the events came from: `upstream`, `shared` (joined an identical stream), or a cache tier (`memory`, `disk`, ...). */
  source: string;
}

/** Context of one provider attempt (instrumentation makes its GenAI `chat` client span from it). */
export interface AttemptMessage {
  /** The traced agent call this attempt serves, when one is traced (subscribers find its span). */
  call?: AgentCallMessage;
  agent: string;
  model: string;
  maxTokens: number;
  provider: string;
  /** The provider's API server, when it has one. */
  server?: ProviderServer;
  attempt: number;
  /**
   * Set by a subscriber at `start`: headers the attempt sends (the trace context of its client
   * span, so the provider's side joins the trace). Read after `start`, before the request goes.
   */
  headers?: Record<string, string>;
  result?: unknown;
  error?: unknown;
}

export interface CacheOperationMessage {
  tier: string;
  /** For get: whether it found a valid entry. */
  hit?: boolean;
  bytes?: number;
  result?: unknown;
  error?: unknown;
}

export interface RetryMessage {
  call?: AgentCallMessage;
  agent: string;
  model: string;
  /** The attempt that failed. */
  attempt: number;
  delayMs: number;
  /** The error type that caused it (`overloaded_error`, `AP_ERR_TIMEOUT`, ...; see errorType). */
  reason: string;
}

export interface CircuitMessage {
  /** The traced call whose attempt moved the breaker, when there is one. */
  call?: AgentCallMessage;
  model: string;
  from: CircuitState;
  to: CircuitState;
}

export interface CacheEventMessage {
  tier: string;
  reason?: string;
}

/**
 * A memory hit. One message per agent is made once and reused for each of its hits (the
 * hottest path allocates nothing for it): subscribers read it when it is published, and keep
 * nothing of it.
 */
export interface MemoryHitMessage {
  agent: string;
  /** The request's model (an answer's may be a dated id). */
  model: string;
  latencyMs: number;
}

/** Context of one workflow execution. */
export interface WorkflowMessage {
  workflowId: string;
  name?: string;
  steps: number;
  /** Set when the run settles: its final status. */
  result?: { status: 'completed' | 'failed' | 'cancelled' };
  error?: unknown;
}

/** Context of one workflow step (its agent call, when traced, runs inside it). */
export interface WorkflowStepMessage {
  workflow: WorkflowMessage;
  stepId: string;
  agent: string;
  result?: unknown;
  error?: unknown;
}

/**
 * One HTTP request to `serve`, published as it arrives (`httpServerRequestChannel`) and again,
 * the same object, when its response is sent (`httpServerResponseChannel`).
 */
export interface HttpServerMessage {
  method: string;
  /** The matched route template (`/v1/agents/:agent/execute`); undefined when no route matched. */
  route: string | undefined;
  scheme: 'http' | 'https';
  headers: Record<string, string | string[] | undefined>;
  serverAddress?: string;
  serverPort?: number;
  protocolVersion: string;
  /** Set when the response is sent. */
  statusCode?: number;
  /** Set by instrumentation on arrival: the context the request's work runs in (the caller's trace, with the server span). */
  context?: unknown;
}

export const agentChannel = diagnosticsChannel.tracingChannel<AgentCallMessage, AgentCallMessage>('agentperf:agent');
export const attemptChannel = diagnosticsChannel.tracingChannel<AttemptMessage, AttemptMessage>('agentperf:provider.attempt');
export const cacheGetChannel = diagnosticsChannel.tracingChannel<CacheOperationMessage, CacheOperationMessage>('agentperf:cache.get');
export const cacheSetChannel = diagnosticsChannel.tracingChannel<CacheOperationMessage, CacheOperationMessage>('agentperf:cache.set');
export const memoryHitChannel = diagnosticsChannel.channel('agentperf:agent.memory-hit');
export const retryChannel = diagnosticsChannel.channel('agentperf:retry');
export const circuitChannel = diagnosticsChannel.channel('agentperf:circuit');
export const cacheEvictionChannel = diagnosticsChannel.channel('agentperf:cache.eviction');
export const cacheExpirationChannel = diagnosticsChannel.channel('agentperf:cache.expiration');
export const cacheIntegrityChannel = diagnosticsChannel.channel('agentperf:cache.integrity-failure');
export const workflowChannel = diagnosticsChannel.tracingChannel<WorkflowMessage, WorkflowMessage>('agentperf:workflow');
export const workflowStepChannel = diagnosticsChannel.tracingChannel<WorkflowStepMessage, WorkflowStepMessage>('agentperf:workflow.step');
export const httpServerRequestChannel = diagnosticsChannel.channel('agentperf:http.server.request');
export const httpServerResponseChannel = diagnosticsChannel.channel('agentperf:http.server.response');
export const streamChannel = diagnosticsChannel.channel('agentperf:agent.stream');

export const ALL_CHANNELS = {
  tracing: [agentChannel, attemptChannel, cacheGetChannel, cacheSetChannel, workflowChannel, workflowStepChannel],
  plain: [
    memoryHitChannel,
    retryChannel,
    circuitChannel,
    cacheEvictionChannel,
    cacheExpirationChannel,
    cacheIntegrityChannel,
    httpServerRequestChannel,
    httpServerResponseChannel,
    streamChannel,
  ],
};

/**
 * Runs `fn` inside the tracing channel when anyone listens, else directly. The result is
 * adopted into a native promise first: tracePromise calls Promise.prototype.then on it, which
 * breaks on Promise subclasses with another constructor (the SDK's APIPromise).
 */
export function traced<T, M extends object>(channel: diagnosticsChannel.TracingChannel<M, M>, message: () => M, fn: (message?: M) => Promise<T>): Promise<T> {
  if (!channel.hasSubscribers) return fn();
  const made = message();
  // `fn` gets the message after `start` was published: subscribers may have added to it (headers).
  return channel.tracePromise(async () => fn(made), made);
}

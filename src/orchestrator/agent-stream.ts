import type { Clock, TimerHandle } from '../clock.js';
import type { AgentCallMessage } from '../diagnostics.js';
import { AbortedError, StreamInterruptedError, TimeoutError } from '../errors.js';
import type { StreamReader } from '../providers/stream-events.js';
import type { ProviderResult, StreamEvent } from '../providers/types.js';
import type { AgentResult } from './result.js';

/** A streamed call's result: executeAgent's, plus how the stream went. */
export interface StreamedAgentResult extends AgentResult {
  /**
   * From the call to its first output chunk (the first `content_block_delta`: the first
   * generated text, as the Anthropic SDK's own span counts it) reaching the caller, queue wait
   * included. For a stream that completed without one, to its last event.
   */
  timeToFirstChunkMs: number;
  /** Output chunks (`content_block_delta` events) delivered to the caller. */
  chunks: number;
}

/** How a stream ended for one caller. */
export type StreamEnd = 'completed' | 'failed' | 'cancelled';

/** What one caller's stream reports when it ends: for the orchestrator's counters and for telemetry. */
export interface StreamReport {
  end: StreamEnd;
  /** The error the caller was given (failed), or why it stopped (cancelled: AbortedError). */
  error?: unknown;
  /** Cancelled: by leaving (`break`, `return()`) or by the caller's signal. */
  cancelReason?: 'consumer_left' | 'aborted';
  /** Undefined when the stream never started (validation, a closed orchestrator). */
  start: StreamStart | undefined;
  /** Undefined when no chunk arrived. */
  timeToFirstChunkMs: number | undefined;
  /** The time between each chunk and the one before it, for every chunk after the first (GenAI's time per output chunk). */
  chunkGapsMs: number[];
  /** Milliseconds from the first output chunk to the last one delivered. */
  streamingMs: number;
  /** Events delivered (a failure after the first is never retried), and of them output chunks. */
  events: number;
  chunks: number;
  result?: StreamedAgentResult;
}

/** What the orchestrator hands a caller's stream once it is under way. */
export interface StreamStart {
  reader: StreamReader;
  finalMessage(): Promise<ProviderResult>;
  /** The caller's result from the final message. */
  result(message: ProviderResult, latencyMs: number): AgentResult;
  /** A deadline of this caller's own (a caller that joined another's stream); the first caller's is the upstream's. */
  deadline?: { at: number; ms: number };
  /** `upstream`, `shared`, or the cache tier replayed. */
  source: string;
  agent: string;
  model: string;
  /** The agent span's message, when instrumentation listens. */
  trace?: AgentCallMessage;
}

export interface AgentStreamContext {
  clock: Clock;
  startedAt: number;
  signal?: AbortSignal;
  onEnd(report: StreamReport): void;
}

/**
 * A streamed agent call, as `Orchestrator.executeAgentStream` returns it. Iterate it for the
 * Messages API's stream events as they arrive (the same events whether they come live, from
 * another caller's identical stream, or replayed from the cache); `result` resolves once the
 * last one was read. `break`, `return()` or the caller's AbortSignal stop it: the upstream
 * request is cancelled at once unless another caller still reads it. A failure after the first
 * event is a StreamInterruptedError that says how much was delivered; it is never retried.
 */
export class AgentStream implements AsyncIterableIterator<StreamEvent> {
  /** The result once the last event was read; rejects as the stream failed or was left. */
  readonly result: Promise<StreamedAgentResult>;
  private settleResult!: { resolve: (r: StreamedAgentResult) => void; reject: (e: unknown) => void };
  private start: StreamStart | undefined;
  private over = false;
  /** Thrown by the next read after the stream ended in failure (once). */
  private pendingError: { error: unknown } | undefined;
  /** Events delivered, and of them the output chunks (text and other deltas). */
  private delivered = 0;
  private outputChunks = 0;
  private textChars = 0;
  private firstAt: number | undefined;
  private lastAt = 0;
  private readonly gaps: number[] = [];
  /** Rejects when the stream is stopped from outside (signal, own deadline) while a read waits. */
  private stopped: { promise: Promise<never>; reject: (e: unknown) => void } | undefined;
  private deadlineTimer: TimerHandle | undefined;
  private readonly onAbort: (() => void) | undefined;
  private cancelReason: 'consumer_left' | 'aborted' = 'consumer_left';

  /** @internal Made by Orchestrator.executeAgentStream. */
  constructor(
    private readonly starting: Promise<StreamStart>,
    private readonly context: AgentStreamContext,
  ) {
    this.result = new Promise<StreamedAgentResult>((resolve, reject) => (this.settleResult = { resolve, reject }));
    // Someone who only iterates never reads `result`: its failure is not an unhandled rejection.
    this.result.catch(() => {});
    starting.catch(() => {});
    const { signal } = context;
    if (signal) {
      this.stopped = stoppable();
      this.onAbort = () => {
        this.cancelReason = 'aborted';
        this.stop(new AbortedError(signal.reason), false);
      };
      if (signal.aborted) this.onAbort();
      else signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<StreamEvent, undefined>> {
    if (this.over) return this.afterEnd();
    try {
      const start = this.start ?? this.begin(await this.wait(this.starting));
      const step = await this.wait(start.reader.next());
      if (this.over) return this.afterEnd();
      if (step.done) {
        await this.complete(start);
        return { value: undefined, done: true };
      }
      this.count(step.value);
      return step;
    } catch (error) {
      if (!this.over) this.fail(error, true);
      return this.afterEnd();
    }
  }

  /** The caller leaves (`break`, `return()`): its part of the upstream is cancelled at once. */
  return(): Promise<IteratorResult<StreamEvent, undefined>> {
    if (!this.over) {
      this.fail(new AbortedError('the consumer left the stream'), false);
      this.pendingError = undefined;
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  /** Reads the rest of the stream when nobody iterates it, then resolves with the result. */
  async finalResult(): Promise<StreamedAgentResult> {
    if (!this.over && this.delivered === 0) for await (const event of this) void event;
    return this.result;
  }

  /** Only the text, delta by delta. */
  async *text(): AsyncGenerator<string, void, undefined> {
    for await (const event of this) if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') yield (event.delta as { text: string }).text;
  }

  /** Output chunks delivered so far. */
  get chunks(): number {
    return this.outputChunks;
  }

  private begin(start: StreamStart): StreamStart {
    this.start = start;
    const { deadline } = start;
    if (deadline) {
      this.stopped ??= stoppable();
      this.deadlineTimer = this.context.clock.setTimer(
        () => this.stop(new TimeoutError('deadline', deadline.ms), true),
        deadline.at - this.context.clock.now(),
      );
    }
    return start;
  }

  /** Awaits `promise`, unless the stream is stopped from outside first. */
  private wait<T>(promise: Promise<T>): Promise<T> {
    return this.stopped ? Promise.race([promise, this.stopped.promise]) : promise;
  }

  private count(event: StreamEvent): void {
    this.delivered++;
    if (event.type !== 'content_block_delta') return;
    const now = this.context.clock.now();
    if (this.firstAt === undefined) this.firstAt = now;
    else this.gaps.push(now - this.lastAt);
    this.lastAt = now;
    this.outputChunks++;
    if (event.delta.type === 'text_delta') this.textChars += (event.delta as { text: string }).text.length;
  }

  private async complete(start: StreamStart): Promise<void> {
    const message = await this.wait(start.finalMessage());
    const now = this.context.clock.now();
    const result: StreamedAgentResult = {
      ...start.result(message, now - this.context.startedAt),
      timeToFirstChunkMs: (this.firstAt ?? now) - this.context.startedAt,
      chunks: this.outputChunks,
    };
    this.finish();
    this.settleResult.resolve(result);
    this.context.onEnd(this.report('completed', undefined, result));
  }

  /** Stopped from outside: the caller's signal (not wrapped: the caller knows) or its own deadline. */
  private stop(reason: unknown, wrap: boolean): void {
    if (this.over) return;
    this.fail(reason, wrap);
    this.stopped?.reject(reason);
  }

  /**
   * Ends the stream for this caller with `error` (after the first chunk, wrapped in a
   * StreamInterruptedError when `wrap`), and leaves the upstream.
   */
  private fail(error: unknown, wrap: boolean): void {
    this.finish();
    const told =
      wrap && this.delivered > 0 && !(error instanceof StreamInterruptedError) ? new StreamInterruptedError(error, this.delivered, this.textChars) : error;
    this.pendingError = { error: told };
    this.settleResult.reject(told);
    this.start?.reader.return(told).catch(() => {});
    this.context.onEnd(this.report(error instanceof AbortedError ? 'cancelled' : 'failed', told, undefined));
  }

  private finish(): void {
    this.over = true;
    this.deadlineTimer?.cancel();
    if (this.onAbort) this.context.signal!.removeEventListener('abort', this.onAbort);
    // A caller that stopped before its stream started leaves it once it has (the start holds its reader).
    if (!this.start)
      this.starting.then(
        (start) => void start.reader.return(),
        () => {},
      );
  }

  private afterEnd(): IteratorResult<StreamEvent, undefined> {
    const pending = this.pendingError;
    this.pendingError = undefined;
    if (pending) throw pending.error;
    return { value: undefined, done: true };
  }

  private report(end: StreamEnd, error: unknown, result: StreamedAgentResult | undefined): StreamReport {
    return {
      end,
      error,
      cancelReason: end === 'cancelled' ? this.cancelReason : undefined,
      start: this.start,
      timeToFirstChunkMs: this.firstAt === undefined ? undefined : this.firstAt - this.context.startedAt,
      chunkGapsMs: this.gaps,
      streamingMs: this.firstAt === undefined ? 0 : this.lastAt - this.firstAt,
      events: this.delivered,
      chunks: this.outputChunks,
      result,
    };
  }
}

function stoppable(): { promise: Promise<never>; reject: (e: unknown) => void } {
  let reject!: (e: unknown) => void;
  const promise = new Promise<never>((_, r) => (reject = r));
  promise.catch(() => {});
  return { promise, reject };
}

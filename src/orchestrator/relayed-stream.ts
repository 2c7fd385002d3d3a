import type { Clock, TimerHandle } from '../clock.js';
import type { ProviderResult, ProviderStream, StreamEvent } from '../providers/types.js';

/** The longest wait for the next event while one is asked for; `onIdle` cuts the stream. */
export interface IdleTimeout {
  ms: number;
  clock: Clock;
  onIdle(): void;
}

/** How the orchestrator settles a streamed call, told once, when the stream is over. */
export interface StreamSettlement {
  /** The last event arrived. */
  succeeded(): void;
  /** The stream failed after its first event (never retried); returns the error the caller is told. */
  failed(thrown: unknown): unknown;
  /** The consumer left before the last event (`break`, `return()`). */
  left(): void;
}

/**
 * A streamed answer as the orchestrator hands it on: the first event (already received: it is
 * what ended the retries), then the provider's events as they arrive. Whatever ends it, the
 * last event, a failure, the consumer leaving, or `abandon()` (the call's deadline or
 * cancellation, also while nobody is reading), settles it exactly once, so the concurrency
 * slot and the breaker's verdict never wait on a consumer that stopped reading.
 */
export class RelayedStream implements AsyncIterableIterator<StreamEvent> {
  private first: StreamEvent | undefined;
  private over = false;
  /** Set when it ended in failure; the next `next()` throws it. */
  private failure: { error: unknown } | undefined;
  /** When the pending read from upstream began (undefined while none is pending). */
  private waitingSince: number | undefined;
  private idleTimer: TimerHandle | undefined;

  constructor(
    first: StreamEvent,
    private readonly upstream: AsyncIterator<StreamEvent>,
    private readonly source: ProviderStream,
    private readonly settlement: StreamSettlement,
    private readonly idle?: IdleTimeout,
  ) {
    this.first = first;
    if (idle) this.idleTimer = idle.clock.setTimer(() => this.checkIdle(), idle.ms);
  }

  /**
   * One timer for the whole stream, not one per event: it looks at how long the pending read
   * has waited and sleeps again for the rest. Only a read that waits counts: a consumer that
   * is slow to ask is not an idle upstream.
   */
  private checkIdle(): void {
    const idle = this.idle!;
    if (this.over) return;
    const waited = this.waitingSince === undefined ? 0 : idle.clock.now() - this.waitingSince;
    if (waited >= idle.ms) return idle.onIdle();
    this.idleTimer = idle.clock.setTimer(() => this.checkIdle(), idle.ms - waited);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<StreamEvent, undefined>> {
    if (this.first) {
      const first = this.first;
      this.first = undefined;
      return { value: first, done: false };
    }
    if (this.failure) throw this.failure.error;
    if (this.over) return { value: undefined, done: true };
    let step: IteratorResult<StreamEvent>;
    if (this.idle) this.waitingSince = this.idle.clock.now();
    try {
      step = await this.upstream.next();
    } catch (thrown) {
      this.fail(thrown);
      // Undefined when the consumer left while this read was pending: the read just ends.
      const failure = this.failure as { error: unknown } | undefined;
      if (!failure) return { value: undefined, done: true };
      throw failure.error;
    } finally {
      this.waitingSince = undefined;
    }
    // Abandoned or left while this read was pending (TypeScript cannot see that the await may set them).
    const abandoned = this.failure as { error: unknown } | undefined;
    if (abandoned) throw abandoned.error;
    // The consumer left while this read was pending: it was settled then.
    if (this.over as boolean) return { value: undefined, done: true };
    if (step.done) {
      this.end();
      this.settlement.succeeded();
      return { value: undefined, done: true };
    }
    return step;
  }

  /** The consumer leaves: the upstream request is cancelled and its connection released. */
  async return(): Promise<IteratorResult<StreamEvent, undefined>> {
    this.first = undefined;
    if (!this.over) {
      this.end();
      this.settlement.left();
      await this.upstream.return?.();
    }
    return { value: undefined, done: true };
  }

  /** Ends the stream from outside (deadline, cancellation) with `reason`, read or not. */
  abandon(reason: unknown): void {
    if (this.over) return;
    this.fail(reason);
    // The provider's iterator cancels the request when returned; its promise is not awaited here.
    this.upstream.return?.()?.catch(() => {});
  }

  /** The whole message, once the last event arrived (rejects as the stream failed or was left). */
  finalMessage(): Promise<ProviderResult> {
    return this.source.finalMessage();
  }

  private fail(thrown: unknown): void {
    if (this.over) return;
    this.end();
    this.first = undefined;
    this.failure = { error: this.settlement.failed(thrown) };
  }

  private end(): void {
    this.over = true;
    this.idleTimer?.cancel();
  }
}

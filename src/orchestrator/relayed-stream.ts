import type { ProviderResult, ProviderStream, StreamEvent } from '../providers/types.js';

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

  constructor(
    first: StreamEvent,
    private readonly upstream: AsyncIterator<StreamEvent>,
    private readonly source: ProviderStream,
    private readonly settlement: StreamSettlement,
  ) {
    this.first = first;
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
    try {
      step = await this.upstream.next();
    } catch (thrown) {
      this.fail(thrown);
      throw this.failure!.error;
    }
    // Abandoned while this read was pending (TypeScript cannot see that the await may set it).
    const abandoned = this.failure as { error: unknown } | undefined;
    if (abandoned) throw abandoned.error;
    if (step.done) {
      this.over = true;
      this.settlement.succeeded();
      return { value: undefined, done: true };
    }
    return step;
  }

  /** The consumer leaves: the upstream request is cancelled and its connection released. */
  async return(): Promise<IteratorResult<StreamEvent, undefined>> {
    this.first = undefined;
    if (!this.over) {
      this.over = true;
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
    this.over = true;
    this.first = undefined;
    this.failure = { error: this.settlement.failed(thrown) };
  }
}

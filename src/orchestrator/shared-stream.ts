import type { StreamReader } from '../providers/stream-events.js';
import type { ProviderResult, StreamEvent, StreamPacing } from '../providers/types.js';

/** The upstream a shared stream reads: a relayed provider stream, once its first event arrived. */
export interface StreamSource extends AsyncIterator<StreamEvent> {
  finalMessage(): Promise<ProviderResult>;
}

/** Bytes a kept event is counted at: its text (two bytes a character) and a fixed overhead for the object. */
const EVENT_OVERHEAD_BYTES = 160;

function sizeOf(event: StreamEvent): number {
  if (event.type !== 'content_block_delta') return EVENT_OVERHEAD_BYTES;
  const text = (event.delta as { text?: unknown }).text;
  return EVENT_OVERHEAD_BYTES + (typeof text === 'string' ? 2 * text.length : 0);
}

/**
 * One upstream stream read by every caller of an identical request in flight. Each reader has
 * its own position: a late joiner first reads the events already delivered, then the live
 * ones. The upstream is read only as fast as the fastest reader asks (nothing reads ahead), one
 * read at a time. A reader leaving never ends the stream for the others; the upstream is
 * cancelled when the last one leaves.
 *
 * Memory: the events delivered so far are kept for late joiners, up to `maxReplayBytes` (as
 * counted by `sizeOf`). Past it nobody new may join (a later identical call goes upstream on
 * its own) and the events every reader has read are dropped, so what is kept is what the
 * slowest reader has yet to read.
 */
export class SharedStream {
  private readonly log: StreamEvent[] = [];
  /** The position of `log[0]` in the stream (events before it were dropped). */
  private base = 0;
  private bytes = 0;
  private overBound = false;
  private state: 'opening' | 'open' | 'done' | 'failed' | 'cancelled' = 'opening';
  private failure: unknown;
  private source: StreamSource | undefined;
  private pulling: Promise<void> | undefined;
  private readonly readers = new Set<SharedReader>();
  /** How the output arrived (kept with the cached answer for a paced replay). */
  private readonly pacing: StreamPacing = { firstChunkMs: 0, chunkGapsMs: [] };
  private lastChunkAt: number | undefined;
  /** Settles when the stream is over (the last event, a failure, or every reader gone): with the final message (and its pacing) only for the first. */
  readonly over: Promise<ProviderResult | undefined>;
  private endWith!: (message: ProviderResult | undefined) => void;

  constructor(
    private readonly opening: Promise<StreamSource>,
    /** Cancels the upstream while it is still opening (no source to return yet). */
    private readonly cancelOpening: (reason: unknown) => void,
    private readonly maxReplayBytes: number,
    /** The orchestrator's clock, for the pacing. */
    private readonly now: () => number,
    /** When the request that answered went out (read at the first delta, once the stream is open): the pacing counts from there, not from a queue. */
    private readonly requestedAt: () => number = now,
  ) {
    this.over = new Promise((resolve) => (this.endWith = resolve));
    // A stream nobody reads still settles (and its failure is not unhandled).
    opening.catch(() => {});
  }

  /** Whether a new reader may still join (open, and its kept events within the bound). */
  get joinable(): boolean {
    return (this.state === 'opening' || this.state === 'open') && !this.overBound;
  }

  /** A new reader, from the first event. */
  join(): SharedReader {
    const reader = new SharedReader(this, this.base);
    this.readers.add(reader);
    return reader;
  }

  /** @internal The reader's next event: kept, or read from upstream. */
  async read(reader: SharedReader): Promise<IteratorResult<StreamEvent, undefined>> {
    for (;;) {
      if (reader.left) return { value: undefined, done: true };
      const at = reader.position - this.base;
      if (at < this.log.length) {
        const event = this.log[at];
        reader.position++;
        if (this.overBound) this.dropRead();
        return { value: event, done: false };
      }
      if (this.state === 'done') return { value: undefined, done: true };
      if (this.state === 'failed' || this.state === 'cancelled') throw this.failure;
      await (this.pulling ??= this.pull());
    }
  }

  /** @internal A reader leaves; the last one out cancels the upstream. */
  leave(reader: SharedReader, reason: unknown): Promise<void> | undefined {
    if (!this.readers.delete(reader)) return undefined;
    if (this.overBound) this.dropRead();
    if (this.readers.size > 0 || (this.state !== 'opening' && this.state !== 'open')) return undefined;
    this.end('cancelled', reason);
    if (!this.source) {
      this.cancelOpening(reason);
      return undefined;
    }
    return this.source.return?.().then(
      () => undefined,
      () => undefined,
    );
  }

  private async pull(): Promise<void> {
    try {
      if (!this.source) {
        this.source = await this.opening;
        if (this.state === 'opening') this.state = 'open';
        // Every reader left while it opened: the stream is cancelled, and so is what opened.
        else await this.source.return?.();
      }
      if (this.state !== 'open') return;
      const step = await this.source.next();
      if (this.state !== 'open') return;
      if (step.done) {
        this.state = 'done';
        const final = await this.source.finalMessage().catch(() => undefined);
        this.endWith(final && { ...final, _stream_pacing: this.pacing });
        return;
      }
      this.keep(step.value);
    } catch (error) {
      this.end('failed', error);
    } finally {
      this.pulling = undefined;
    }
  }

  private keep(event: StreamEvent): void {
    this.log.push(event);
    if (event.type === 'content_block_delta') {
      const at = this.now();
      if (this.lastChunkAt === undefined) this.pacing.firstChunkMs = Math.round((at - this.requestedAt()) * 10) / 10;
      else this.pacing.chunkGapsMs.push(Math.round((at - this.lastChunkAt) * 10) / 10);
      this.lastChunkAt = at;
    }
    if (this.overBound) return;
    this.bytes += sizeOf(event);
    if (this.bytes > this.maxReplayBytes) this.overBound = true;
  }

  private end(state: 'failed' | 'cancelled', reason: unknown): void {
    if (this.state !== 'opening' && this.state !== 'open') return;
    this.state = state;
    this.failure = reason;
    this.endWith(undefined);
  }

  /** Past the bound: drops the events every reader has read, once they are half of what is kept (amortised). */
  private dropRead(): void {
    let slowest = this.base + this.log.length;
    for (const reader of this.readers) slowest = Math.min(slowest, reader.position);
    const read = slowest - this.base;
    if (read === 0 || read * 2 < this.log.length) return;
    this.log.splice(0, read);
    this.base = slowest;
  }

  /** Readers still reading (tests, the bench). */
  get readerCount(): number {
    return this.readers.size;
  }

  /** Events kept for readers and joiners (tests, the bench). */
  get keptEvents(): number {
    return this.log.length;
  }
}

/** One caller's position in a shared stream. */
export class SharedReader implements StreamReader {
  left = false;

  constructor(
    private readonly stream: SharedStream,
    public position: number,
  ) {}

  next(): Promise<IteratorResult<StreamEvent, undefined>> {
    return this.stream.read(this);
  }

  async return(reason: unknown = 'the consumer left the stream'): Promise<IteratorResult<StreamEvent, undefined>> {
    if (!this.left) {
      this.left = true;
      await this.stream.leave(this, reason);
    }
    return { value: undefined, done: true };
  }
}

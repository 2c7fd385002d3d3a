/** A workflow lifecycle event (`workflow.started`, `step.completed`, ...). */
export interface WorkflowEvent {
  type: string;
  workflowId: string;
  stepId?: string;
  at: number;
  data?: unknown;
}

export interface SubscribeOptions {
  /** Events handed to the handler at once, at most. Default 1,000. */
  batchSize?: number;
  /** Past this many buffered events `publish` returns false: the publisher should wait for `ready()`. Default 10,000. */
  highWaterMark?: number;
  /** The hard bound: events beyond it are dropped for this subscriber and counted. Default 100,000. */
  maxBuffered?: number;
}

export type BatchHandler<E> = (batch: readonly E[]) => void | Promise<void>;

/**
 * One subscriber's queue: a growable ring, drained in batches; a handler that returns a
 * promise gets its next batch only when that settles.
 */
class Subscription<E> {
  private buffer: (E | undefined)[];
  private head = 0;
  private size = 0;
  private draining = false;
  dropped = 0;
  delivered = 0;

  constructor(
    private readonly handler: BatchHandler<E>,
    readonly batchSize: number,
    readonly highWaterMark: number,
    readonly maxBuffered: number,
    private readonly onDrained: () => void,
  ) {
    this.buffer = new Array<E | undefined>(Math.min(1024, maxBuffered));
  }

  get buffered(): number {
    return this.size;
  }

  push(event: E): void {
    if (this.size >= this.maxBuffered) {
      this.dropped++;
      return;
    }
    if (this.size === this.buffer.length) this.grow();
    this.buffer[(this.head + this.size) % this.buffer.length] = event;
    this.size++;
  }

  private grow(): void {
    const next = new Array<E | undefined>(Math.min(this.maxBuffered, this.buffer.length * 2));
    for (let i = 0; i < this.size; i++) next[i] = this.buffer[(this.head + i) % this.buffer.length];
    this.buffer = next;
    this.head = 0;
  }

  schedule(): void {
    if (this.draining || this.size === 0) return;
    this.draining = true;
    queueMicrotask(() => void this.drain());
  }

  private async drain(): Promise<void> {
    while (this.size > 0) {
      const n = Math.min(this.batchSize, this.size);
      const batch = new Array<E>(n);
      for (let i = 0; i < n; i++) {
        const at = (this.head + i) % this.buffer.length;
        batch[i] = this.buffer[at]!;
        this.buffer[at] = undefined;
      }
      this.head = (this.head + n) % this.buffer.length;
      this.size -= n;
      // Room is made once a batch is handed over, not when the handler finishes with it.
      if (this.size < this.highWaterMark) this.onDrained();
      try {
        const result = this.handler(batch);
        if (result && typeof result.then === 'function') await result;
      } catch {
        // A failing subscriber loses its batch, not the bus.
      }
      this.delivered += n;
    }
    this.draining = false;
  }
}

/**
 * The in-process event bus: events are delivered to each subscriber in publication order
 * (so in order per workflow), in batches, asynchronously. Memory is bounded per subscriber:
 * past the high-water mark `publish` returns false (wait for `ready()`), past `maxBuffered`
 * the subscriber's events are dropped and counted, so a slow subscriber cannot grow memory
 * without bound.
 */
export class EventBus<E = WorkflowEvent> {
  private readonly subscriptions = new Set<Subscription<E>>();
  private waiters: Array<() => void> = [];

  subscribe(
    handler: BatchHandler<E>,
    options: SubscribeOptions = {},
  ): { unsubscribe(): void; stats(): { buffered: number; delivered: number; dropped: number } } {
    const maxBuffered = options.maxBuffered ?? 100_000;
    const subscription = new Subscription(handler, options.batchSize ?? 1_000, Math.min(options.highWaterMark ?? 10_000, maxBuffered), maxBuffered, () =>
      this.wake(),
    );
    this.subscriptions.add(subscription);
    return {
      unsubscribe: () => this.subscriptions.delete(subscription),
      stats: () => ({ buffered: subscription.buffered, delivered: subscription.delivered, dropped: subscription.dropped }),
    };
  }

  /** Publishes one event; false means a subscriber is past its high-water mark. */
  publish(event: E): boolean {
    let ok = true;
    for (const s of this.subscriptions) {
      s.push(event);
      s.schedule();
      if (s.buffered >= s.highWaterMark) ok = false;
    }
    return ok;
  }

  /** Publishes a batch in order; false means a subscriber is past its high-water mark. */
  publishBatch(events: readonly E[]): boolean {
    let ok = true;
    for (const s of this.subscriptions) {
      for (const e of events) s.push(e);
      s.schedule();
      if (s.buffered >= s.highWaterMark) ok = false;
    }
    return ok;
  }

  /** Resolves once every subscriber is under its high-water mark. */
  ready(): Promise<void> {
    if ([...this.subscriptions].every((s) => s.buffered < s.highWaterMark)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    if (![...this.subscriptions].every((s) => s.buffered < s.highWaterMark)) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

import type { AbortLike } from '../cancellation.js';
import { QueueFullError } from '../errors.js';

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
  cancelled: boolean;
  next: Waiter | undefined;
}

/**
 * Bounded concurrency with a bounded FIFO queue. `acquire` resolves when a slot is free; past
 * `maxQueued` waiting callers it throws QueueFullError at once rather than growing memory.
 */
export class ConcurrencyLimiter {
  private active = 0;
  private waiting = 0;
  private head: Waiter | undefined;
  private tail: Waiter | undefined;

  constructor(
    readonly maxConcurrent: number,
    readonly maxQueued: number,
  ) {}

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting;
  }

  /** True when a slot was taken at once; the caller must `release()` it. */
  tryAcquire(): boolean {
    if (this.active < this.maxConcurrent && this.waiting === 0) {
      this.active++;
      return true;
    }
    return false;
  }

  acquire(signal?: AbortLike): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    if (this.waiting >= this.maxQueued) return Promise.reject(new QueueFullError(this.maxQueued));
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, cancelled: false, next: undefined };
      if (this.tail) this.tail.next = waiter;
      else this.head = waiter;
      this.tail = waiter;
      this.waiting++;
      if (signal) {
        const unsubscribe = signal.onAbort(() => {
          if (waiter.cancelled) return;
          waiter.cancelled = true;
          this.waiting--;
          reject(signal.reason);
        });
        waiter.resolve = () => {
          unsubscribe();
          resolve();
        };
      }
    });
  }

  release(): void {
    for (let w = this.dequeue(); w; w = this.dequeue()) {
      if (w.cancelled) continue;
      this.waiting--;
      w.resolve(); // the slot passes straight to the next waiter
      return;
    }
    this.active--;
  }

  /** Rejects every waiter (used by close()). */
  rejectAll(error: unknown): void {
    for (let w = this.dequeue(); w; w = this.dequeue()) {
      if (w.cancelled) continue;
      w.cancelled = true;
      this.waiting--;
      w.reject(error);
    }
  }

  private dequeue(): Waiter | undefined {
    const w = this.head;
    if (!w) return undefined;
    this.head = w.next;
    if (!this.head) this.tail = undefined;
    return w;
  }
}

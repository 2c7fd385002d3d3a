import type { AbortLike } from '../cancellation.js';
import type { Clock } from '../clock.js';

/**
 * A token bucket refilled continuously: `capacity` tokens per `periodMs`. Used for a model's
 * requests per minute and tokens per minute, so a burst waits on our side instead of earning
 * 429s from the API.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    readonly capacity: number,
    private readonly periodMs: number,
    private readonly clock: Clock,
    /** What it holds at first (full by default). */
    initial: number = capacity,
  ) {
    this.tokens = initial;
    this.updatedAt = clock.now();
  }

  /** Takes `amount` tokens and returns 0, or takes nothing and returns the ms to wait. */
  take(amount: number): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updatedAt) * this.capacity) / this.periodMs);
    this.updatedAt = now;
    // A request larger than the whole bucket may go once the bucket is full.
    const needed = Math.min(amount, this.capacity);
    if (this.tokens >= needed) {
      this.tokens -= amount;
      return 0;
    }
    return ((needed - this.tokens) * this.periodMs) / this.capacity;
  }
}

export interface ModelRateLimit {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
}

/** What the orchestrator asks of a model's client-side rate limit (this process's, or one shared through Redis). */
export interface RateGate {
  /** Waits until one request of `estimatedTokens` may go; the wait is capped by the signal. */
  acquire(estimatedTokens: number, signal: AbortLike): Promise<void>;
  /** The API answered 429 with retry-after: nothing goes for `ms`. */
  holdOff(ms: number): void;
}

/** The pair of buckets for one model, in this process. */
export class ModelRateLimiter implements RateGate {
  private readonly requests: TokenBucket | undefined;
  private readonly tokens: TokenBucket | undefined;
  private heldUntil = 0;

  constructor(
    limit: ModelRateLimit,
    private readonly clock: Clock,
    /** `empty`: the buckets start empty (a fallback taking over mid-run must not add a burst of its own). */
    start: 'full' | 'empty' = 'full',
  ) {
    const initial = (capacity: number) => (start === 'full' ? capacity : 0);
    if (limit.requestsPerMinute) this.requests = new TokenBucket(limit.requestsPerMinute, 60_000, clock, initial(limit.requestsPerMinute));
    if (limit.tokensPerMinute) this.tokens = new TokenBucket(limit.tokensPerMinute, 60_000, clock, initial(limit.tokensPerMinute));
  }

  /** Waits until one request of `estimatedTokens` may go; the wait is capped by the signal. */
  async acquire(estimatedTokens: number, signal: AbortLike): Promise<void> {
    for (;;) {
      const held = this.heldUntil - this.clock.now();
      if (held > 0) {
        await this.clock.sleep(held, signal);
        continue;
      }
      const waitRequests = this.requests?.take(1) ?? 0;
      if (waitRequests > 0) {
        await this.clock.sleep(waitRequests, signal);
        continue;
      }
      const waitTokens = this.tokens?.take(estimatedTokens) ?? 0;
      if (waitTokens === 0) return;
      this.requests?.take(-1); // give the request token back while we wait for tokens
      await this.clock.sleep(waitTokens, signal);
    }
  }

  holdOff(ms: number): void {
    this.heldUntil = Math.max(this.heldUntil, this.clock.now() + ms);
  }
}

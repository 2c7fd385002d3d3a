import { TimeoutError, UpstreamError } from '../errors.js';

export interface RetryPolicy {
  /** Attempts in total, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 8_000 };

// 408 timeout, 409 conflict (lock contention), 429 rate limit; every 5xx including 529 overloaded.
const RETRYABLE_STATUS = new Set([408, 409, 429]);

/** Whether another attempt could succeed. Never 400, 401, 403, 404, 413 or 422. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof UpstreamError) return error.status === undefined || RETRYABLE_STATUS.has(error.status) || error.status >= 500;
  // A streamed attempt that sent nothing in time is retried like any attempt (no output was seen).
  return error instanceof TimeoutError && (error.kind === 'attempt' || error.kind === 'first_chunk');
}

/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff and
 * Jitter"): a uniform draw from [0, min(cap, base * 2^(n-1))] for retry n.
 */
export function backoffDelayMs(policy: RetryPolicy, retryNumber: number, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retryNumber - 1));
  return random() * ceiling;
}

/** What to wait before the next attempt: the server's retry-after when it gave one. */
export function retryDelayMs(policy: RetryPolicy, retryNumber: number, error: unknown, random: () => number): number {
  if (error instanceof UpstreamError && error.retryAfterMs !== undefined) return error.retryAfterMs;
  return backoffDelayMs(policy, retryNumber, random);
}

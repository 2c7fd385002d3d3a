/**
 * An organisation's rate limits, enforced the way the Messages API does (platform.claude.com
 * docs, "Rate limits", as summarised on docs.aws.amazon.com/claude-platform/latest/userguide/
 * rate-limits.html, read 2026-12-06): requests, input tokens and output tokens per minute, each
 * a token bucket that refills continuously up to its limit (not a window reset each minute); a
 * request that would overdraw one is refused with 429 `rate_limit_error` and `retry-after`
 * (whole seconds until that bucket holds enough); every response carries the
 * `anthropic-ratelimit-*` headers (limit, remaining, and reset: when the bucket is full again,
 * RFC 3339). Beside them a capacity: more requests in flight than it is 529 `overloaded_error`,
 * what the API answers when it is overloaded.
 *
 * Chosen where the API says no more: output tokens are charged at admission as the answer's
 * own count (the simulator knows it), not `max_tokens`; the combined `tokens` headers are the
 * more restrictive of input and output.
 */
import { UsageError } from '../../errors.js';

export interface OrgLimits {
  /** Requests per minute. */
  rpm?: number;
  /** Input tokens per minute. */
  itpm?: number;
  /** Output tokens per minute. */
  otpm?: number;
}

export type LimitName = keyof OrgLimits;

const LIMIT_NAMES: readonly LimitName[] = ['rpm', 'itpm', 'otpm'];
const HEADER_OF: Record<LimitName, string> = { rpm: 'requests', itpm: 'input-tokens', otpm: 'output-tokens' };
const WHAT: Record<LimitName, string> = { rpm: 'requests', itpm: 'input tokens', otpm: 'output tokens' };

/** `rpm=50,itpm=40000,otpm=8000` (any of them; each a positive integer per minute). */
export function parseLimits(spec: string): OrgLimits {
  const limits: OrgLimits = {};
  for (const part of spec.split(',').map((p) => p.trim())) {
    if (part === '') continue;
    const [name, value, extra] = part.split('=');
    if (!(LIMIT_NAMES as readonly string[]).includes(name) || value === undefined || extra !== undefined)
      throw new UsageError('limits', `limits must be NAME=N,... with NAME one of ${LIMIT_NAMES.join(', ')}, got ${JSON.stringify(part)}`);
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 1e9)
      throw new UsageError('limits', `limits: ${name} must be a whole number per minute from 1 to 1000000000, got ${JSON.stringify(value)}`);
    limits[name as LimitName] = n;
  }
  if (Object.keys(limits).length === 0)
    throw new UsageError('limits', `limits must name at least one of ${LIMIT_NAMES.join(', ')} (e.g. rpm=50,itpm=40000,otpm=8000)`);
  return limits;
}

/** A bucket of `limit` per minute, refilled continuously. */
class Bucket {
  private level: number;
  private at: number;

  constructor(
    readonly limit: number,
    now: number,
  ) {
    this.level = limit;
    this.at = now;
  }

  /** What it holds at `now`. */
  available(now: number): number {
    this.level = Math.min(this.limit, this.level + ((now - this.at) * this.limit) / 60_000);
    this.at = now;
    return this.level;
  }

  take(amount: number, now: number): void {
    this.available(now);
    this.level -= amount;
  }

  /** Ms until it holds `amount` (0 if it does); Infinity past its size. */
  msUntil(amount: number, now: number): number {
    if (amount > this.limit) return Infinity;
    const missing = amount - this.available(now);
    return missing <= 0 ? 0 : (missing * 60_000) / this.limit;
  }
}

export type Admission =
  { ok: true; headers: Record<string, string> } | { ok: false; limit: LimitName; retryAfterS: number; message: string; headers: Record<string, string> };

/** The organisation's buckets: admit() a request, refusing what would overdraw one. */
export class RateLimitBuckets {
  private readonly buckets: Partial<Record<LimitName, Bucket>> = {};

  constructor(
    limits: OrgLimits,
    private readonly now: () => number = Date.now,
  ) {
    for (const name of LIMIT_NAMES) {
      const limit = limits[name];
      if (limit !== undefined) this.buckets[name] = new Bucket(limit, now());
    }
  }

  admit(inputTokens: number, outputTokens: number): Admission {
    const now = this.now();
    const cost: Record<LimitName, number> = { rpm: 1, itpm: inputTokens, otpm: outputTokens };
    for (const name of LIMIT_NAMES) {
      const bucket = this.buckets[name];
      if (!bucket) continue;
      const waitMs = bucket.msUntil(cost[name], now);
      if (waitMs > 0) {
        const retryAfterS = Number.isFinite(waitMs) ? Math.max(1, Math.ceil(waitMs / 1000)) : 60;
        return {
          ok: false,
          limit: name,
          retryAfterS,
          message: `This request would exceed the rate limit for your organization of ${bucket.limit} ${WHAT[name]} per minute (simulated). Retry after ${retryAfterS} s.`,
          headers: { ...this.headers(now), 'retry-after': String(retryAfterS) },
        };
      }
    }
    for (const name of LIMIT_NAMES) this.buckets[name]?.take(cost[name], now);
    return { ok: true, headers: this.headers(now) };
  }

  /** `anthropic-ratelimit-<kind>-limit|remaining|reset` for each bucket, and `tokens-*` as the tighter of input and output. */
  private headers(now: number): Record<string, string> {
    const out: Record<string, string> = {};
    let tightest: { name: LimitName; share: number } | undefined;
    for (const name of LIMIT_NAMES) {
      const bucket = this.buckets[name];
      if (!bucket) continue;
      const remaining = Math.max(0, Math.floor(bucket.available(now)));
      const prefix = `anthropic-ratelimit-${HEADER_OF[name]}`;
      out[`${prefix}-limit`] = String(bucket.limit);
      out[`${prefix}-remaining`] = String(remaining);
      out[`${prefix}-reset`] = new Date(now + bucket.msUntil(bucket.limit, now)).toISOString().replace(/\.\d{3}Z$/, 'Z');
      if (name !== 'rpm' && (tightest === undefined || remaining / bucket.limit < tightest.share)) tightest = { name, share: remaining / bucket.limit };
    }
    if (tightest)
      for (const field of ['limit', 'remaining', 'reset'])
        out[`anthropic-ratelimit-tokens-${field}`] = out[`anthropic-ratelimit-${HEADER_OF[tightest.name]}-${field}`];
    return out;
  }
}

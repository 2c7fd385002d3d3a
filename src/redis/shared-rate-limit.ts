/**
 * A model's client-side rate limit shared by every instance on one Redis: the same two token
 * buckets as ModelRateLimiter (requests and tokens per minute, refilled continuously), kept in
 * Redis and taken from atomically by one Lua script, on Redis's clock (TIME), so instances
 * with skewed clocks still share one budget. A 429's `retry-after` holds every instance off
 * (`holdOff`): the script refuses until then.
 *
 * When Redis cannot be asked (down after failures, or not connected), each instance falls back to its own
 * share: the limit divided by the live instances it last saw (each instance keeps a heartbeat
 * in a sorted set, every 2 s; one not seen for 6 s is gone), or `localShare` when given. The
 * share's buckets start empty and refill at its rate, so the instances together never go
 * faster than the limit, nor burst past it.
 */
import { randomUUID } from 'node:crypto';
import type { AbortLike } from '../cancellation.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { ModelRateLimiter, type ModelRateLimit, type RateGate } from '../orchestrator/rate-limiter.js';
import type { RedisClient, RedisLink } from './link.js';

// KEYS: requests bucket, tokens bucket, held-off-until. ARGV: requests/min, tokens/min, tokens
// wanted (0: no such bucket). Returns 0 when both were taken, else the ms to wait (nothing taken).
const TAKE = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local held = tonumber(redis.call('GET', KEYS[3]) or '0')
if held > now then return held - now end
local function level(key, cap)
  local v = redis.call('HMGET', key, 'level', 'at')
  local lvl = tonumber(v[1]) or cap
  local at = tonumber(v[2]) or now
  return math.min(cap, lvl + (now - at) * cap / 60000)
end
local rpm, tpm, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local wait = 0
local r, k
if rpm > 0 then
  r = level(KEYS[1], rpm)
  if r < 1 then wait = math.max(wait, (1 - r) * 60000 / rpm) end
end
if tpm > 0 then
  k = level(KEYS[2], tpm)
  local need = math.min(want, tpm)
  if k < need then wait = math.max(wait, (need - k) * 60000 / tpm) end
end
if wait > 0 then return math.ceil(wait) end
if r then redis.call('HSET', KEYS[1], 'level', tostring(r - 1), 'at', now); redis.call('PEXPIRE', KEYS[1], 120000) end
if k then redis.call('HSET', KEYS[2], 'level', tostring(k - want), 'at', now); redis.call('PEXPIRE', KEYS[2], 120000) end
return 0`;

// KEYS: held-off-until. ARGV: ms. Holds off until now + ms, never shortening a longer hold.
const HOLD_OFF = `local t = redis.call('TIME')
local until_ = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
local held = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > held then redis.call('SET', KEYS[1], until_, 'PX', ARGV[1]) end
return 0`;

// KEYS: the instances' sorted set. ARGV: this instance's id. Returns the live instances.
const HEARTBEAT = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 6000)
redis.call('PEXPIRE', KEYS[1], 60000)
return redis.call('ZCARD', KEYS[1])`;

const HEARTBEAT_MS = 2_000;
/** A slow answer: ask Redis again after this long. */
const RETRY_SLOW_MS = 20;

const script = (client: RedisClient, source: string, keys: string[], args: Array<string | number>) =>
  client.eval(source, { keys, arguments: args.map(String) }) as Promise<number>;

/** The live instances sharing a Redis, as this one last saw them (its heartbeat, every 2 s). */
export class InstanceCount {
  readonly id = randomUUID();
  private seen = 1;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly link: RedisLink) {
    const beat = () =>
      void link
        .run((client) => script(client, HEARTBEAT, [link.key('instances')], [this.id]), 1_000)
        .then((n) => (this.seen = Math.max(1, Number(n))))
        .catch(() => {});
    beat();
    this.timer = setInterval(beat, HEARTBEAT_MS);
    this.timer.unref();
  }

  /** Including this one; 1 until a heartbeat has answered. */
  get live(): number {
    return this.seen;
  }

  close(): void {
    clearInterval(this.timer);
  }
}

export interface SharedRateLimitOptions {
  link: RedisLink;
  instances: InstanceCount;
  model: string;
  limit: ModelRateLimit;
  clock: Clock;
  logger: Logger;
  /** The limit this instance keeps to while Redis cannot be asked; default the limit over the live instances last seen. */
  localShare?: ModelRateLimit;
}

export class SharedModelRateLimiter implements RateGate {
  private readonly keys: [string, string, string];
  /** The fallback, made for the share of the instances seen when Redis first failed. */
  private local: { limiter: ModelRateLimiter; instances: number } | undefined;

  constructor(private readonly options: SharedRateLimitOptions) {
    const { link, model } = options;
    this.keys = [link.key('rl', model, 'requests'), link.key('rl', model, 'tokens'), link.key('rl', model, 'held')];
  }

  async acquire(estimatedTokens: number, signal: AbortLike): Promise<void> {
    const { link, limit, clock } = this.options;
    for (;;) {
      let waitMs: number;
      try {
        waitMs = Number(
          await link.coordinate((client) => script(client, TAKE, this.keys, [limit.requestsPerMinute ?? 0, limit.tokensPerMinute ?? 0, estimatedTokens])),
        );
      } catch {
        // Redis down (its breaker open) or not connected: this instance's own share, until it
        // is back. Merely slow (one answer late): ask again, for what this instance admits
        // alone is not taken from the shared bucket, and together they would overdraw it.
        if (link.state() === 'down' || !link.isReady) return this.fallback().acquire(estimatedTokens, signal);
        await clock.sleep(RETRY_SLOW_MS, signal);
        continue;
      }
      if (waitMs <= 0) {
        this.local = undefined;
        return;
      }
      await clock.sleep(waitMs, signal);
    }
  }

  /** A 429's retry-after: every instance holds off (this one too, if Redis cannot be told). */
  holdOff(ms: number): void {
    const { link } = this.options;
    void link.coordinate((client) => script(client, HOLD_OFF, [this.keys[2]], [Math.ceil(ms)])).catch(() => this.fallback().holdOff(ms));
  }

  private fallback(): ModelRateLimiter {
    const { instances, limit, localShare, logger, model, clock } = this.options;
    const live = instances.live;
    if (this.local?.instances !== live) {
      const share = localShare ?? {
        ...(limit.requestsPerMinute ? { requestsPerMinute: Math.max(1, Math.floor(limit.requestsPerMinute / live)) } : {}),
        ...(limit.tokensPerMinute ? { tokensPerMinute: Math.max(1, Math.floor(limit.tokensPerMinute / live)) } : {}),
      };
      if (!this.local) logger.warn({ model, live, share }, 'rate limit: redis cannot be asked, this instance keeps to its own share of the limit');
      // Empty at first: the shared budget may be spent already, and a share starting full would
      // add a burst of its own on every instance at once.
      this.local = { limiter: new ModelRateLimiter(share, clock, 'empty'), instances: live };
    }
    return this.local.limiter;
  }
}

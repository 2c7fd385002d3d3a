/**
 * Single-flight across instances: an identical request in flight on one instance is not sent
 * upstream again by another. Before going upstream after a miss, an instance takes a short
 * lease in Redis on the request's key (`<namespace>:flight:<key>`, SET NX PX, renewed while its
 * call runs). Another instance that finds the lease taken waits for the answer, reading it from
 * the shared cache tier as it lands: the same signed, verified entry under the same key, so it
 * can never be another request's answer. It polls (every 10 ms, then up to 50 ms) rather than
 * subscribing, so it needs no second connection and no message can be missed.
 *
 * The leader reads once more after taking the lease: an answer stored between its miss and its
 * lease (the leader before it released the lease only after storing) is used, not asked again.
 *
 * Nothing waits forever: a waiter goes upstream itself when the lease is gone without an answer
 * (the leader failed, or died and its lease expired), when the wait's bound passes, or when
 * Redis cannot be asked; a leader that fails releases its lease at once.
 */
import { randomUUID } from 'node:crypto';
import type { CachedResponse } from '../cache/response-cache.js';
import type { AbortLike } from '../cancellation.js';
import type { Clock } from '../clock.js';
import type { CrossInstanceFlight, FlightJoin } from '../orchestrator/cross-instance.js';
import type { RedisClient, RedisLink } from './link.js';

// KEYS: the lease. ARGV: its holder's token, ms. Renews it only while it is still ours.
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
// KEYS: the lease. ARGV: its holder's token. Releases it only if it is still ours.
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export interface RedisSingleFlightOptions {
  link: RedisLink;
  /** The answer for `key` from the shared tier, verified, or undefined. */
  read: (key: string) => Promise<CachedResponse | undefined>;
  clock: Clock;
  /** How long a lease lives without renewal (a dead leader's is gone after it). Default 5 s; renewed every third of it. */
  leaseMs?: number;
  /** The longest a waiter waits for another instance's answer before going upstream itself. Default 30 s. */
  maxWaitMs?: number;
}

const eval_ = (client: RedisClient, source: string, key: string, args: Array<string | number>) =>
  client.eval(source, { keys: [key], arguments: args.map(String) }) as Promise<number>;

export class RedisSingleFlight implements CrossInstanceFlight {
  private readonly leaseMs: number;
  private readonly maxWaitMs: number;

  constructor(private readonly options: RedisSingleFlightOptions) {
    this.leaseMs = options.leaseMs ?? 5_000;
    this.maxWaitMs = options.maxWaitMs ?? 30_000;
  }

  async join(key: string, cancellation: AbortLike, deadlineAt: number): Promise<FlightJoin> {
    const { link, read, clock } = this.options;
    const leaseKey = link.key('flight', key);
    const token = randomUUID();
    const until = Math.min(deadlineAt, clock.now() + this.maxWaitMs);
    let pollMs = 10;
    for (;;) {
      let taken: boolean;
      try {
        taken = (await link.coordinate((client) => client.set(leaseKey, token, { condition: 'NX', expiration: { type: 'PX', value: this.leaseMs } }))) === 'OK';
      } catch {
        return { kind: 'alone', reason: 'redis' };
      }
      if (taken) {
        const lease = this.lease(leaseKey, token);
        // A leader releases its lease only once its answer is stored, so an answer that landed
        // after this call's miss and before the lease was taken is there now: read it once more.
        const landed = await read(key).catch(() => undefined);
        if (!landed) return { kind: 'lead', lease };
        lease.release();
        return { kind: 'answered', value: landed };
      }
      // Another instance leads: its answer lands in the shared tier.
      const answer = await read(key).catch(() => undefined);
      if (answer) return { kind: 'answered', value: answer };
      if (clock.now() >= until) return { kind: 'alone', reason: 'timeout' };
      await clock.sleep(pollMs, cancellation);
      pollMs = Math.min(50, pollMs * 1.5);
      // Looping takes the lease if the leader let it go (failed) or lost it (died): then this
      // instance leads. But an answer may have landed just before the lease went: read first.
      const late = await read(key).catch(() => undefined);
      if (late) return { kind: 'answered', value: late };
    }
  }

  /** Renewed every third of its life while held; released (only if still ours) when the call ends. */
  private lease(leaseKey: string, token: string) {
    const { link } = this.options;
    const timer = setInterval(() => void link.coordinate((client) => eval_(client, RENEW, leaseKey, [token, this.leaseMs])).catch(() => {}), this.leaseMs / 3);
    timer.unref();
    return {
      release: () => {
        clearInterval(timer);
        void link.coordinate((client) => eval_(client, RELEASE, leaseKey, [token])).catch(() => {});
      },
    };
  }
}

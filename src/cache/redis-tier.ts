/**
 * The shared tier in Redis: what one instance stored, every instance sharing the Redis can
 * answer from. Each entry is the same signed bytes as a disk entry (entry-format.ts) under
 * `<namespace>:entry:<request key>`, expiring by Redis's own expiry at the entry's end of life;
 * beside them `<namespace>:secret-id` names the secret they were written under.
 *
 * Nothing read from Redis is trusted: every entry is verified (HMAC, its own key, its expiry)
 * before it is served, so whoever can write to Redis still cannot make the cache serve an
 * answer it did not store; an entry that fails is reported as an integrity failure and removed.
 * A read never transfers more than the largest entry (a script checks the length first).
 * A namespace written under another secret (another tenant, or instances given different
 * secrets) is left alone: nothing served, written or deleted.
 *
 * Every operation goes through the RedisLink's budget and breaker: Redis slow or down is a
 * miss (a read) or a copy not kept (a write), never a failed call.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { RedisClient, RedisLink } from '../redis/link.js';
import { decodeEntry, encodeEntry, type EntryMeta } from './entry-format.js';
import type { EntrySigner } from './signing.js';
import type { CacheTier, ForeignSecret, TierEvent, TierRead, TierStats, TierVerification, VerifyFailure } from './tier.js';

const KEY_PATTERN = /^[0-9a-f]{64}$/;
/** The longest opening waits for Redis. */
export const FIRST_CONNECT_MS = 500;

// GET, unless the value is longer than ARGV[1]: then only its length (an integer reply), so a
// huge value planted in Redis is never transferred.
const BOUNDED_GET = `local n = redis.call('STRLEN', KEYS[1])
if n > tonumber(ARGV[1]) then return n end
return redis.call('GET', KEYS[1])`;
const BOUNDED_GET_SHA = createHash('sha1').update(BOUNDED_GET).digest('hex');

export interface RedisTierOptions {
  link: RedisLink;
  signer: EntrySigner;
  now: () => number;
  logger: Logger;
  onEvent: (event: TierEvent, key: string, detail?: string) => void;
  /** The largest entry read, in bytes. */
  maxEntryBytes: number;
  /** Close the link with the tier (it was opened for the tier alone). */
  ownsLink?: boolean;
}

/** The value at `key`, or its length when longer than `max`, or null. One round trip (the script is loaded on first use). */
async function boundedGet(client: RedisClient, key: string, max: number): Promise<Buffer | number | null> {
  const call = { keys: [key], arguments: [String(max)] };
  try {
    return (await client.evalSha(BOUNDED_GET_SHA, call)) as Buffer | number | null;
  } catch (error) {
    if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
    return (await client.eval(BOUNDED_GET, call)) as Buffer | number | null;
  }
}

export class RedisTier implements CacheTier {
  readonly name = 'redis';
  /** The link's budget bounds every operation; the cache adds no timer of its own. */
  readonly readTimeoutMs = undefined;
  private foreign: ForeignSecret | undefined;
  /** Until the namespace's secret is known, nothing is read or written: another's entries would look tampered with, and be removed. */
  private secretKnown = false;
  private counted = { entries: 0, bytes: 0 };

  private constructor(private readonly options: RedisTierOptions) {}

  /**
   * Waits up to FIRST_CONNECT_MS for the first connection, so that a short-lived process (one
   * `exec`) reads Redis too; a Redis that is down delays the start by that much, no more.
   */
  static async open(options: RedisTierOptions): Promise<RedisTier> {
    const tier = new RedisTier(options);
    // On each (re)connection: a server that restarted empty gets the secret's id again, and
    // the read script is loaded so that the first read is one round trip.
    options.link.onReady(() => {
      void tier.checkSecret().catch((error: unknown) => options.logger.warn({ err: error }, 'redis: cannot check the secret id'));
      void options.link.maintain((client) => client.scriptLoad(BOUNDED_GET), 2_000).catch(() => {});
    });
    if (await options.link.connected(FIRST_CONNECT_MS)) await tier.checkSecret().catch(() => {});
    return tier;
  }

  get foreignSecret(): ForeignSecret | undefined {
    return this.foreign;
  }

  private entryKey(key: string): string {
    return this.options.link.key('entry', key);
  }

  async get(key: string): Promise<TierRead | undefined> {
    if (this.foreign || !this.secretKnown) return undefined;
    const { link, maxEntryBytes } = this.options;
    const value = await link.run((client) => boundedGet(client, this.entryKey(key), maxEntryBytes));
    if (value === null) return undefined;
    if (typeof value === 'number') {
      this.options.onEvent('integrity', key, 'too-large');
      this.remove(key);
      return undefined;
    }
    const decoded = decodeEntry(value, key, this.options.signer);
    if (!decoded.ok) {
      this.options.onEvent('integrity', key, decoded.reason);
      this.remove(key);
      return undefined;
    }
    if (decoded.meta.expiresAt <= this.options.now()) {
      this.options.onEvent('expiration', key);
      return undefined;
    }
    // Signed before a rotation: signed again under the current secret, in the background.
    if (decoded.signedWithPrevious) void this.set(key, decoded.meta, decoded.payload).catch(() => {});
    return { payload: decoded.payload, meta: decoded.meta };
  }

  async set(key: string, meta: EntryMeta, payload: Buffer): Promise<void> {
    if (this.foreign || !this.secretKnown) return;
    const ttlMs = Math.ceil(meta.expiresAt - this.options.now());
    if (ttlMs <= 0) return;
    const bytes = encodeEntry(meta, payload, this.options.signer);
    await this.options.link.run((client) => client.set(this.entryKey(key), bytes, { expiration: { type: 'PX', value: ttlMs } }));
  }

  async delete(key: string): Promise<void> {
    if (this.foreign || !this.secretKnown) return;
    await this.options.link.run((client) => client.del(this.entryKey(key)));
  }

  /** Redis expires entries itself. */
  sweep(): Promise<number> {
    return Promise.resolve(0);
  }

  /** What the last count found (`ready()` and `verify()` count), with the link's state and counters. */
  stats(): TierStats {
    return { ...this.counted, link: this.options.link.stats() };
  }

  /** Connected (within 2 s) and counted; a Redis that cannot be reached leaves the counts at zero and the link's state says why. */
  async ready(): Promise<void> {
    if (!(await this.options.link.connected(2_000))) return;
    await this.checkSecret().catch(() => {});
    let entries = 0;
    let bytes = 0;
    await this.scan(async (client, keys) => {
      entries += keys.length;
      const lengths = await Promise.all(keys.map((k) => client.strLen(k)));
      bytes += lengths.reduce((sum, n) => sum + n, 0);
    }).catch((error: unknown) => this.options.logger.warn({ err: error }, 'redis: cannot count the entries'));
    this.counted = { entries, bytes };
  }

  async verify(): Promise<TierVerification> {
    const failures: VerifyFailure[] = [];
    let checked = 0;
    let bytes = 0;
    await this.checkSecret();
    if (this.foreign) return { checked, failures, foreignSecret: this.foreign };
    await this.scan(async (client, keys) => {
      for (const redisKey of keys) {
        checked++;
        const key = redisKey.slice(this.entryKey('').length);
        if (!KEY_PATTERN.test(key)) {
          failures.push({ key, file: redisKey, reason: 'bad-name' });
          continue;
        }
        const value = await boundedGet(client, redisKey, this.options.maxEntryBytes);
        if (value === null) continue;
        if (typeof value === 'number') {
          failures.push({ key, file: redisKey, reason: 'too-large' });
          continue;
        }
        bytes += value.length;
        const decoded = decodeEntry(value, key, this.options.signer);
        if (!decoded.ok) failures.push({ key, file: redisKey, reason: decoded.reason });
        else if (decoded.meta.expiresAt <= this.options.now()) failures.push({ key, file: redisKey, reason: 'expired' });
      }
    });
    this.counted = { entries: checked, bytes };
    return { checked, failures };
  }

  async prune(): Promise<{ removed: number; left: VerifyFailure[] }> {
    const { failures, foreignSecret } = await this.verify();
    if (foreignSecret) return { removed: 0, left: [] };
    if (failures.length > 0) await this.options.link.maintain((client) => client.del(failures.map((f) => f.file)));
    return { removed: failures.length, left: [] };
  }

  /** Every entry of the namespace removed (the secret's id too: the namespace starts over). */
  async clear(): Promise<void> {
    await this.scan((client, keys) => client.unlink(keys).then(() => {}));
    await this.options.link.maintain((client) => client.del(this.options.link.key('secret-id')));
    this.foreign = undefined;
    this.counted = { entries: 0, bytes: 0 };
    // The namespace is this secret's again.
    await this.checkSecret();
  }

  async close(): Promise<void> {
    if (this.options.ownsLink) await this.options.link.close();
  }

  /** Every key of the namespace's entries, a batch at a time. */
  private async scan(each: (client: RedisClient, keys: string[]) => Promise<void>): Promise<void> {
    await this.options.link.maintain(async (client) => {
      // SCAN by hand: the client maps bulk strings to Buffers, the cursor included (its
      // scanIterator would compare that Buffer with '0' forever).
      let cursor = '0';
      do {
        const reply = await client.scan(cursor, { MATCH: `${this.entryKey('')}*`, COUNT: 500 });
        cursor = String(reply.cursor);
        const batch = (reply.keys as Array<string | Buffer>).map(String);
        if (batch.length > 0) await each(client, batch);
      } while (cursor !== '0');
    });
  }

  /** Best effort: a bad entry goes; if Redis is unwell it stays unserved. */
  private remove(key: string): void {
    void this.delete(key).catch(() => {});
  }

  /** Claims the namespace for this secret, or finds it another's (then stays out of the way). */
  private async checkSecret(): Promise<void> {
    const { link, signer, logger } = this.options;
    const idKey = link.key('secret-id');
    const stored = await link.maintain(async (client) => {
      await client.set(idKey, signer.secretId, { condition: 'NX' });
      return String(await client.get(idKey));
    }, 2_000);
    const owner = signer.ownerOf(stored);
    if (owner === 'previous') await link.maintain((client) => client.set(idKey, signer.secretId));
    const foreign = owner === 'foreign' ? { cacheSecretId: stored, givenSecretId: signer.secretId } : undefined;
    if (foreign && !this.foreign)
      logger.warn(
        { namespace: link.namespace, ...foreign },
        'redis: this namespace was written under another secret: the tier stays out of the way (give every instance the same AGENTPERF_CACHE_SECRET, or another namespace)',
      );
    this.foreign = foreign;
    this.secretKnown = true;
  }
}

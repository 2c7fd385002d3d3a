import { LRUCache } from 'lru-cache';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { cacheEvictionChannel, cacheExpirationChannel, cacheGetChannel, cacheIntegrityChannel, cacheSetChannel, traced } from '../diagnostics.js';
import { rootLogger, type Logger } from '../logger.js';
import type { ProviderResult } from '../providers/types.js';
import { DiskTier, type ForeignSecret, type VerifyFailure } from './disk-tier.js';
import { DEFAULT_CACHE_ROOT, resolveCacheDir } from './path-safety.js';
import { resolveCacheSecrets, type SecretOptions } from './secret.js';

export type CacheTier = 'memory' | 'disk';

/** What a hit returns: the upstream message as it was stored. Shared between hits: read only. */
export type CachedResponse = ProviderResult;

export interface DiskCacheOptions extends Omit<SecretOptions, 'logger'> {
  dir: string;
  /** The cache directory must lie under one of these. Default: ~/.cache/agentperf. */
  allowedRoots?: readonly string[];
  /** Default 100 MiB. */
  maxBytes?: number;
}

export interface ResponseCacheOptions {
  /** Default 64 MiB. */
  memoryMaxBytes?: number;
  /** The disk tier; omit for a memory-only cache (which needs no secret). */
  disk?: DiskCacheOptions;
  /** Default 24 h; agents may override with `cacheTtlMs`. */
  defaultTtlMs?: number;
  /** Larger responses are not cached (counted as `oversize`). Default 4 MiB. */
  maxEntryBytes?: number;
  /** How often expired entries are swept from both tiers. Default 1 min. */
  sweepIntervalMs?: number;
  /** Agents never cached (non-deterministic ones), beside `cacheable: false` in their config. */
  excludedAgents?: readonly string[];
  /** Epoch milliseconds (TTLs outlive the process); injectable for tests. */
  now?: () => number;
  /** Drives the sweep timer; injectable for tests. */
  clock?: Clock;
  logger?: Logger;
}

export interface CacheStats {
  hits: { memory: number; disk: number };
  misses: number;
  hitRate: number;
  sets: number;
  evictions: { memory: number; disk: number };
  expirations: number;
  integrityFailures: number;
  oversize: number;
  memory: { entries: number; bytes: number };
  disk: { entries: number; bytes: number } | undefined;
}

interface MemoryEntry {
  value: CachedResponse;
  expiresAt: number;
}

const MiB = 1024 * 1024;

/**
 * The signed response cache: a byte-bounded LRU in memory in front of an HMAC-signed disk tier.
 * A memory hit only computes the key (the caller does) and looks it up; every disk read is
 * verified. Errors are never cached: only complete successful responses reach `set`.
 */
export class ResponseCache {
  private readonly memory: LRUCache<string, MemoryEntry>;
  private readonly excluded: ReadonlySet<string>;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly maxEntryBytes: number;
  readonly defaultTtlMs: number;
  private sweepTimer: TimerHandle | undefined;
  private readonly counters = { memoryHits: 0, diskHits: 0, misses: 0, sets: 0, memoryEvictions: 0, diskEvictions: 0, expirations: 0, integrityFailures: 0, oversize: 0 };

  private constructor(
    options: ResponseCacheOptions,
    private readonly disk: DiskTier | undefined,
  ) {
    this.now = options.now ?? Date.now;
    this.log = (options.logger ?? rootLogger).child({ component: 'cache' });
    this.maxEntryBytes = options.maxEntryBytes ?? 4 * MiB;
    this.defaultTtlMs = options.defaultTtlMs ?? 24 * 3_600_000;
    this.excluded = new Set(options.excludedAgents ?? []);
    this.memory = new LRUCache<string, MemoryEntry>({
      // Bounded by bytes: each entry's size (its JSON length) is given on set.
      maxSize: options.memoryMaxBytes ?? 64 * MiB,
      dispose: (_entry, _key, reason) => {
        if (reason !== 'evict') return;
        this.counters.memoryEvictions++;
        if (cacheEvictionChannel.hasSubscribers) cacheEvictionChannel.publish({ tier: 'memory' });
      },
    });
    const clock = options.clock ?? systemClock;
    const interval = options.sweepIntervalMs ?? 60_000;
    const sweepThenRearm = () => {
      void this.sweep()
        .catch((error: unknown) => this.log.warn({ err: error }, 'cache sweep failed'))
        .finally(() => {
          if (this.sweepTimer) this.sweepTimer = clock.setTimer(sweepThenRearm, interval);
        });
    };
    this.sweepTimer = clock.setTimer(sweepThenRearm, interval);
  }

  static async open(options: ResponseCacheOptions = {}): Promise<ResponseCache> {
    const logger = (options.logger ?? rootLogger).child({ component: 'cache' });
    let disk: DiskTier | undefined;
    let cache: ResponseCache | undefined;
    if (options.disk) {
      const dir = await resolveCacheDir(options.disk.dir, options.disk.allowedRoots ?? [DEFAULT_CACHE_ROOT]);
      const secrets = await resolveCacheSecrets({ ...options.disk, cacheDir: dir, logger });
      disk = await DiskTier.open({
        dir,
        maxBytes: options.disk.maxBytes ?? 100 * MiB,
        secrets,
        now: options.now ?? Date.now,
        logger,
        onEvent: (event, key, detail) => cache?.onDiskEvent(event, key, detail),
        maxEntryBytes: (options.maxEntryBytes ?? 4 * MiB) + 64 * 1024,
      });
    }
    cache = new ResponseCache(options, disk);
    return cache;
  }

  /** Whether calls of this agent may be cached at all. */
  allows(agentName: string, agentCacheable: boolean): boolean {
    return agentCacheable && !this.excluded.has(agentName);
  }

  /** The hot path: a lookup in memory, no hashing, no verification. Counts only hits. */
  getMemory(key: string): CachedResponse | undefined {
    const entry = this.memory.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.memory.delete(key);
      this.expired('memory');
      return undefined;
    }
    this.counters.memoryHits++;
    return entry.value;
  }

  /** After a memory miss: the disk tier, verified; a hit is promoted to memory. Counts the miss. */
  async getDisk(key: string): Promise<CachedResponse | undefined> {
    const disk = this.disk;
    const read = disk ? await traced(cacheGetChannel, () => ({ tier: 'disk' as const }), () => disk.get(key)) : undefined;
    if (!read) {
      this.counters.misses++;
      return undefined;
    }
    let value: CachedResponse;
    try {
      value = JSON.parse(read.payload.toString('utf8')) as CachedResponse;
    } catch {
      // Signed but unparseable cannot happen unless the writer was broken: treat as integrity.
      this.onDiskEvent('integrity', key, 'payload');
      await this.disk!.delete(key);
      this.counters.misses++;
      return undefined;
    }
    this.counters.diskHits++;
    this.remember(key, value, read.payload.length, read.meta.expiresAt);
    return value;
  }

  /** Stores a complete successful response in both tiers. */
  async set(key: string, value: CachedResponse, ttlMs: number = this.defaultTtlMs): Promise<void> {
    const payload = Buffer.from(JSON.stringify(value), 'utf8');
    if (payload.length > this.maxEntryBytes) {
      this.counters.oversize++;
      return;
    }
    const createdAt = this.now();
    const expiresAt = createdAt + ttlMs;
    this.counters.sets++;
    this.remember(key, value, payload.length, expiresAt);
    const disk = this.disk;
    if (disk) await traced(cacheSetChannel, () => ({ tier: 'disk' as const, bytes: payload.length }), () => disk.set(key, { key, createdAt, expiresAt }, payload));
  }

  /** Removes expired entries from both tiers (also run periodically). */
  async sweep(): Promise<void> {
    const now = this.now();
    for (const [key, entry] of this.memory.entries()) {
      if (entry.expiresAt <= now) {
        this.memory.delete(key);
        this.expired('memory');
      }
    }
    await this.disk?.sweepExpired();
  }

  verify(): Promise<{ checked: number; failures: VerifyFailure[]; foreignSecret?: ForeignSecret }> {
    return this.disk ? this.disk.verifyAll() : Promise.resolve({ checked: 0, failures: [] });
  }

  async prune(): Promise<{ removed: number; left: VerifyFailure[] }> {
    await this.sweep();
    return this.disk ? this.disk.prune() : { removed: 0, left: [] };
  }

  async clear(): Promise<void> {
    this.memory.clear();
    await this.disk?.clear();
  }

  /** Set when the disk tier was written under another secret (it then stays out of the way). */
  foreignSecret(): ForeignSecret | undefined {
    return this.disk?.foreignSecret;
  }

  /** Resolves when the disk index has been reconciled with the directory. */
  async ready(): Promise<void> {
    await this.disk?.reconciled;
  }

  stats(): CacheStats {
    const c = this.counters;
    const hits = c.memoryHits + c.diskHits;
    return {
      hits: { memory: c.memoryHits, disk: c.diskHits },
      misses: c.misses,
      hitRate: hits + c.misses === 0 ? 0 : hits / (hits + c.misses),
      sets: c.sets,
      evictions: { memory: c.memoryEvictions, disk: c.diskEvictions },
      expirations: c.expirations,
      integrityFailures: c.integrityFailures,
      oversize: c.oversize,
      memory: { entries: this.memory.size, bytes: this.memory.calculatedSize },
      disk: this.disk ? { entries: this.disk.entries, bytes: this.disk.bytes } : undefined,
    };
  }

  async close(): Promise<void> {
    this.sweepTimer?.cancel();
    this.sweepTimer = undefined;
    await this.disk?.close();
  }

  private remember(key: string, value: CachedResponse, bytes: number, expiresAt: number): void {
    this.memory.set(key, { value, expiresAt }, { size: Math.max(1, bytes) });
  }

  private expired(tier: CacheTier): void {
    this.counters.expirations++;
    if (cacheExpirationChannel.hasSubscribers) cacheExpirationChannel.publish({ tier });
  }

  private onDiskEvent(event: 'eviction' | 'expiration' | 'integrity', key: string, detail?: string): void {
    if (event === 'eviction') {
      this.counters.diskEvictions++;
      if (cacheEvictionChannel.hasSubscribers) cacheEvictionChannel.publish({ tier: 'disk' });
    } else if (event === 'expiration') this.expired('disk');
    else {
      this.counters.integrityFailures++;
      if (cacheIntegrityChannel.hasSubscribers) cacheIntegrityChannel.publish({ tier: 'disk', reason: detail });
      // The key is not secret; the secret never reaches a log line. Under the cache's own secret
      // (another one is recognised when the cache opens) a failing entry was tampered with.
      this.log.warn({ key, reason: detail }, detail?.startsWith('not-a-file') || detail === 'too-large' ? 'cache entry path holds something that is not an entry: not served, left in place' : 'cache entry failed verification (tampered with or torn): removed, not served');
    }
  }
}

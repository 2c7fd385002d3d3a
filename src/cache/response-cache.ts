import { LRUCache } from 'lru-cache';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { cacheEvictionChannel, cacheExpirationChannel, cacheGetChannel, cacheIntegrityChannel, cacheSetChannel, traced } from '../diagnostics.js';
import { rootLogger, type Logger } from '../logger.js';
import type { ProviderResult } from '../providers/types.js';
import { DiskTier } from './disk-tier.js';
import { DEFAULT_CACHE_ROOT, resolveCacheDir } from './path-safety.js';
import { resolveCacheSecrets, type SecretOptions } from './secret.js';
import { EntrySigner } from './signing.js';
import type { CacheTier, ForeignSecret, TierContext, TierEvent, TierStats, TierVerification, VerifyFailure } from './tier.js';

export type { CacheTier };

/** What a hit returns: the upstream message as it was stored. Shared between hits: read only. */
export type CachedResponse = ProviderResult;

export interface DiskCacheOptions extends Omit<SecretOptions, 'logger'> {
  dir: string;
  /** The cache directory must lie under one of these. Default: ~/.cache/agentperf. */
  allowedRoots?: readonly string[];
  /** Default 100 MiB. */
  maxBytes?: number;
}

/** Makes a shared tier, given the cache's signer and where to report its evictions, expirations and integrity failures. */
export type TierFactory = (context: TierContext) => Promise<CacheTier>;

export interface ResponseCacheOptions {
  /** Default 64 MiB. */
  memoryMaxBytes?: number;
  /** The disk tier, the first shared tier; omit for none (a memory-only cache needs no secret). */
  disk?: DiskCacheOptions;
  /** More shared tiers, read after the disk tier in this order. */
  tiers?: readonly TierFactory[];
  /** Where the signing secret comes from when there is no disk tier (with one, its options say). */
  secret?: Omit<SecretOptions, 'logger' | 'cacheDir'>;
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
  /** Hits by tier: `memory`, then each shared tier by name. */
  hits: Record<string, number>;
  misses: number;
  hitRate: number;
  sets: number;
  /** Evictions by tier, as `hits`. */
  evictions: Record<string, number>;
  expirations: number;
  integrityFailures: number;
  oversize: number;
  /** Shared-tier reads and writes that threw or timed out, by tier (a failed read counts as a miss). */
  tierErrors: Record<string, number>;
  memory: { entries: number; bytes: number };
  /** Each shared tier, in the order they are read. */
  tiers: Array<TierStats & { name: string }>;
}

interface MemoryEntry {
  value: CachedResponse;
  expiresAt: number;
}

const MiB = 1024 * 1024;

/** Larger responses are not cached by default. */
export const DEFAULT_MAX_ENTRY_BYTES = 4 * MiB;

/**
 * The signed response cache: a byte-bounded LRU in memory in front of an ordered list of shared
 * tiers (the HMAC-signed disk tier today), read through in order, a hit promoted to memory,
 * every write through to all of them. A memory hit only computes the key (the caller does) and
 * looks it up; every shared-tier read is verified by the tier. A tier read that throws or takes
 * longer than the tier's `readTimeoutMs` is a miss, counted (`tierErrors`) and logged, never a
 * failed call. Errors are never cached: only complete successful responses reach `set`.
 */
export class ResponseCache {
  private readonly memory: LRUCache<string, MemoryEntry>;
  private readonly excluded: ReadonlySet<string>;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly maxEntryBytes: number;
  readonly defaultTtlMs: number;
  private sweepTimer: TimerHandle | undefined;
  private readonly counters = { memoryHits: 0, misses: 0, sets: 0, memoryEvictions: 0, expirations: 0, integrityFailures: 0, oversize: 0 };
  /** Per shared tier, by name: hits, evictions, and reads or writes that failed. */
  private readonly tierCounters = new Map<string, { hits: number; evictions: number; errors: number }>();

  private constructor(
    options: ResponseCacheOptions,
    private readonly tiers: readonly CacheTier[],
  ) {
    this.now = options.now ?? Date.now;
    this.log = (options.logger ?? rootLogger).child({ component: 'cache' });
    this.maxEntryBytes = options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
    this.defaultTtlMs = options.defaultTtlMs ?? 24 * 3_600_000;
    this.excluded = new Set(options.excludedAgents ?? []);
    for (const tier of tiers) this.tierCounters.set(tier.name, { hits: 0, evictions: 0, errors: 0 });
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
    const factories: TierFactory[] = [];
    // An entry's payload bound plus room for its header, metadata and tag.
    const encodedBound = (options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES) + 64 * 1024;
    const disk = options.disk;
    // The disk's directory first: a secret file inside it is refused (secret.ts).
    const diskDir = disk && (await resolveCacheDir(disk.dir, disk.allowedRoots ?? [DEFAULT_CACHE_ROOT]));
    if (disk && diskDir) {
      factories.push(({ signer, onEvent }) =>
        DiskTier.open({
          dir: diskDir,
          maxBytes: disk.maxBytes ?? 100 * MiB,
          signer,
          now: options.now ?? Date.now,
          logger,
          onEvent,
          maxEntryBytes: encodedBound,
        }),
      );
    }
    factories.push(...(options.tiers ?? []));
    // eslint-disable-next-line prefer-const -- assigned once, but a tier may report events while it opens, before the cache exists (a const would be in its dead zone)
    let cache: ResponseCache | undefined;
    const tiers: CacheTier[] = [];
    try {
      // One secret, one signer, for every shared tier; a memory-only cache needs none.
      const signer = factories.length === 0 ? undefined : await signerFor(disk ? { ...disk, cacheDir: diskDir, logger } : { ...options.secret, logger });
      for (const make of factories) {
        const index = tiers.length;
        tiers.push(
          await make({
            signer: signer!,
            onEvent: (event, key, detail) => cache?.onTierEvent(tiers[index].name, event, key, detail),
            maxEntryBytes: encodedBound,
          }),
        );
      }
    } catch (error) {
      await Promise.allSettled(tiers.map((tier) => tier.close()));
      throw error;
    }
    const names = tiers.map((tier) => tier.name);
    const twice = names.find((name, i) => name === 'memory' || names.indexOf(name) !== i);
    if (twice !== undefined) {
      await Promise.allSettled(tiers.map((tier) => tier.close()));
      throw new Error(`cache tier names must be unique and not "memory": "${twice}" is used twice`);
    }
    cache = new ResponseCache(options, tiers);
    return cache;
  }

  /** Whether calls of this agent may be cached at all. */
  allows(agentName: string, agentCacheable: boolean): boolean {
    return agentCacheable && !this.excluded.has(agentName);
  }

  /**
   * The hot path: a lookup in memory, no hashing, no verification. Counts only hits.
   * @internal the orchestrator's; use it through `Orchestrator.executeAgent`.
   */
  fromMemory(key: string): CachedResponse | undefined {
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

  /**
   * After a memory miss: the shared tiers in order, each read verified by its tier; a hit is
   * promoted to memory and says which tier answered. Counts the miss when none has it.
   * @internal the orchestrator's; use it through `Orchestrator.executeAgent`.
   */
  async fromTiers(key: string): Promise<{ value: CachedResponse; tier: string } | undefined> {
    for (const tier of this.tiers) {
      const value = await this.fromTier(tier, key);
      if (value) return { value, tier: tier.name };
    }
    this.counters.misses++;
    return undefined;
  }

  /**
   * One shared tier by name (a waiter polling for another instance's answer): a hit is promoted
   * and counted as that tier's; nothing is counted when it is not there (the call's miss was).
   * @internal the orchestrator's single-flight across instances.
   */
  async fromSharedTier(name: string, key: string): Promise<CachedResponse | undefined> {
    const tier = this.tiers.find((t) => t.name === name);
    return tier && this.fromTier(tier, key);
  }

  private async fromTier(tier: CacheTier, key: string): Promise<CachedResponse | undefined> {
    const read = await this.readTier(tier, key);
    if (!read) return undefined;
    let value: CachedResponse;
    try {
      value = JSON.parse(read.payload.toString('utf8')) as CachedResponse;
    } catch {
      // Signed but unparseable cannot happen unless the writer was broken: treat as integrity.
      this.onTierEvent(tier.name, 'integrity', key, 'payload');
      await tier.delete(key);
      return undefined;
    }
    this.tierCounters.get(tier.name)!.hits++;
    this.remember(key, value, read.payload.length, read.meta.expiresAt);
    return value;
  }

  /** Stores a complete successful response in memory and, through, in every shared tier. */
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
    if (this.tiers.length === 1) {
      // One shared tier (the usual disk-only cache): its failure is the caller's to log.
      const tier = this.tiers[0];
      await traced(
        cacheSetChannel,
        () => ({ tier: tier.name, bytes: payload.length }),
        () => tier.set(key, { key, createdAt, expiresAt }, payload),
      );
      return;
    }
    // Several: one that fails costs its own copy, not the others'.
    for (const tier of this.tiers) {
      await traced(
        cacheSetChannel,
        () => ({ tier: tier.name, bytes: payload.length }),
        () => tier.set(key, { key, createdAt, expiresAt }, payload),
      ).catch((error: unknown) => this.tierFailed(tier, 'write', error));
    }
  }

  /** Removes expired entries from every tier (also run periodically). */
  async sweep(): Promise<void> {
    const now = this.now();
    for (const [key, entry] of this.memory.entries()) {
      if (entry.expiresAt <= now) {
        this.memory.delete(key);
        this.expired('memory');
      }
    }
    for (const tier of this.tiers) await tier.sweep();
  }

  /** Every shared tier's entries read and verified (the first tier's foreign secret, if any, reported). */
  async verify(): Promise<TierVerification> {
    const out: TierVerification = { checked: 0, failures: [] };
    for (const tier of this.tiers) {
      const result = await tier.verify();
      out.checked += result.checked;
      out.failures.push(...result.failures);
      if (result.foreignSecret && !out.foreignSecret) out.foreignSecret = result.foreignSecret;
    }
    return out;
  }

  async prune(): Promise<{ removed: number; left: VerifyFailure[] }> {
    await this.sweep();
    const out = { removed: 0, left: [] as VerifyFailure[] };
    for (const tier of this.tiers) {
      const result = await tier.prune();
      out.removed += result.removed;
      out.left.push(...result.left);
    }
    return out;
  }

  async clear(): Promise<void> {
    this.memory.clear();
    for (const tier of this.tiers) await tier.clear();
  }

  /** Set when a shared tier was written under another secret (it then stays out of the way). */
  foreignSecret(): ForeignSecret | undefined {
    return this.tiers.find((tier) => tier.foreignSecret)?.foreignSecret;
  }

  /** Resolves when every shared tier answers from all it holds (the disk tier: its index reconciled). */
  async ready(): Promise<void> {
    for (const tier of this.tiers) await tier.ready();
  }

  stats(): CacheStats {
    const c = this.counters;
    const hits: Record<string, number> = { memory: c.memoryHits };
    const evictions: Record<string, number> = { memory: c.memoryEvictions };
    const tierErrors: Record<string, number> = {};
    let allHits = c.memoryHits;
    for (const [name, t] of this.tierCounters) {
      hits[name] = t.hits;
      evictions[name] = t.evictions;
      tierErrors[name] = t.errors;
      allHits += t.hits;
    }
    return {
      hits,
      misses: c.misses,
      hitRate: allHits + c.misses === 0 ? 0 : allHits / (allHits + c.misses),
      sets: c.sets,
      evictions,
      expirations: c.expirations,
      integrityFailures: c.integrityFailures,
      oversize: c.oversize,
      tierErrors,
      memory: { entries: this.memory.size, bytes: this.memory.calculatedSize },
      tiers: this.tiers.map((tier) => ({ name: tier.name, ...tier.stats() })),
    };
  }

  async close(): Promise<void> {
    this.sweepTimer?.cancel();
    this.sweepTimer = undefined;
    for (const tier of this.tiers) await tier.close();
  }

  /** One tier's read, traced; one that throws or outlasts the tier's bound is a miss, counted. */
  private async readTier(tier: CacheTier, key: string) {
    const read = () =>
      traced(
        cacheGetChannel,
        () => ({ tier: tier.name }),
        () => tier.get(key),
      );
    try {
      if (tier.readTimeoutMs === undefined) return await read();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${tier.readTimeoutMs} ms`)), tier.readTimeoutMs);
      });
      try {
        return await Promise.race([read(), late]);
      } finally {
        clearTimeout(timer);
      }
    } catch (error) {
      this.tierFailed(tier, 'read', error);
      return undefined;
    }
  }

  private tierFailed(tier: CacheTier, what: 'read' | 'write', error: unknown): void {
    const counts = this.tierCounters.get(tier.name)!;
    counts.errors++;
    // The first failure and then every hundredth: a tier that is down must not flood the log.
    if (counts.errors === 1 || counts.errors % 100 === 0)
      this.log.warn(
        { err: error, tier: tier.name, failures: counts.errors },
        `cache ${what} from tier ${tier.name} failed: counted as a miss, the call goes on`,
      );
  }

  private remember(key: string, value: CachedResponse, bytes: number, expiresAt: number): void {
    this.memory.set(key, { value, expiresAt }, { size: Math.max(1, bytes) });
  }

  private expired(tier: string): void {
    this.counters.expirations++;
    if (cacheExpirationChannel.hasSubscribers) cacheExpirationChannel.publish({ tier });
  }

  private onTierEvent(tier: string, event: TierEvent, key: string, detail?: string): void {
    if (event === 'eviction') {
      const counts = this.tierCounters.get(tier);
      if (counts) counts.evictions++;
      if (cacheEvictionChannel.hasSubscribers) cacheEvictionChannel.publish({ tier });
    } else if (event === 'expiration') this.expired(tier);
    else {
      this.counters.integrityFailures++;
      if (cacheIntegrityChannel.hasSubscribers) cacheIntegrityChannel.publish({ tier, reason: detail });
      // The key is not secret; the secret never reaches a log line. Under the cache's own secret
      // (another one is recognised when the cache opens) a failing entry was tampered with.
      this.log.warn(
        { key, tier, reason: detail },
        detail?.startsWith('not-a-file') || detail === 'too-large'
          ? 'cache entry path holds something that is not an entry: not served, left in place'
          : 'cache entry failed verification (tampered with or torn): removed, not served',
      );
    }
  }
}

async function signerFor(options: SecretOptions): Promise<EntrySigner> {
  const secrets = await resolveCacheSecrets(options);
  return new EntrySigner(secrets.current, secrets.previous);
}

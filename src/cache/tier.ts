/**
 * A shared cache tier: one of the tiers behind memory (disk today; a shared one such as Redis
 * next), read through in order by ResponseCache. A tier stores signed entries (entry-format.ts)
 * and verifies every one it reads, so whoever can write to its store still cannot make the
 * cache serve an answer it did not store. Tiers are named by strings everywhere: metrics
 * (`tier="disk"`), stats, reports and the `cache` command.
 */
import type { DecodeFailure, EntryMeta } from './entry-format.js';
import type { EntrySigner } from './signing.js';
import type { RedisLinkStats } from '../redis/link.js';

/** An entry a tier read and verified: its payload (the response's JSON) and its signed metadata. */
export interface TierRead {
  payload: Buffer;
  meta: EntryMeta;
}

export interface VerifyFailure {
  key: string;
  /** Where the entry lives in its tier (a file for the disk tier). */
  file: string;
  /** `not-a-file`: a directory, FIFO, socket or symlink where an entry should be; `too-large`: no entry is that big. */
  reason: DecodeFailure | 'expired' | 'bad-name' | 'not-a-file' | 'too-large';
  /** What it is, for `not-a-file`. */
  detail?: string;
}

/** The tier was written under another secret than the one given (it then stays out of the way). */
export interface ForeignSecret {
  /** The id of the secret the tier was written under, and of the one given. */
  cacheSecretId: string;
  givenSecretId: string;
}

export interface TierVerification {
  checked: number;
  failures: VerifyFailure[];
  foreignSecret?: ForeignSecret;
}

/** A tier's size, and for a tier over the network its connection's state and counts. */
export interface TierStats {
  entries: number;
  bytes: number;
  link?: RedisLinkStats;
}

/** What a tier tells the cache as it works (the cache counts each, by the tier's name). */
export type TierEvent = 'eviction' | 'expiration' | 'integrity';

/** What the cache gives a tier as it opens it: the one signer of every tier, and where to report. */
export interface TierContext {
  /** Signs and verifies entries (entry-format.ts) under the cache's secret; knows the previous one of a rotation. */
  signer: EntrySigner;
  /** Each eviction, expiry and integrity failure (the cache counts them under the tier's name). */
  onEvent: (event: TierEvent, key: string, detail?: string) => void;
  /** The largest entry the cache writes, encoded (its payload bound plus room for the header and tag): a larger one read is not the cache's. */
  maxEntryBytes: number;
}

export interface CacheTier {
  /** How metrics, stats and reports name it (`disk`). */
  readonly name: string;
  /** A read that takes longer counts as a miss (and is counted); undefined: no bound (the disk tier). */
  readonly readTimeoutMs?: number;
  /** Set when the tier holds entries written under another secret: it then serves, writes and deletes nothing. */
  readonly foreignSecret?: ForeignSecret;
  /** A verified entry, or undefined (missing, expired, or failed verification: reported through the tier's events). */
  get(key: string): Promise<TierRead | undefined>;
  set(key: string, meta: EntryMeta, payload: Buffer): Promise<void>;
  delete(key: string): Promise<void>;
  /** Removes expired entries; how many. */
  sweep(): Promise<number>;
  stats(): TierStats;
  /** Reads and verifies every entry. */
  verify(): Promise<TierVerification>;
  /** Removes what fails verification; what it could not remove. */
  prune(): Promise<{ removed: number; left: VerifyFailure[] }>;
  clear(): Promise<void>;
  /** Resolves when the tier answers from all it holds (the disk tier: its index reconciled with the directory). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

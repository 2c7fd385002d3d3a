import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CachePathError } from '../errors.js';
import type { Logger } from '../logger.js';
import { describeNonFile, readEntryFile } from './entry-file.js';
import { describeFsError } from './path-safety.js';
import { decodeEntry, encodeEntry, type EntryMeta } from './entry-format.js';
import { decodeIndex, encodeIndex } from './index-file.js';
import type { EntrySigner } from './signing.js';
import type { CacheTier, ForeignSecret, TierEvent, TierRead, TierVerification, VerifyFailure } from './tier.js';

const KEY_PATTERN = /^[0-9a-f]{64}$/;
const SHARD_PATTERN = /^[0-9a-f]{2}$/;
// A temp file older than this was left by a writer that died mid-write.
const STALE_TEMP_MS = 10 * 60_000;
/** The file naming the secret the cache was written under (an HMAC of a constant, not the secret). */
const SECRET_ID_FILE = 'secret-id';

interface IndexEntry {
  /** Order of the last write or read in this process: the scan only forgets older entries. */
  seq: number;
  size: number;
  /** Epoch ms of the last read or write: the LRU order, outside the signed bytes. */
  lastAccess: number;
  expiresAt: number;
}

export interface DiskTierOptions {
  dir: string;
  maxBytes: number;
  /** Signs and verifies entries and the index; knows the secret's id and the previous one of a rotation. */
  signer: EntrySigner;
  now: () => number;
  logger: Logger;
  /** Told about each eviction, expiry and integrity failure (the cache counts them). */
  onEvent: (event: TierEvent, key: string, detail?: string) => void;
  /** The largest entry file read, in bytes (a larger file is not an entry this cache wrote). */
  maxEntryBytes?: number;
}

export type { ForeignSecret, VerifyFailure };

const DEFAULT_MAX_ENTRY_BYTES = 4 * 1024 * 1024 + 64 * 1024;

/**
 * One file per entry under `entries/<first two hex chars>/<key>`, written to `tmp/` and renamed
 * into place, so a reader (in this process or another) sees a whole entry or none. Bounded by
 * bytes with LRU by last access.
 *
 * Opening reads only the index snapshot (one signed file, 52 bytes an entry), not every entry;
 * a background scan then adds files other processes wrote and forgets ones they removed.
 *
 * Nothing found on disk is trusted: entries and the index are verified by their HMAC; an entry
 * path holding anything but a regular file is reported and never followed, opened blocking or
 * deleted; `entries/`, `tmp/` and the shards must be real directories inside the cache. A cache
 * written under another secret (its `secret-id` names another) is left alone: not served, not
 * written, not deleted, until the right secret is given or it is cleared on purpose. Only
 * under its own secret is an entry that fails verification tampering, and removed.
 */
export class DiskTier implements CacheTier {
  readonly name = 'disk';
  /** Insertion order is LRU order: a touched entry is moved to the end. */
  private readonly index = new Map<string, IndexEntry>();
  private totalBytes = 0;
  private seq = 0;
  private closed = false;
  /** Shards checked to be real directories in this process (a symlink would lead out of the cache). */
  private readonly shards = new Set<string>();
  private readonly maxEntryBytes: number;
  /** Resolves when the background scan has reconciled the index with the directory. */
  reconciled: Promise<void> = Promise.resolve();
  /** Set when the cache was written under another secret: the tier then stays out of the way. */
  foreignSecret: ForeignSecret | undefined;

  private constructor(private readonly options: DiskTierOptions) {
    this.maxEntryBytes = options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
  }

  static async open(options: DiskTierOptions): Promise<DiskTier> {
    await Promise.all([realDirectory(options.dir, 'entries'), realDirectory(options.dir, 'tmp')]);
    const tier = new DiskTier(options);
    tier.foreignSecret = await tier.checkSecret();
    if (tier.foreignSecret) {
      options.logger.warn(
        { dir: options.dir, ...tier.foreignSecret },
        'the cache was written under another secret: its entries are not served, not replaced and not deleted; give the secret that wrote it (AGENTPERF_CACHE_SECRET), or `agentperf cache clear` to start it over',
      );
      return tier;
    }
    const snapshot = await readFile(join(options.dir, 'index.bin')).catch(() => undefined);
    const loaded = snapshot !== undefined && tier.loadSnapshot(snapshot);
    tier.reconciled = tier.reconcile(loaded).catch((error: unknown) => {
      options.logger.warn({ err: error }, 'cache index reconcile failed');
    });
    return tier;
  }

  /**
   * Which secret the cache was written under. Its `secret-id` file names it; a cache without one
   * (new, or written before the file existed) is judged by a few of its entries: when some
   * exist and none verifies, it was written under another secret. Under the previous secret of
   * a rotation it is this cache's own, and the file is rewritten for the current one.
   */
  private async checkSecret(): Promise<ForeignSecret | undefined> {
    const { signer, dir } = this.options;
    const given = signer.secretId;
    const file = join(dir, SECRET_ID_FILE);
    const stored = await readEntryFile(file, 1024);
    if (stored.kind === 'not-a-file' || stored.kind === 'too-large')
      throw new CachePathError(
        `the cache's ${SECRET_ID_FILE} must be a small regular file (${file} is ${stored.kind === 'too-large' ? 'too large' : stored.what})`,
      );
    if (stored.kind === 'file') {
      const id = stored.bytes.toString('utf8').trim();
      const owner = signer.ownerOf(id);
      if (owner === 'foreign') return { cacheSecretId: id, givenSecretId: given };
      if (owner === 'previous') await this.writeSecretId(given);
      return undefined;
    }
    const sample = (await this.listFiles()).filter((f) => KEY_PATTERN.test(f.key)).slice(0, 5);
    // Only entries that reached the signature check count: a torn file or a directory says
    // nothing about the secret. Another secret's cache: signatures fail, none verifies.
    let signatureFailures = 0;
    let verified = 0;
    for (const { key, file: entry } of sample) {
      const read = await readEntryFile(entry, this.maxEntryBytes);
      if (read.kind !== 'file') continue;
      const decoded = this.decode(read.bytes, key);
      if (decoded.ok) {
        verified++;
        break;
      }
      if (decoded.reason === 'signature') signatureFailures++;
    }
    if (signatureFailures > 0 && verified === 0) return { cacheSecretId: '(unknown: written before the cache recorded its secret)', givenSecretId: given };
    await this.writeSecretId(given);
    return undefined;
  }

  /** An entry's bytes verified and decoded under the current secret, or the previous one of a rotation. */
  private decode(bytes: Buffer, key: string): ReturnType<typeof decodeEntry> {
    return decodeEntry(bytes, key, this.options.signer);
  }

  private async writeSecretId(id: string): Promise<void> {
    const temp = this.tempFile('secret-id');
    await writeFile(temp, `${id}\n`, { mode: 0o600 });
    await rename(temp, join(this.options.dir, SECRET_ID_FILE));
  }

  get bytes(): number {
    return this.totalBytes;
  }

  get entries(): number {
    return this.index.size;
  }

  stats(): { entries: number; bytes: number } {
    return { entries: this.index.size, bytes: this.totalBytes };
  }

  ready(): Promise<void> {
    return this.reconciled;
  }

  async get(key: string): Promise<TierRead | undefined> {
    if (this.foreignSecret) return undefined;
    const file = this.fileFor(key);
    if (!(await this.shardIsReal(key))) {
      this.options.onEvent('integrity', key, 'not-a-file');
      return undefined;
    }
    const read = await readEntryFile(file, this.maxEntryBytes);
    if (read.kind === 'missing') {
      this.forget(key); // removed by another process, or never here
      return undefined;
    }
    if (read.kind !== 'file') {
      // Not an entry, and not this cache's to delete: reported, never served, never followed.
      this.forget(key);
      this.options.onEvent('integrity', key, read.kind === 'too-large' ? 'too-large' : `not-a-file (${read.what})`);
      return undefined;
    }
    const bytes = read.bytes;
    const decoded = this.decode(bytes, key);
    if (!decoded.ok) {
      // Under the cache's own secret (checked at open) a failing entry was tampered with or torn.
      this.options.onEvent('integrity', key, decoded.reason);
      await this.remove(key);
      return undefined;
    }
    const now = this.options.now();
    if (decoded.meta.expiresAt <= now) {
      this.options.onEvent('expiration', key);
      await this.remove(key);
      return undefined;
    }
    this.touch(key, bytes.length, decoded.meta.expiresAt, now);
    if (decoded.signedWithPrevious) {
      // Rotation: re-sign with the current secret so the previous one can be retired.
      void this.write(key, decoded.meta, decoded.payload).catch((error: unknown) => this.options.logger.warn({ err: error, key }, 'cache re-sign failed'));
    }
    return { payload: decoded.payload, meta: decoded.meta };
  }

  async set(key: string, meta: EntryMeta, payload: Buffer): Promise<void> {
    if (this.foreignSecret) return;
    await this.write(key, meta, payload);
    await this.evictToLimit();
  }

  async delete(key: string): Promise<void> {
    await this.remove(key);
  }

  /** Removes every expired entry the index knows of. */
  async sweep(): Promise<number> {
    if (this.foreignSecret) return 0;
    const now = this.options.now();
    const candidates = [...this.index].filter(([, e]) => e.expiresAt <= now).map(([key]) => key);
    let removed = 0;
    for (const key of candidates) {
      // The index says expired; the entry itself decides (an old index put back in place must
      // not delete entries that were refreshed since).
      const read = await readEntryFile(this.fileFor(key), this.maxEntryBytes);
      if (read.kind === 'file') {
        const decoded = this.decode(read.bytes, key);
        if (decoded.ok && decoded.meta.expiresAt > now) {
          const entry = this.index.get(key);
          if (entry) entry.expiresAt = decoded.meta.expiresAt;
          continue;
        }
      } else if (read.kind !== 'missing') {
        this.forget(key); // not an entry: `verify` reports it, nothing here deletes it
        continue;
      }
      this.options.onEvent('expiration', key);
      await this.remove(key);
      removed++;
    }
    return removed;
  }

  /** Reads and verifies every entry file in the directory (not only those in the index). */
  async verify(): Promise<TierVerification> {
    const failures: VerifyFailure[] = [];
    let checked = 0;
    for (const { key, file, notADirectory } of await this.listFiles(true)) {
      checked++;
      if (notADirectory) {
        failures.push({ key, file, reason: 'not-a-file', detail: notADirectory });
        continue;
      }
      if (!KEY_PATTERN.test(key)) {
        // A stray name: reported; only a regular file is the cache's to remove (prune).
        const info = await lstat(file).catch(() => undefined);
        if (info && !info.isFile()) failures.push({ key, file, reason: 'not-a-file', detail: `${describeNonFile(info)} with a name that is not a key` });
        else if (info) failures.push({ key, file, reason: 'bad-name' });
        continue;
      }
      const read = await readEntryFile(file, this.maxEntryBytes);
      if (read.kind === 'missing') continue;
      if (read.kind === 'not-a-file') {
        failures.push({ key, file, reason: 'not-a-file', detail: read.what });
        continue;
      }
      if (read.kind === 'too-large') {
        failures.push({ key, file, reason: 'too-large', detail: `${read.size} bytes` });
        continue;
      }
      const bytes = read.bytes;
      const decoded = this.decode(bytes, key);
      if (!decoded.ok) failures.push({ key, file, reason: decoded.reason });
      else if (decoded.meta.expiresAt <= this.options.now()) failures.push({ key, file, reason: 'expired' });
    }
    return { checked, failures, ...(this.foreignSecret ? { foreignSecret: this.foreignSecret } : {}) };
  }

  /**
   * Removes expired and unverifiable entries and stale temp files. Never under another secret
   * (every entry would fail, and be lost), and never what is not a file: a directory or a FIFO
   * in an entry's place is reported by `verify` and left for a person to look at.
   */
  async prune(): Promise<{ removed: number; left: VerifyFailure[] }> {
    if (this.foreignSecret)
      throw new CachePathError(
        `the cache at ${this.options.dir} was written under another secret (${this.foreignSecret.cacheSecretId}, not ${this.foreignSecret.givenSecretId}): pruning would delete every entry. Give the secret that wrote it, or \`agentperf cache clear\` to start it over`,
      );
    const { failures } = await this.verify();
    // Never what is not a file, and never an entry only too large for today's limit (it may be
    // valid under a larger one): both are reported by verify and left.
    const kept = (f: VerifyFailure) => f.reason === 'not-a-file' || f.reason === 'too-large';
    const removable = failures.filter((f) => !kept(f));
    for (const failure of removable) {
      this.options.onEvent(failure.reason === 'expired' ? 'expiration' : 'integrity', failure.key, failure.reason);
      await unlinkQuietly(failure.file);
      this.forget(failure.key);
    }
    await this.removeStaleTemps(0);
    return { removed: removable.length, left: failures.filter(kept) };
  }

  /** Removes every entry, under any secret (asked for by name: `agentperf cache clear`); the cache is then this secret's. */
  async clear(): Promise<void> {
    await rm(join(this.options.dir, 'entries'), { recursive: true, force: true });
    await rm(join(this.options.dir, 'index.bin'), { force: true });
    await realDirectory(this.options.dir, 'entries');
    this.shards.clear();
    this.index.clear();
    this.totalBytes = 0;
    await this.writeSecretId(this.options.signer.secretId);
    this.foreignSecret = undefined;
  }

  /** Writes the index snapshot atomically (so the next open is fast). */
  async saveIndex(): Promise<void> {
    if (this.foreignSecret) return;
    const records = (function* (index: Map<string, IndexEntry>) {
      for (const [key, entry] of index) yield { key, size: entry.size, lastAccess: entry.lastAccess, expiresAt: entry.expiresAt };
    })(this.index);
    const buffer = encodeIndex(records, this.index.size, this.options.signer);
    const temp = this.tempFile('index');
    try {
      await writeFile(temp, buffer, { mode: 0o600 });
      await rename(temp, join(this.options.dir, 'index.bin'));
    } catch (error) {
      // A full disk leaves half a temp file: not left behind.
      await unlinkQuietly(temp);
      throw error;
    }
  }

  /**
   * Saves the index, best-effort: the index only makes the next open fast (it is rebuilt from
   * the entries when missing), so a read-only, full or broken cache disk costs a warning here,
   * never the answer a command already has.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.reconciled;
    await this.saveIndex().catch((error: unknown) =>
      this.options.logger.warn(
        { err: error, dir: this.options.dir },
        `the cache index could not be saved (${(error as NodeJS.ErrnoException).code ?? 'error'}); the next open rebuilds it from the entries`,
      ),
    );
  }

  private fileFor(key: string): string {
    // File names come only from hex keys: nothing a caller says can become a path.
    if (!KEY_PATTERN.test(key)) throw new Error(`cache key must be 64 hex characters, got ${JSON.stringify(key.slice(0, 80))}`);
    return join(this.options.dir, 'entries', key.slice(0, 2), key);
  }

  private tempFile(label: string): string {
    return join(this.options.dir, 'tmp', `${label}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  }

  private async write(key: string, meta: EntryMeta, payload: Buffer): Promise<void> {
    const file = this.fileFor(key);
    if (!(await this.shardIsReal(key)))
      throw new CachePathError(
        `the cache's shard ${join(this.options.dir, 'entries', key.slice(0, 2))} is not a directory inside the cache (a symlink?): nothing is written through it`,
      );
    const existing = await lstat(file).catch(() => undefined);
    if (existing && !existing.isFile()) {
      // A directory or a FIFO in the entry's place is not the cache's to replace: left for `verify`.
      this.options.logger.warn({ key, file }, 'cache entry path holds something that is not a file: not written');
      return;
    }
    const bytes = encodeEntry(meta, payload, this.options.signer);
    const temp = this.tempFile(key.slice(0, 16));
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(bytes);
    } catch (error) {
      // A full disk (ENOSPC) leaves half an entry in tmp/: not left behind.
      await handle.close();
      await unlinkQuietly(temp);
      throw error;
    }
    await handle.close();
    try {
      await rename(temp, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        await unlinkQuietly(temp);
        throw error;
      }
      await realDirectory(join(this.options.dir, 'entries'), key.slice(0, 2));
      this.shards.add(key.slice(0, 2));
      await rename(temp, file);
    }
    this.touch(key, bytes.length, meta.expiresAt, this.options.now());
  }

  private async evictToLimit(): Promise<void> {
    while (this.totalBytes > this.options.maxBytes && this.index.size > 0) {
      const oldest = this.index.keys().next().value as string;
      this.options.onEvent('eviction', oldest);
      await this.remove(oldest);
    }
  }

  private async remove(key: string): Promise<void> {
    this.forget(key);
    await unlinkQuietly(this.fileFor(key));
  }

  private touch(key: string, size: number, expiresAt: number, now: number): void {
    this.forget(key);
    this.index.set(key, { seq: ++this.seq, size, lastAccess: now, expiresAt });
    this.totalBytes += size;
  }

  private forget(key: string): void {
    const entry = this.index.get(key);
    if (!entry) return;
    this.index.delete(key);
    this.totalBytes -= entry.size;
  }

  /**
   * Every name under `entries/`. Shards that are not real directories (a symlink out of the
   * cache, a file) are never entered; with `withStrays` they are listed as such.
   */
  private async listFiles(withStrays = false): Promise<Array<{ key: string; file: string; notADirectory?: string }>> {
    const root = join(this.options.dir, 'entries');
    const files: Array<{ key: string; file: string; notADirectory?: string }> = [];
    for (const shard of await readdir(root, { withFileTypes: true }).catch(() => [])) {
      const path = join(root, shard.name);
      if (!shard.isDirectory() || !SHARD_PATTERN.test(shard.name)) {
        if (withStrays)
          files.push({
            key: shard.name,
            file: path,
            notADirectory: shard.isSymbolicLink()
              ? 'a symlink where a shard directory should be'
              : shard.isDirectory()
                ? 'a directory that is not a shard'
                : 'not a shard directory',
          });
        continue;
      }
      for (const name of await readdir(path).catch(() => [] as string[])) files.push({ key: name, file: join(path, name) });
    }
    return files;
  }

  /** Whether the key's shard is a real directory (or not there yet): never a symlink out of the cache. */
  private async shardIsReal(key: string): Promise<boolean> {
    const shard = key.slice(0, 2);
    if (this.shards.has(shard)) return true;
    const info = await lstat(join(this.options.dir, 'entries', shard)).catch(() => undefined);
    if (info && !info.isDirectory()) return false;
    if (info) this.shards.add(shard);
    return true;
  }

  /** Brings the index in line with the directory, then enforces the byte limit. */
  private async reconcile(snapshotLoaded: boolean): Promise<void> {
    // Entries written or read after this point are known to exist; the listing below may have
    // missed them (their shard listed before they were written), so they are never forgotten.
    const scanStartSeq = this.seq;
    await this.removeStaleTemps(STALE_TEMP_MS);
    const onDisk = new Set<string>();
    for (const { key, file } of await this.listFiles()) {
      if (this.closed && snapshotLoaded) return;
      if (!KEY_PATTERN.test(key)) continue;
      onDisk.add(key);
      if (this.index.has(key)) continue;
      try {
        const info = await lstat(file);
        if (!info.isFile()) continue; // not an entry: `verify` reports it
        // Unknown expiry until read: keep it, the read or the sweep will decide.
        if (this.index.has(key)) continue; // written while we were stat-ing
        this.index.set(key, { seq: 0, size: info.size, lastAccess: info.mtimeMs, expiresAt: Number.POSITIVE_INFINITY });
        this.totalBytes += info.size;
      } catch {
        // removed meanwhile
      }
    }
    for (const [key, entry] of [...this.index]) if (entry.seq <= scanStartSeq && !onDisk.has(key)) this.forget(key);
    await this.evictToLimit();
  }

  private async removeStaleTemps(olderThanMs: number): Promise<void> {
    const dir = join(this.options.dir, 'tmp');
    const now = Date.now();
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const file = join(dir, name);
      const info = await stat(file).catch(() => undefined);
      if (info && now - info.mtimeMs >= olderThanMs) await unlinkQuietly(file);
    }
  }

  /**
   * Fills the index from a snapshot; false when it is missing, torn, unsigned (an older
   * format), signed with no secret this cache knows, or holding a record no writer makes: the
   * scan then rebuilds the index from the files themselves, and no entry is lost to it.
   */
  private loadSnapshot(buffer: Buffer): boolean {
    const read = decodeIndex(buffer, this.maxEntryBytes, this.options.signer);
    if (!read.ok) {
      this.options.logger.warn({ dir: this.options.dir, reason: read.reason }, 'cache index not used (rebuilt from the directory)');
      return false;
    }
    for (const r of read.records) {
      this.index.set(r.key, { seq: 0, size: r.size, lastAccess: r.lastAccess, expiresAt: r.expiresAt });
      this.totalBytes += r.size;
    }
    return true;
  }
}

/**
 * `parent/name` as a real directory (mode 0700), created when missing. A symlink there would
 * lead entries out of the cache, and a file there makes the cache unusable: both are refused
 * with AP_ERR_CACHE_PATH, as are names the file system cannot hold, never a stack trace.
 */
async function realDirectory(parent: string, name: string): Promise<void> {
  const path = join(parent, name);
  try {
    await mkdir(path, { mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') throw new CachePathError(`cannot create the cache directory ${JSON.stringify(path)}: ${describeFsError(error)}`);
  }
  const info = await lstat(path).catch((error: unknown) => {
    throw new CachePathError(`cannot use the cache directory ${JSON.stringify(path)}: ${describeFsError(error)}`);
  });
  if (info.isSymbolicLink()) throw new CachePathError(`the cache's ${name}/ must be a directory inside the cache, not a symlink (${JSON.stringify(path)})`);
  if (!info.isDirectory()) throw new CachePathError(`the cache's ${name}/ must be a directory, and ${JSON.stringify(path)} is a file in the way`);
}

async function unlinkQuietly(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (error) {
    // Another process removed it first: fine.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

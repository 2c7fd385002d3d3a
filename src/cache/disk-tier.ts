import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import { decodeEntry, encodeEntry, type DecodeFailure, type EntryMeta } from './entry-format.js';
import type { CacheSecrets } from './secret.js';

const KEY_PATTERN = /^[0-9a-f]{64}$/;
// Index snapshot record: raw key (32) + size (uint32) + last access (float64) + expiry (float64).
const INDEX_MAGIC = 'APX1';
const INDEX_RECORD_BYTES = 32 + 4 + 8 + 8;
// A temp file older than this was left by a writer that died mid-write.
const STALE_TEMP_MS = 10 * 60_000;

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
  secrets: CacheSecrets;
  now: () => number;
  logger: Logger;
  /** Told about each eviction, expiry and integrity failure (the cache counts them). */
  onEvent: (event: 'eviction' | 'expiration' | 'integrity', key: string, detail?: string) => void;
}

export type DiskRead = { payload: Buffer; meta: EntryMeta } | undefined;

export interface VerifyFailure {
  key: string;
  file: string;
  reason: DecodeFailure | 'expired' | 'bad-name';
}

/**
 * One file per entry under `entries/<first two hex chars>/<key>`, written to `tmp/` and renamed
 * into place, so a reader (in this process or another) sees a whole entry or none. Bounded by
 * bytes with LRU by last access.
 *
 * Opening reads only the index snapshot (one file, 52 bytes an entry), not every entry; a
 * background scan then adds files other processes wrote and forgets ones they removed.
 */
export class DiskTier {
  /** Insertion order is LRU order: a touched entry is moved to the end. */
  private readonly index = new Map<string, IndexEntry>();
  private totalBytes = 0;
  private seq = 0;
  private closed = false;
  /** Resolves when the background scan has reconciled the index with the directory. */
  reconciled: Promise<void> = Promise.resolve();

  private constructor(private readonly options: DiskTierOptions) {}

  static async open(options: DiskTierOptions): Promise<DiskTier> {
    await Promise.all([mkdir(join(options.dir, 'entries'), { recursive: true, mode: 0o700 }), mkdir(join(options.dir, 'tmp'), { recursive: true, mode: 0o700 })]);
    const tier = new DiskTier(options);
    const snapshot = await readFile(join(options.dir, 'index.bin')).catch(() => undefined);
    const loaded = snapshot !== undefined && tier.loadSnapshot(snapshot);
    tier.reconciled = tier.reconcile(loaded).catch((error: unknown) => {
      options.logger.warn({ err: error }, 'cache index reconcile failed');
    });
    return tier;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  get entries(): number {
    return this.index.size;
  }

  async get(key: string): Promise<DiskRead> {
    const file = this.fileFor(key);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        this.forget(key); // removed by another process, or never here
        return undefined;
      }
      throw error;
    }
    const decoded = decodeEntry(bytes, key, this.options.secrets.current, this.options.secrets.previous);
    if (!decoded.ok) {
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
    await this.write(key, meta, payload);
    await this.evictToLimit();
  }

  async delete(key: string): Promise<void> {
    await this.remove(key);
  }

  /** Removes every expired entry the index knows of. */
  async sweepExpired(): Promise<number> {
    const now = this.options.now();
    const expired = [...this.index].filter(([, e]) => e.expiresAt <= now).map(([key]) => key);
    for (const key of expired) {
      this.options.onEvent('expiration', key);
      await this.remove(key);
    }
    return expired.length;
  }

  /** Reads and verifies every entry file in the directory (not only those in the index). */
  async verifyAll(): Promise<{ checked: number; failures: VerifyFailure[] }> {
    const failures: VerifyFailure[] = [];
    let checked = 0;
    for (const { key, file } of await this.listFiles()) {
      checked++;
      if (!KEY_PATTERN.test(key)) {
        failures.push({ key, file, reason: 'bad-name' });
        continue;
      }
      let bytes: Buffer;
      try {
        bytes = await readFile(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      const decoded = decodeEntry(bytes, key, this.options.secrets.current, this.options.secrets.previous);
      if (!decoded.ok) failures.push({ key, file, reason: decoded.reason });
      else if (decoded.meta.expiresAt <= this.options.now()) failures.push({ key, file, reason: 'expired' });
    }
    return { checked, failures };
  }

  /** Removes expired and unverifiable entries and stale temp files. */
  async prune(): Promise<{ removed: number }> {
    const { failures } = await this.verifyAll();
    for (const failure of failures) {
      this.options.onEvent(failure.reason === 'expired' ? 'expiration' : 'integrity', failure.key, failure.reason);
      await unlinkQuietly(failure.file);
      this.forget(failure.key);
    }
    await this.removeStaleTemps(0);
    return { removed: failures.length };
  }

  async clear(): Promise<void> {
    await rm(join(this.options.dir, 'entries'), { recursive: true, force: true });
    await rm(join(this.options.dir, 'index.bin'), { force: true });
    await mkdir(join(this.options.dir, 'entries'), { recursive: true, mode: 0o700 });
    this.index.clear();
    this.totalBytes = 0;
  }

  /** Writes the index snapshot atomically (so the next open is fast). */
  async saveIndex(): Promise<void> {
    const buffer = Buffer.alloc(8 + this.index.size * INDEX_RECORD_BYTES);
    buffer.write(INDEX_MAGIC, 0, 'latin1');
    buffer.writeUInt32BE(this.index.size, 4);
    let offset = 8;
    for (const [key, entry] of this.index) {
      buffer.write(key, offset, 32, 'hex');
      buffer.writeUInt32BE(entry.size, offset + 32);
      buffer.writeDoubleBE(entry.lastAccess, offset + 36);
      buffer.writeDoubleBE(entry.expiresAt, offset + 44);
      offset += INDEX_RECORD_BYTES;
    }
    const temp = this.tempFile('index');
    await writeFile(temp, buffer, { mode: 0o600 });
    await rename(temp, join(this.options.dir, 'index.bin'));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.reconciled;
    await this.saveIndex();
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
    const bytes = encodeEntry(meta, payload, this.options.secrets.current);
    const temp = this.tempFile(key.slice(0, 16));
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(bytes);
    } finally {
      await handle.close();
    }
    try {
      await rename(temp, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await mkdir(join(this.options.dir, 'entries', key.slice(0, 2)), { recursive: true, mode: 0o700 });
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

  private async listFiles(): Promise<Array<{ key: string; file: string }>> {
    const root = join(this.options.dir, 'entries');
    const files: Array<{ key: string; file: string }> = [];
    for (const shard of await readdir(root).catch(() => [] as string[])) {
      for (const name of await readdir(join(root, shard)).catch(() => [] as string[])) files.push({ key: name, file: join(root, shard, name) });
    }
    return files;
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
        const info = await stat(file);
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

  /** Fills the index from a snapshot; false when it is missing or torn (the scan rebuilds it). */
  private loadSnapshot(buffer: Buffer): boolean {
    if (buffer.length < 8 || buffer.toString('latin1', 0, 4) !== INDEX_MAGIC) return false;
    const count = buffer.readUInt32BE(4);
    if (buffer.length !== 8 + count * INDEX_RECORD_BYTES) return false;
    for (let offset = 8; offset < buffer.length; offset += INDEX_RECORD_BYTES) {
      const size = buffer.readUInt32BE(offset + 32);
      this.index.set(buffer.toString('hex', offset, offset + 32), { seq: 0, size, lastAccess: buffer.readDoubleBE(offset + 36), expiresAt: buffer.readDoubleBE(offset + 44) });
      this.totalBytes += size;
    }
    return true;
  }
}

async function unlinkQuietly(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (error) {
    // Another process removed it first: fine.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

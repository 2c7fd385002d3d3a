import { MAC_BYTES, type EntrySigner } from './signing.js';

/**
 * The disk tier's index snapshot (`index.bin`): what makes opening a large cache fast. It is
 * signed like the entries, because it drives deletions: an entry's size decides evictions and
 * its expiry decides the sweep, so an index with every size set to 0xffffffff would "evict"
 * every valid entry. An index that fails its signature, or holds a record no writer produces,
 * is not used at all; the directory scan rebuilds it from the files themselves.
 *
 *   "APX2" | count (uint32 BE) | count × record | HMAC-SHA256 of everything before (32 bytes)
 *   record: raw key (32) | size (uint32 BE) | last access (float64 BE) | expiry (float64 BE)
 */
const MAGIC = 'APX2';
const RECORD_BYTES = 32 + 4 + 8 + 8;

export interface IndexRecord {
  key: string;
  size: number;
  lastAccess: number;
  expiresAt: number;
}

export type IndexRead = { ok: true; records: IndexRecord[]; signedWithPrevious: boolean } | { ok: false; reason: 'torn' | 'signature' | 'record' };

export function encodeIndex(records: Iterable<IndexRecord>, count: number, signer: EntrySigner): Buffer {
  const body = Buffer.alloc(8 + count * RECORD_BYTES);
  body.write(MAGIC, 0, 'latin1');
  body.writeUInt32BE(count, 4);
  let offset = 8;
  for (const r of records) {
    body.write(r.key, offset, 32, 'hex');
    body.writeUInt32BE(r.size, offset + 32);
    body.writeDoubleBE(r.lastAccess, offset + 36);
    body.writeDoubleBE(r.expiresAt, offset + 44);
    offset += RECORD_BYTES;
  }
  return signer.sign(body);
}

/**
 * Verifies and reads an index. Even a signed record must look like one a writer makes (a size
 * no larger than `maxEntryBytes`, finite times): a bug or a secret that leaked must still not
 * turn the index into a way to delete entries.
 */
export function decodeIndex(buffer: Buffer, maxEntryBytes: number, signer: EntrySigner): IndexRead {
  if (buffer.length < 8 + MAC_BYTES || buffer.toString('latin1', 0, 4) !== MAGIC) return { ok: false, reason: 'torn' };
  const count = buffer.readUInt32BE(4);
  if (buffer.length !== 8 + count * RECORD_BYTES + MAC_BYTES) return { ok: false, reason: 'torn' };
  const verified = signer.verify(buffer);
  if (!verified) return { ok: false, reason: 'signature' };
  const { body, signedWithPrevious } = verified;
  const records: IndexRecord[] = [];
  for (let offset = 8; offset < body.length; offset += RECORD_BYTES) {
    const record = {
      key: body.toString('hex', offset, offset + 32),
      size: body.readUInt32BE(offset + 32),
      lastAccess: body.readDoubleBE(offset + 36),
      expiresAt: body.readDoubleBE(offset + 44),
    };
    const sane =
      record.size > 0 &&
      record.size <= maxEntryBytes &&
      Number.isFinite(record.lastAccess) &&
      record.lastAccess >= 0 &&
      (Number.isFinite(record.expiresAt) || record.expiresAt === Number.POSITIVE_INFINITY) &&
      record.expiresAt > 0;
    if (!sane) return { ok: false, reason: 'record' };
    records.push(record);
  }
  return { ok: true, records, signedWithPrevious };
}

import { MAC_BYTES, type EntrySigner } from './signing.js';

/**
 * One cache entry, as every shared tier stores it (a file for the disk tier, a value for a
 * shared store):
 *
 *   "APC" | format version (1 byte) | metadata length (uint32 BE) | metadata JSON | payload | HMAC-SHA256 (32 bytes)
 *
 * The HMAC covers every byte before it: the version, the metadata (key, createdAt, expiresAt)
 * and the payload. Nothing mutable (hit counts, last access) is in the file; those live in the
 * index. Bumping FORMAT_VERSION makes every old entry a 'version' failure.
 */
export const FORMAT_VERSION = 1;
const MAGIC = Buffer.from('APC', 'latin1');
const HEADER_BYTES = 8;

export interface EntryMeta {
  key: string;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms; never served at or after it. */
  expiresAt: number;
}

export type DecodeFailure = 'truncated' | 'signature' | 'version' | 'metadata' | 'key-mismatch';

export type Decoded = { ok: true; meta: EntryMeta; payload: Buffer; signedWithPrevious: boolean } | { ok: false; reason: DecodeFailure };

export function encodeEntry(meta: EntryMeta, payload: Buffer, signer: EntrySigner): Buffer {
  const metaBytes = Buffer.from(JSON.stringify({ key: meta.key, createdAt: meta.createdAt, expiresAt: meta.expiresAt }), 'utf8');
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt8(FORMAT_VERSION, 3);
  header.writeUInt32BE(metaBytes.length, 4);
  const body = Buffer.concat([header, metaBytes, payload]);
  return signer.sign(body);
}

/**
 * Verifies and decodes an entry a tier read. The signature is checked first, with a
 * constant-time compare, against the current secret and then the previous one; only a signed
 * entry is parsed further. The stored key must equal the key it was read under, so a valid
 * entry copied to another key's file name is refused too.
 */
export function decodeEntry(bytes: Buffer, expectedKey: string, signer: EntrySigner): Decoded {
  if (bytes.length < HEADER_BYTES + MAC_BYTES) return { ok: false, reason: 'truncated' };
  const verified = signer.verify(bytes);
  if (!verified) return { ok: false, reason: 'signature' };
  const { body, signedWithPrevious } = verified;
  if (!body.subarray(0, 3).equals(MAGIC) || body.readUInt8(3) !== FORMAT_VERSION) return { ok: false, reason: 'version' };
  const metaLength = body.readUInt32BE(4);
  if (HEADER_BYTES + metaLength > body.length) return { ok: false, reason: 'metadata' };
  let meta: EntryMeta;
  try {
    meta = JSON.parse(body.subarray(HEADER_BYTES, HEADER_BYTES + metaLength).toString('utf8')) as EntryMeta;
  } catch {
    return { ok: false, reason: 'metadata' };
  }
  if (typeof meta.key !== 'string' || typeof meta.createdAt !== 'number' || typeof meta.expiresAt !== 'number') return { ok: false, reason: 'metadata' };
  if (meta.key !== expectedKey) return { ok: false, reason: 'key-mismatch' };
  return { ok: true, meta, payload: body.subarray(HEADER_BYTES + metaLength), signedWithPrevious };
}

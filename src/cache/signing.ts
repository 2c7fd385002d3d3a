import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The one way the disk cache signs what it writes (entries and the index): HMAC-SHA256 over
 * every byte, appended; verified in constant time under the current secret, then the previous
 * one of a rotation.
 */
export const MAC_BYTES = 32;

const mac = (secret: Buffer, body: Buffer) => createHmac('sha256', secret).update(body).digest();

/** `body` with its tag appended. */
export function signed(body: Buffer, secret: Buffer): Buffer {
  return Buffer.concat([body, mac(secret, body)]);
}

/** The signed body when the tag verifies under either secret; undefined otherwise. `buffer` must hold at least MAC_BYTES. */
export function verifySigned(buffer: Buffer, current: Buffer, previous?: Buffer): { body: Buffer; signedWithPrevious: boolean } | undefined {
  const body = buffer.subarray(0, buffer.length - MAC_BYTES);
  const tag = buffer.subarray(buffer.length - MAC_BYTES);
  if (timingSafeEqual(mac(current, body), tag)) return { body, signedWithPrevious: false };
  if (previous && timingSafeEqual(mac(previous, body), tag)) return { body, signedWithPrevious: true };
  return undefined;
}

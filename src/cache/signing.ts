import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The one way every shared cache tier signs what it stores (entries, and the disk tier's
 * index): HMAC-SHA256 over every byte, appended, verified in constant time under the current
 * secret, then the previous one of a rotation. A tier gets its signer from the cache
 * (TierContext), so a new tier (Redis) signs and rotates exactly as the disk tier does.
 */
export const MAC_BYTES = 32;

const mac = (secret: Buffer, body: Buffer) => createHmac('sha256', secret).update(body).digest();

/**
 * A name for a secret that does not reveal it: a tier stores it beside its entries, so that a
 * store written under another secret is recognised as such instead of being taken for tampered.
 */
export function secretId(secret: Buffer): string {
  return createHmac('sha256', secret).update('agentperf cache secret id v1').digest('hex').slice(0, 32);
}

/** Whose a stored secret id is: this signer's secret, the previous one of a rotation, or another. */
export type SecretOwner = 'current' | 'previous' | 'foreign';

export class EntrySigner {
  /** The id of the current secret, which a tier stores beside its entries. */
  readonly secretId: string;
  private readonly previousId: string | undefined;

  constructor(
    private readonly current: Buffer,
    /** Still verifies what was signed before a rotation; a tier re-signs such entries when read. */
    private readonly previous?: Buffer,
  ) {
    this.secretId = secretId(current);
    this.previousId = previous && secretId(previous);
  }

  /** `body` with its tag appended, under the current secret. */
  sign(body: Buffer): Buffer {
    return Buffer.concat([body, mac(this.current, body)]);
  }

  /** The signed body when the tag verifies under either secret; undefined otherwise. `buffer` must hold at least MAC_BYTES. */
  verify(buffer: Buffer): { body: Buffer; signedWithPrevious: boolean } | undefined {
    const body = buffer.subarray(0, buffer.length - MAC_BYTES);
    const tag = buffer.subarray(buffer.length - MAC_BYTES);
    if (timingSafeEqual(mac(this.current, body), tag)) return { body, signedWithPrevious: false };
    if (this.previous && timingSafeEqual(mac(this.previous, body), tag)) return { body, signedWithPrevious: true };
    return undefined;
  }

  /** Whose secret a tier's stored id names (`previous`: the tier is this cache's; rewrite the id). */
  ownerOf(storedId: string): SecretOwner {
    if (storedId === this.secretId) return 'current';
    return storedId === this.previousId ? 'previous' : 'foreign';
  }
}

import * as hdr from 'hdr-histogram-js';

/** The number of values in an encoded histogram. */
export function decodeCount(encoded: string): number {
  const h = hdr.decodeFromCompressedBase64(encoded, 32, true);
  const count = h.totalCount;
  h.destroy();
  return count;
}

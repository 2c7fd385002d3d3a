/**
 * How long the server asked us to wait, in ms: `retry-after-ms` (Anthropic's, milliseconds)
 * first, then `retry-after` as seconds or an HTTP date. Undefined when absent or unreadable.
 */
export function parseRetryAfterMs(get: (name: string) => string | null | undefined, nowEpochMs: number = Date.now()): number | undefined {
  const ms = get('retry-after-ms');
  if (ms != null && ms !== '') {
    const value = Number(ms);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  const header = get('retry-after');
  if (header == null || header === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  if (Number.isFinite(date)) return Math.max(0, date - nowEpochMs);
  return undefined;
}

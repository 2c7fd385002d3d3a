import { UsageError } from './errors.js';

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** `250ms`, `30s`, `2m`, `1h` or a bare number of seconds, to milliseconds. */
export function parseDurationMs(field: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new UsageError(field, `${field} must be a duration such as 500ms, 30s, 2m or 1h, got ${JSON.stringify(text)}`);
  return Number(match[1]) * DURATION_UNITS[match[2] ?? 's'];
}

export function parseIntegerOption(field: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new UsageError(field, `${field} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return value;
}

export function parseNumberOption(field: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < min || value > max)
    throw new UsageError(field, `${field} must be a number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return value;
}

const BYTE_UNITS: Record<string, number> = { b: 1, kb: 1024, kib: 1024, mb: 1024 ** 2, mib: 1024 ** 2 };

/** `65536`, `64kb` or `1mb` (binary units), to bytes. */
export function parseBytes(field: string, text: string, min: number, max: number): number {
  const match = /^(\d+)\s*(b|kb|kib|mb|mib)?$/i.exec(text.trim());
  const value = match ? Number(match[1]) * BYTE_UNITS[(match[2] ?? 'b').toLowerCase()] : Number.NaN;
  if (!Number.isFinite(value) || value < min || value > max)
    throw new UsageError(field, `${field} must be a size from ${min} to ${max} bytes such as 65536, 64kb or 1mb, got ${JSON.stringify(text)}`);
  return value;
}

/** A sampling interval (`1ms`, `100us`, `500µs`), to whole microseconds. */
export function parseIntervalUs(field: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(us|µs|ms)$/.exec(text.trim());
  const us = match ? Number(match[1]) * (match[2] === 'ms' ? 1000 : 1) : Number.NaN;
  if (!Number.isFinite(us) || us < 10 || us > 1_000_000 || !Number.isInteger(Math.round(us)))
    throw new UsageError(field, `${field} must be an interval from 10us to 1000ms such as 1ms or 100us, got ${JSON.stringify(text)}`);
  return Math.round(us);
}

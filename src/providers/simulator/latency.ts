import { UsageError } from '../../errors.js';
import { mulberry32, normalFrom } from '../../random.js';

/** How long the simulator takes before it answers, in milliseconds. */
export type LatencyModel =
  | { kind: 'fixed'; ms: number }
  | { kind: 'uniform'; minMs: number; maxMs: number }
  /** Log-normal fitted to a median and a 99th percentile, as real API latency roughly is. */
  | { kind: 'lognormal'; medianMs: number; p99Ms: number };

export interface LatencySettings {
  model: LatencyModel;
  /** Added per output token, as generation time grows with the answer. */
  perOutputTokenMs: number;
}

export const ZERO_LATENCY: LatencySettings = { model: { kind: 'fixed', ms: 0 }, perOutputTokenMs: 0 };

// z for the 99th percentile of the standard normal distribution.
const Z_99 = 2.3263478740408408;

export function sampleLatencyMs(settings: LatencySettings, random: () => number, outputTokens: number): number {
  const m = settings.model;
  let base: number;
  switch (m.kind) {
    case 'fixed':
      base = m.ms;
      break;
    case 'uniform':
      base = m.minMs + random() * (m.maxMs - m.minMs);
      break;
    case 'lognormal': {
      const mu = Math.log(m.medianMs);
      const sigma = (Math.log(m.p99Ms) - mu) / Z_99;
      base = Math.exp(mu + sigma * normalFrom(random));
      break;
    }
  }
  return base + settings.perOutputTokenMs * outputTokens;
}

/**
 * The latency of one request: drawn from the shared sequence (arrival order decides), or from
 * the request's own hash (`request`: the same request always takes the same time).
 */
export function requestLatencyMs(
  settings: LatencySettings,
  from: 'sequence' | 'request',
  sequence: () => number,
  requestSeed: number,
  seed: number,
  outputTokens: number,
): number {
  const random = from === 'request' ? mulberry32(requestSeed ^ seed) : sequence;
  return sampleLatencyMs(settings, random, outputTokens);
}

/**
 * Parses `fixed:50`, `uniform:20-80` or `lognormal:40,400` (median, p99), each optionally
 * followed by `+0.2/token`.
 */
export function parseLatency(spec: string, field = 'latency'): LatencySettings {
  const bad = () =>
    new UsageError(field, `${field} must look like fixed:MS, uniform:MIN-MAX or lognormal:MEDIAN,P99 with an optional +MS/token, got ${JSON.stringify(spec)}`);
  const match = /^(fixed|uniform|lognormal):([0-9.,-]+)(?:\+([0-9.]+)\/token)?$/.exec(spec.trim());
  if (!match) throw bad();
  const [, kind, args, perToken] = match;
  const nums = args.split(/[,-]/).map(Number);
  if (nums.some((n) => !Number.isFinite(n) || n < 0)) throw bad();
  const perOutputTokenMs = perToken === undefined ? 0 : Number(perToken);
  if (kind === 'fixed' && nums.length === 1) return { model: { kind, ms: nums[0] }, perOutputTokenMs };
  if (kind === 'uniform' && nums.length === 2 && nums[0] <= nums[1]) return { model: { kind, minMs: nums[0], maxMs: nums[1] }, perOutputTokenMs };
  if (kind === 'lognormal' && nums.length === 2 && nums[0] > 0 && nums[1] >= nums[0])
    return { model: { kind, medianMs: nums[0], p99Ms: nums[1] }, perOutputTokenMs };
  throw bad();
}

/** Every latency `factor` times longer (the self-test's stand-in for a slower upstream). */
export function scaleLatency(settings: LatencySettings, factor: number): LatencySettings {
  const m = settings.model;
  const model: LatencyModel =
    m.kind === 'fixed'
      ? { kind: 'fixed', ms: m.ms * factor }
      : m.kind === 'uniform'
        ? { kind: 'uniform', minMs: m.minMs * factor, maxMs: m.maxMs * factor }
        : { kind: 'lognormal', medianMs: m.medianMs * factor, p99Ms: m.p99Ms * factor };
  return { model, perOutputTokenMs: settings.perOutputTokenMs * factor };
}

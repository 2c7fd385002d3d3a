import { median } from '../stats/percentiles.js';

/**
 * The gate's statistics. Every metric is turned into a *regression ratio*: above 1 is worse
 * (candidate / baseline for latencies and memory, baseline / candidate for throughput).
 * Intervals are percentile bootstraps (seeded); `pBeyond` is the bootstrap's one-sided
 * p-value for "the regression is larger than the tolerance": the share of resamples at or
 * under 1 + tolerance.
 */
export interface RatioEstimate {
  ratio: number;
  low: number;
  high: number;
  /** Share of bootstrap ratios at or below 1 + tolerance: small means a credible regression. */
  pBeyond: number;
}

function summarize(ratios: Float64Array, estimate: number, tolerance: number, confidence: number): RatioEstimate {
  ratios.sort();
  const n = ratios.length;
  const at = (q: number) => ratios[Math.min(n - 1, Math.max(0, Math.floor(q * n)))]!;
  let within = 0;
  for (const r of ratios) if (r <= 1 + tolerance) within++;
  return { ratio: estimate, low: at((1 - confidence) / 2), high: at((1 + confidence) / 2), pBeyond: (within + 1) / (n + 1) };
}

/** Independent samples (stored baseline blocks against fresh candidate blocks): ratio of medians. */
export function unpairedRatio(baseline: readonly number[], candidate: readonly number[], higherIsWorse: boolean, tolerance: number, confidence: number, random: () => number, resamples = 4_000): RatioEstimate {
  const ratioOf = (b: number, c: number) => (higherIsWorse ? c / b : b / c);
  const out = new Float64Array(resamples);
  const sb = new Array<number>(baseline.length);
  const sc = new Array<number>(candidate.length);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < baseline.length; i++) sb[i] = baseline[Math.floor(random() * baseline.length)]!;
    for (let i = 0; i < candidate.length; i++) sc[i] = candidate[Math.floor(random() * candidate.length)]!;
    out[r] = ratioOf(median(sb), median(sc));
  }
  return summarize(out, ratioOf(median(baseline), median(candidate)), tolerance, confidence);
}

/** Paired blocks (ABBA): the median of the per-pair log-ratios, back to a ratio. */
export function pairedRatio(baseline: readonly number[], candidate: readonly number[], higherIsWorse: boolean, tolerance: number, confidence: number, random: () => number, resamples = 4_000): RatioEstimate {
  if (baseline.length !== candidate.length) throw new RangeError('paired samples must have the same length');
  const logs = baseline.map((b, i) => (higherIsWorse ? Math.log(candidate[i]! / b) : Math.log(b / candidate[i]!)));
  const out = new Float64Array(resamples);
  const s = new Array<number>(logs.length);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < logs.length; i++) s[i] = logs[Math.floor(random() * logs.length)]!;
    out[r] = Math.exp(median(s));
  }
  return summarize(out, Math.exp(median(logs)), tolerance, confidence);
}

/**
 * Holm's step-down correction: which of `pValues` are rejected at family-wise level `alpha`.
 * Sorted ascending, the k-th (from 0) is rejected while p <= alpha / (m - k).
 */
export function holm(pValues: readonly number[], alpha: number): boolean[] {
  const order = pValues.map((p, i) => ({ p, i })).sort((a, b) => a.p - b.p);
  const rejected = new Array<boolean>(pValues.length).fill(false);
  for (let k = 0; k < order.length; k++) {
    if (order[k]!.p > alpha / (order.length - k)) break;
    rejected[order[k]!.i] = true;
  }
  return rejected;
}

/** P(X >= x) for X ~ Poisson(lambda): the chance of at least `x` errors at the allowed rate. */
export function poissonUpperTail(x: number, lambda: number): number {
  if (x <= 0) return 1;
  if (lambda <= 0) return 0;
  if (x > 1000) {
    // Normal approximation with continuity correction, past where the sum is slow.
    const z = (x - 0.5 - lambda) / Math.sqrt(lambda);
    return 0.5 * erfc(z / Math.SQRT2);
  }
  let term = Math.exp(-lambda);
  let below = term;
  for (let k = 1; k < x; k++) {
    term *= lambda / k;
    below += term;
  }
  return Math.max(0, 1 - below);
}

/** The Wilson score interval's upper bound for a proportion (x successes in n). */
export function wilsonUpper(x: number, n: number, z = 1.959963984540054): number {
  if (n === 0) return 1;
  const p = x / n;
  const z2 = z * z;
  return (p + z2 / (2 * n) + z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
}

/** Complementary error function (Numerical Recipes' erfcc, |error| < 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}

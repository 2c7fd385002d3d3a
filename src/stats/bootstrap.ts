import { median } from './percentiles.js';

export interface Interval {
  estimate: number;
  low: number;
  high: number;
  confidence: number;
}

/**
 * A percentile-bootstrap confidence interval for the median of `values` (Efron & Tibshirani,
 * "An Introduction to the Bootstrap", ch. 13): resample with replacement, take each resample's
 * median, and read the (1-c)/2 and (1+c)/2 quantiles of those medians. Seeded, so a figure in
 * the README comes out the same from the same samples.
 */
export function bootstrapMedianInterval(values: readonly number[], confidence: number, random: () => number, resamples = 2_000): Interval {
  if (values.length === 0) return { estimate: NaN, low: NaN, high: NaN, confidence };
  const medians = new Float64Array(resamples);
  const sample = new Array<number>(values.length);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < values.length; i++) sample[i] = values[Math.floor(random() * values.length)]!;
    medians[r] = median(sample);
  }
  medians.sort();
  const at = (q: number) => medians[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))]!;
  return { estimate: median(values), low: at((1 - confidence) / 2), high: at((1 + confidence) / 2), confidence };
}

/**
 * The bootstrap interval of the median of paired ratios, as a change in %: `sign` 1 for
 * "higher is worse" (100 * (r - 1)), -1 for "lower is worse" such as throughput (100 * (1 - r)).
 */
export function percentChangeInterval(ratios: readonly number[], sign: 1 | -1, random: () => number, confidence = 0.95): Interval {
  const interval = bootstrapMedianInterval(ratios, confidence, random);
  const f = (r: number) => sign * (r - 1) * 100;
  const [a, b] = [f(interval.low), f(interval.high)];
  return { estimate: f(interval.estimate), low: Math.min(a, b), high: Math.max(a, b), confidence };
}

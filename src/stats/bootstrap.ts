import { median } from './percentiles.js';

/**
 * Kept for comparison only (test/stats/coverage.test.ts, `bench intervals`): it over-claims with
 * the few blocks a gate has, and no verdict or figure uses it any more.
 *
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
  const at = (q: number) => medians[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))];
  return { estimate: median(values), low: at((1 - confidence) / 2), high: at((1 + confidence) / 2), confidence };
}

/** An estimate with its interval, in the units of the figure it describes. */
export interface Interval {
  estimate: number;
  low: number;
  high: number;
  confidence: number;
}

/**
 * `agentperf bench intervals`: the coverage of each interval method at each sample count, by
 * simulation against known noise (normal, heavy-tailed, skewed, contaminated), the evidence for
 * `MINIMUM_SAMPLES` and for the methods the gate uses. The true change is known, so a 95%
 * interval that contains it less than 95% of the time over-claims.
 */
import { mulberry32 } from '../random.js';
import { MINIMUM_SAMPLES } from '../stats/compare.js';
import { NOISES, pairedCoverage, unpairedCoverage, type CoverageRow } from '../stats/coverage.js';

export interface IntervalsBenchOptions {
  trials: number;
  seed: number;
}

export const DEFAULT_INTERVALS_BENCH: IntervalsBenchOptions = { trials: 2000, seed: 1 };

/** Pairs for the paired methods; candidate blocks against this many stored ones for the unpaired. */
export const PAIRED_COUNTS = [2, 3, 4, 5, 6, 8, 12];
export const UNPAIRED_CASES: ReadonlyArray<readonly [number, number]> = [
  [9, 2],
  [9, 3],
  [9, 5],
  [5, 5],
  [9, 9],
];

export interface IntervalsBenchResult {
  options: IntervalsBenchOptions;
  rows: CoverageRow[];
  minimumSamples: typeof MINIMUM_SAMPLES;
  /** The nominal 95% less three standard errors of the simulation at this many trials. */
  floor: number;
  elapsedMs: number;
}

export function benchIntervals(options: IntervalsBenchOptions = DEFAULT_INTERVALS_BENCH): IntervalsBenchResult {
  const started = performance.now();
  const random = mulberry32(options.seed);
  const rows: CoverageRow[] = [];
  for (const noise of NOISES) {
    for (const n of PAIRED_COUNTS) rows.push(...pairedCoverage(noise, n, options.trials, random));
    for (const [m, n] of UNPAIRED_CASES) rows.push(...unpairedCoverage(noise, m, n, options.trials, random));
  }
  const floor = 0.95 - 3 * Math.sqrt((0.95 * 0.05) / options.trials);
  return { options, rows, minimumSamples: MINIMUM_SAMPLES, floor, elapsedMs: performance.now() - started };
}

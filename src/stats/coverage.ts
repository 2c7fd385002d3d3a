/**
 * How often each interval method's 95% interval contains the true change, by simulation, at
 * each sample count and for several kinds of block-to-block noise: what `MINIMUM_SAMPLES` in
 * compare.ts rests on (test/stats/coverage.test.ts checks it; `agentperf bench intervals`
 * prints the whole table).
 */
import { normalFrom } from '../random.js';
import { bootstrapMedianInterval } from './bootstrap.js';
import { compareUnpaired, pairedLogRatios, type Comparison } from './compare.js';

/** Noise of one block's log value: a draw from a source of uniform randoms. */
export interface Noise {
  name: string;
  draw(random: () => number): number;
}

const SCALE = 0.05; // 5% block-to-block noise, about what a quiet 2-core machine gives

export const NOISES: readonly Noise[] = [
  { name: 'normal', draw: (r) => SCALE * normalFrom(r) },
  {
    name: 'Student t, 3 df (heavy tails)',
    draw: (r) => (SCALE * normalFrom(r)) / Math.sqrt((normalFrom(r) ** 2 + normalFrom(r) ** 2 + normalFrom(r) ** 2) / 3),
  },
  { name: 'Laplace', draw: (r) => SCALE * (r() < 0.5 ? 1 : -1) * Math.log(1 - r()) },
  { name: 'contaminated: 1 block in 10 disturbed 6x', draw: (r) => (r() < 0.1 ? 6 : 1) * SCALE * normalFrom(r) },
  { name: 'skewed: slowdowns only (exponential)', draw: (r) => -SCALE * Math.log(1 - r()) },
];

export type SimulatedMethod = 'paired-t' | 'paired bootstrap of the median' | 'mann-whitney' | 'unpaired bootstrap of medians';

export interface CoverageRow {
  method: SimulatedMethod;
  noise: string;
  /** Pairs, or candidate blocks against `baselineBlocks` stored ones. */
  n: number;
  baselineBlocks?: number;
  coverage: number;
  /** Trials in which the method itself declined to conclude (too few samples, a degenerate interval). */
  unusable: number;
  trials: number;
}

const covers = (c: { low: number; high: number }, truth: number) => c.low <= truth && truth <= c.high;

/** Coverage of the paired methods at `n` pairs, the true change `truth` on the log scale. */
export function pairedCoverage(noise: Noise, n: number, trials: number, random: () => number, truth = 0.1): CoverageRow[] {
  let t = 0;
  let tUnusable = 0;
  let boot = 0;
  for (let k = 0; k < trials; k++) {
    // Each pair: the same drift on both sides (it cancels), each side its own noise.
    const logRatios = Array.from({ length: n }, () => truth + noise.draw(random) - noise.draw(random));
    const c: Comparison = pairedLogRatios(logRatios);
    if (c.unusable) tUnusable++;
    else if (covers(c, truth)) t++;
    if (covers(bootstrapMedianInterval(logRatios, 0.95, random, 400), truth)) boot++;
  }
  return [
    { method: 'paired-t', noise: noise.name, n, coverage: t / (trials - tUnusable || 1), unusable: tUnusable, trials },
    { method: 'paired bootstrap of the median', noise: noise.name, n, coverage: boot / trials, unusable: 0, trials },
  ];
}

/** Coverage of the unpaired methods: `m` stored blocks against `n` candidate blocks shifted by `truth`. */
export function unpairedCoverage(noise: Noise, m: number, n: number, trials: number, random: () => number, truth = 0.1): CoverageRow[] {
  let mw = 0;
  let mwUnusable = 0;
  let boot = 0;
  for (let k = 0; k < trials; k++) {
    const baseline = Array.from({ length: m }, () => Math.exp(noise.draw(random)));
    const candidate = Array.from({ length: n }, () => Math.exp(truth + noise.draw(random)));
    const c = compareUnpaired(baseline, candidate);
    if (c.unusable) mwUnusable++;
    else if (covers(c, truth)) mw++;
    if (covers(bootstrapRatioOfMedians(baseline, candidate, random), truth)) boot++;
  }
  return [
    { method: 'mann-whitney', noise: noise.name, n, baselineBlocks: m, coverage: mw / (trials - mwUnusable || 1), unusable: mwUnusable, trials },
    { method: 'unpaired bootstrap of medians', noise: noise.name, n, baselineBlocks: m, coverage: boot / trials, unusable: 0, trials },
  ];
}

/** The method the gate used before: a percentile bootstrap of log(median(candidate) / median(baseline)). */
function bootstrapRatioOfMedians(
  baseline: readonly number[],
  candidate: readonly number[],
  random: () => number,
  resamples = 400,
): { low: number; high: number } {
  const med = (v: number[]) => {
    v.sort((a, b) => a - b);
    return v.length % 2 ? v[v.length >> 1] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  };
  const out = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    const b = Array.from({ length: baseline.length }, () => baseline[Math.floor(random() * baseline.length)]);
    const c = Array.from({ length: candidate.length }, () => candidate[Math.floor(random() * candidate.length)]);
    out[r] = Math.log(med(c) / med(b));
  }
  out.sort();
  return { low: out[Math.floor(0.025 * resamples)], high: out[Math.min(resamples - 1, Math.floor(0.975 * resamples))] };
}

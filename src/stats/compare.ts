/**
 * The two comparisons every verdict and benchmark figure rests on, on the log scale (a change
 * of 0.1 is a ratio of e^0.1, 10.5% more):
 *
 * - **paired** (ABBA blocks, or on/off slices of one process): Student's t interval of the mean
 *   log-ratio. Under the same noise on both sides a pair's difference is symmetric about the
 *   true change, which is where the t interval keeps its coverage, heavy tails included;
 * - **unpaired** (a stored baseline against fresh candidate blocks): the Hodges-Lehmann shift
 *   with its exact Mann-Whitney interval, which holds for any noise distribution under a shift.
 *
 * Each method's coverage at each sample count was measured by simulation against normal,
 * heavy-tailed and skewed noise (test/stats/coverage.test.ts, the table in the README); below
 * `minimumSamples` a comparison reports itself as too small, and no verdict is drawn from it.
 */
import { erfc } from './counts.js';
import { normalQuantile, studentTCdf, studentTQuantile } from './distributions.js';

export type ComparisonMethod = 'paired-t' | 'mann-whitney';

export interface Comparison {
  method: ComparisonMethod;
  /** Pairs (paired) or candidate samples (unpaired). */
  n: number;
  /** Baseline samples (unpaired only). */
  m?: number;
  /** The change, log(candidate / baseline): positive means the candidate's values are larger. */
  estimate: number;
  low: number;
  high: number;
  confidence: number;
  /** One-sided p-value of "the candidate's values are no larger than the baseline's". */
  pLarger: number;
  /** One-sided p-value of "the candidate's values are no smaller". */
  pSmaller: number;
  /**
   * Why no conclusion may be drawn, when none may: too few samples for the method's stated
   * coverage, or an interval of zero width (identical samples, which noise never produces).
   */
  unusable?: string;
}

/**
 * The smallest sample counts at which each method's 95% interval covers the true change at
 * least 94% of the time (the nominal 95% less the simulation's own error) for every noise
 * distribution simulated, at that count and every larger one. Measured by
 * test/stats/coverage.test.ts, which fails if they stop holding. (The t interval of 2 pairs has
 * 1 degree of freedom: honest, and far too wide to decide anything but a huge change. The
 * Mann-Whitney interval also needs enough blocks on both sides for an exact bound to exist:
 * `compareUnpaired` says so when it does not.)
 */
export const MINIMUM_SAMPLES: Record<ComparisonMethod, number> = { 'paired-t': 2, 'mann-whitney': 2 };

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/** A paired comparison of `candidate[i]` with `baseline[i]` (positive values: ratios are taken). */
export function comparePaired(baseline: readonly number[], candidate: readonly number[], confidence = 0.95): Comparison {
  if (baseline.length !== candidate.length) throw new RangeError('paired samples must have the same length');
  return pairedLogRatios(
    baseline.map((b, i) => Math.log(candidate[i] / b)),
    confidence,
  );
}

/** The paired t interval of the mean of log-ratios. */
export function pairedLogRatios(logRatios: readonly number[], confidence = 0.95): Comparison {
  const n = logRatios.length;
  const base = { method: 'paired-t' as const, n, confidence };
  if (n < 2) return { ...base, estimate: n ? logRatios[0] : NaN, low: -Infinity, high: Infinity, pLarger: 1, pSmaller: 1, unusable: tooFew('paired-t', n) };
  const m = mean(logRatios);
  const sd = Math.sqrt(logRatios.reduce((s, d) => s + (d - m) ** 2, 0) / (n - 1));
  const se = sd / Math.sqrt(n);
  if (se === 0)
    return {
      ...base,
      estimate: m,
      low: m,
      high: m,
      pLarger: 1,
      pSmaller: 1,
      unusable: 'the samples are identical (a zero-width interval): noise never produces that, so nothing can be concluded from them',
    };
  const t = studentTQuantile(1 - (1 - confidence) / 2, n - 1);
  const statistic = m / se;
  const result: Comparison = {
    ...base,
    estimate: m,
    low: m - t * se,
    high: m + t * se,
    pLarger: 1 - studentTCdf(statistic, n - 1),
    pSmaller: studentTCdf(statistic, n - 1),
  };
  if (n < MINIMUM_SAMPLES['paired-t']) result.unusable = tooFew('paired-t', n);
  return result;
}

function tooFew(method: ComparisonMethod, n: number): string {
  const need = MINIMUM_SAMPLES[method] - n;
  return `need ${need} more ${method === 'paired-t' ? (need === 1 ? 'pair' : 'pairs') : need === 1 ? 'block' : 'blocks'}: the ${method === 'paired-t' ? 'paired t' : 'Mann-Whitney'} interval holds its coverage from ${MINIMUM_SAMPLES[method]}`;
}

/**
 * The number of ways to get each value of the Mann-Whitney U statistic (pairs with the
 * candidate's value larger) from `m` baseline and `n` candidate samples with no ties; the null
 * distribution is these counts over C(m+n, n).
 */
export function mannWhitneyCounts(m: number, n: number): Float64Array {
  // N(i, j)[u]: the ways with i baseline and j candidate samples. The largest of all values is a
  // baseline one (it adds nothing to U) or a candidate one (larger than all i baseline values:
  // it adds i), so N(i, j)[u] = N(i-1, j)[u] + N(i, j-1)[u-i], from N(0, j) = N(i, 0) = [1].
  let previous: Float64Array[] = Array.from({ length: n + 1 }, () => new Float64Array([1]));
  for (let i = 1; i <= m; i++) {
    const current: Float64Array[] = [];
    for (let j = 0; j <= n; j++) {
      const row = new Float64Array(i * j + 1);
      const a = previous[j];
      for (let u = 0; u < a.length; u++) row[u] += a[u];
      if (j > 0) {
        const b = current[j - 1];
        for (let u = 0; u < b.length; u++) row[u + i] += b[u];
      }
      current.push(row);
    }
    previous = current;
  }
  return previous[n];
}

/**
 * Up to this many candidate-baseline pairs (m times n) the Mann-Whitney distribution is counted
 * exactly (about m²n²/4 additions: 25 million, some 50 ms, at the limit); beyond it, the normal
 * approximation with a continuity correction, which is within a rank or two of the exact bound
 * at that size. Without the limit, a baseline of 600,000 blocks would take hours.
 */
export const EXACT_MANN_WHITNEY_PAIRS = 10_000;

/**
 * An unpaired comparison: the Hodges-Lehmann shift of log values (the median of every
 * candidate-minus-baseline difference) with the Mann-Whitney interval, the differences of ranks
 * k and mn+1-k (exact for small samples, the normal approximation beyond
 * `EXACT_MANN_WHITNEY_PAIRS`).
 */
export function compareUnpaired(baseline: readonly number[], candidate: readonly number[], confidence = 0.95): Comparison {
  const m = baseline.length;
  const n = candidate.length;
  const base = { method: 'mann-whitney' as const, n, m, confidence };
  if (m < 1 || n < 1) return { ...base, estimate: NaN, low: -Infinity, high: Infinity, pLarger: 1, pSmaller: 1, unusable: tooFew('mann-whitney', n) };
  const x = baseline.map(Math.log);
  const y = candidate.map(Math.log);
  const total = m * n;
  const differences = new Float64Array(total);
  let above = 0;
  let at = 0;
  for (const yj of y) {
    for (const xi of x) {
      differences[at++] = yj - xi;
      above += yj > xi ? 1 : yj === xi ? 0.5 : 0;
    }
  }
  differences.sort();
  const estimate = total % 2 ? differences[total >> 1] : (differences[total / 2 - 1] + differences[total / 2]) / 2;
  const alpha = 1 - confidence;
  const { k, pAtLeast, pAtMost } = total <= EXACT_MANN_WHITNEY_PAIRS ? exactMannWhitney(m, n, alpha) : approximateMannWhitney(m, n, alpha);
  const result: Comparison = {
    ...base,
    estimate,
    low: k >= 1 ? differences[k - 1] : -Infinity,
    high: k >= 1 ? differences[total - k] : Infinity,
    pLarger: pAtLeast(above),
    pSmaller: pAtMost(above),
  };
  if (k < 1) {
    const more = blocksForBound(m, n, confidence);
    result.unusable = `need ${more} more candidate ${more === 1 ? 'block' : 'blocks'}: ${m} baseline and ${n} candidate blocks cannot bound a shift at ${confidence * 100}%`;
  } else if (n < MINIMUM_SAMPLES['mann-whitney'] || m < MINIMUM_SAMPLES['mann-whitney']) result.unusable = tooFew('mann-whitney', Math.min(m, n));
  else if (result.low === result.high)
    result.unusable = 'the samples are identical (a zero-width interval): noise never produces that, so nothing can be concluded from them';
  return result;
}

interface MannWhitneyBounds {
  /** The rank of the interval's ends: the k-th smallest and largest differences (0: no bound). */
  k: number;
  /** P(U >= u) and P(U <= u) under no shift. */
  pAtLeast: (u: number) => number;
  pAtMost: (u: number) => number;
}

function exactMannWhitney(m: number, n: number, alpha: number): MannWhitneyBounds {
  const counts = mannWhitneyCounts(m, n);
  const all = counts.reduce((a, b) => a + b, 0);
  const cdf = new Float64Array(counts.length);
  let running = 0;
  for (let u = 0; u < counts.length; u++) cdf[u] = running += counts[u] / all;
  // k: the largest with P(U <= k - 1) <= alpha / 2; without one, the data cannot bound the shift.
  let k = 0;
  while (k < counts.length && cdf[k] <= alpha / 2) k++;
  return {
    k,
    pAtLeast: (u) => 1 - (Math.ceil(u) - 1 >= 0 ? cdf[Math.ceil(u) - 1] : 0),
    pAtMost: (u) => cdf[Math.min(counts.length - 1, Math.floor(u))],
  };
}

function approximateMannWhitney(m: number, n: number, alpha: number): MannWhitneyBounds {
  const mean = (m * n) / 2;
  const sd = Math.sqrt((m * n * (m + n + 1)) / 12);
  const z = normalQuantile(1 - alpha / 2);
  return {
    k: Math.max(0, Math.floor(mean - z * sd)),
    pAtLeast: (u) => 0.5 * erfc((u - 0.5 - mean) / sd / Math.SQRT2),
    pAtMost: (u) => 0.5 * erfc(-(u + 0.5 - mean) / sd / Math.SQRT2),
  };
}

/**
 * How many more candidate blocks make a Mann-Whitney bound exist against `m` baseline blocks:
 * the interval exists once the most extreme ordering, P(U = 0) = 1 / C(m + n, n), is rare
 * enough (at most (1 - confidence) / 2).
 */
export function blocksForBound(m: number, n: number, confidence: number): number {
  const needed = Math.log(2 / (1 - confidence));
  for (let more = 1; more < 1000; more++) if (logChoose(m + n + more, n + more) >= needed - 1e-12) return more;
  return Infinity;
}

function logChoose(n: number, k: number): number {
  let sum = 0;
  for (let i = 1; i <= k; i++) sum += Math.log((n - k + i) / i);
  return sum;
}

/** A comparison of log(candidate / baseline) as a change in %: `sign` 1 for "higher is more" (100 (e^x - 1)), -1 for "lower is more" such as throughput lost (100 (1 - e^x)). */
export function changePctOf(c: Comparison, sign: 1 | -1): { estimate: number; low: number; high: number; confidence: number } {
  const f = (x: number) => sign * (Math.exp(x) - 1) * 100;
  const [a, b] = [f(c.low), f(c.high)];
  return { estimate: f(c.estimate), low: Math.min(a, b), high: Math.max(a, b), confidence: c.confidence };
}

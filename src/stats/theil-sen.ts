/**
 * The Theil-Sen estimator: the median of the slopes between every pair of points. It ignores
 * up to 29% of outliers (a GC that ran late, a round that allocated a buffer once), which a
 * least-squares slope does not. The interval is Sen's (1968): from Kendall's S statistic's
 * normal approximation, the ranks of the pairwise slopes that bound the slope.
 */
export interface SlopeEstimate {
  slope: number;
  intercept: number;
  low: number;
  high: number;
  confidence: number;
}

// Two-sided normal quantiles for the confidence levels used here.
const Z: Record<string, number> = { '0.9': 1.6448536269514722, '0.95': 1.959963984540054, '0.99': 2.5758293035489004 };

export function theilSen(x: readonly number[], y: readonly number[], confidence = 0.95): SlopeEstimate {
  if (x.length !== y.length) throw new RangeError('x and y must have the same length');
  const n = x.length;
  if (n < 3) throw new RangeError('a Theil-Sen slope needs at least 3 points');
  const z = Z[String(confidence)];
  if (z === undefined) throw new RangeError(`confidence must be one of ${Object.keys(Z).join(', ')}`);
  const slopes: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (x[j] !== x[i]) slopes.push((y[j] - y[i]) / (x[j] - x[i]));
    }
  }
  slopes.sort((a, b) => a - b);
  const N = slopes.length;
  const slope = medianOfSorted(slopes);
  const intercept = medianOfSorted(y.map((yi, i) => yi - slope * x[i]).sort((a, b) => a - b));
  // Var(S) without ties = n(n-1)(2n+5)/18; the bounds are the slopes of ranks (N - C)/2 and
  // (N + C)/2 + 1 (1-based), clamped to the slopes there are.
  const c = z * Math.sqrt((n * (n - 1) * (2 * n + 5)) / 18);
  const lowRank = Math.max(1, Math.floor((N - c) / 2));
  const highRank = Math.min(N, Math.ceil((N + c) / 2) + 1);
  return { slope, intercept, low: slopes[lowRank - 1], high: slopes[highRank - 1], confidence };
}

function medianOfSorted(values: readonly number[]): number {
  const mid = values.length >> 1;
  return values.length % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

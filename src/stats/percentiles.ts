/**
 * Exact percentiles of a small sample, nearest-rank method (the smallest value with at least
 * p% of the data at or below it), the definition HDR histograms also use.
 */
export function percentile(sortedAscending: readonly number[], p: number): number {
  if (sortedAscending.length === 0) return NaN;
  if (p <= 0) return sortedAscending[0];
  // p/100 * n is not exact in binary (99.9% of 20,000 comes out as 19980.000000000004), and
  // ceil would then skip a rank: allow for the rounding error before taking it.
  const exact = (p / 100) * sortedAscending.length;
  const rank = Math.ceil(exact - 1e-9 * exact);
  return sortedAscending[Math.min(sortedAscending.length, rank) - 1];
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(values: readonly number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? NaN,
    mean,
  };
}

// The count statistics the gate uses beside the interval comparisons (compare.ts): Holm's
// correction across metrics, the Poisson tail and the Wilson bound for error counts.
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

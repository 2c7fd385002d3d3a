// The count statistics the gate uses beside the interval comparisons (compare.ts): Holm's
// correction across metrics, and for error counts the Wilson bounds, Newcombe's interval of a
// difference of two rates, and the exact conditional test of "more errors than the other side".
/**
 * Holm's step-down correction: which of `pValues` are rejected at family-wise level `alpha`.
 * Sorted ascending, the k-th (from 0) is rejected while p <= alpha / (m - k).
 */
export function holm(pValues: readonly number[], alpha: number): boolean[] {
  const order = pValues.map((p, i) => ({ p, i })).sort((a, b) => a.p - b.p);
  const rejected = new Array<boolean>(pValues.length).fill(false);
  for (let k = 0; k < order.length; k++) {
    if (order[k].p > alpha / (order.length - k)) break;
    rejected[order[k].i] = true;
  }
  return rejected;
}

/** The Wilson score interval's upper bound for a proportion (x successes in n). */
export function wilsonUpper(x: number, n: number, z = 1.959963984540054): number {
  if (n === 0) return 1;
  const p = x / n;
  const z2 = z * z;
  return (p + z2 / (2 * n) + z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
}

/** The Wilson score interval's lower bound for a proportion (x successes in n). */
export function wilsonLower(x: number, n: number, z = 1.959963984540054): number {
  if (n === 0 || x <= 0) return 0;
  const p = x / n;
  const z2 = z * z;
  return Math.max(0, (p + z2 / (2 * n) - z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n));
}

/**
 * Newcombe's hybrid score interval (his method 10, Statistics in Medicine 1998) for the
 * difference of two proportions, candidate minus baseline: each side's Wilson interval,
 * combined. It keeps its coverage with few events and with none, where the Wald interval
 * collapses to zero width.
 */
export function rateDifference(
  baseErrors: number,
  baseTotal: number,
  candErrors: number,
  candTotal: number,
  z = 1.959963984540054,
): { estimate: number; low: number; high: number } {
  const pb = baseTotal ? baseErrors / baseTotal : 0;
  const pc = candTotal ? candErrors / candTotal : 0;
  const [lb, ub] = [wilsonLower(baseErrors, baseTotal, z), wilsonUpper(baseErrors, baseTotal, z)];
  const [lc, uc] = [wilsonLower(candErrors, candTotal, z), wilsonUpper(candErrors, candTotal, z)];
  const d = pc - pb;
  return { estimate: d, low: d - Math.sqrt((pc - lc) ** 2 + (ub - pb) ** 2), high: d + Math.sqrt((uc - pc) ** 2 + (pb - lb) ** 2) };
}

/**
 * P(X >= x) for X ~ Binomial(k, q). Exact (summed in log space) up to k = 5,000; beyond, the
 * normal approximation with continuity correction.
 */
export function binomialUpperTail(x: number, k: number, q: number): number {
  if (x <= 0) return 1;
  if (x > k) return 0;
  if (q <= 0) return 0;
  if (q >= 1) return 1;
  if (k > 5000) {
    const z = (x - 0.5 - k * q) / Math.sqrt(k * q * (1 - q));
    return 0.5 * erfc(z / Math.SQRT2);
  }
  // log C(k, j) q^j (1-q)^(k-j), from j = x upward.
  let logTerm = logChoose(k, x) + x * Math.log(q) + (k - x) * Math.log1p(-q);
  let sum = 0;
  for (let j = x; j <= k; j++) {
    sum += Math.exp(logTerm);
    logTerm += Math.log((k - j) / (j + 1)) + Math.log(q) - Math.log1p(-q);
  }
  return Math.min(1, sum);
}

function logChoose(n: number, k: number): number {
  let sum = 0;
  for (let i = 1; i <= k; i++) sum += Math.log((n - k + i) / i);
  return sum;
}

/**
 * The exact conditional test that the candidate's error rate is higher than the baseline's:
 * given the errors of both sides together, under equal rates the candidate's share of them
 * follows Binomial(all errors, its share of the iterations). One-sided p-value.
 */
export function moreErrorsP(baseErrors: number, baseTotal: number, candErrors: number, candTotal: number): number {
  if (baseTotal + candTotal === 0) return 1;
  return binomialUpperTail(candErrors, baseErrors + candErrors, candTotal / (baseTotal + candTotal));
}

/** Complementary error function (Numerical Recipes' erfcc, |error| < 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

import test from 'ava';
import { mulberry32, normalFrom } from '../../src/random.ts';
import { blocksForBound, compareUnpaired, mannWhitneyCounts, pairedLogRatios, comparePaired } from '../../src/stats/compare.ts';

const close = (actual: number, expected: number, tolerance = 1e-4) => Math.abs(actual - expected) <= tolerance;

test('paired: the t interval of the mean log-ratio, worked by hand', (t) => {
  // Log-ratios 0.1, 0.2, 0.3: mean 0.2, sd 0.1, se 0.1/sqrt(3) = 0.057735; t(0.975, 2) = 4.302653,
  // so 0.2 ± 0.248414; t = 3.464102 and P(T2 > 3.464102) = 0.5 - 3.464102 / (2 sqrt(14)) = 0.037090.
  const c = pairedLogRatios([0.1, 0.2, 0.3]);
  t.true(close(c.estimate, 0.2));
  t.true(close(c.low, -0.048414) && close(c.high, 0.448414), `${c.low} ${c.high}`);
  t.true(close(c.pLarger, 0.03709, 1e-5));
  t.true(close(c.pSmaller, 1 - 0.03709, 1e-5));
  t.is(c.unusable, undefined);
  // The same from the raw values: ratios are taken.
  const raw = comparePaired([100, 100, 100], [100 * Math.exp(0.1), 100 * Math.exp(0.2), 100 * Math.exp(0.3)]);
  t.true(close(raw.estimate, 0.2, 1e-12));
});

test('paired: one pair, or identical pairs, conclude nothing', (t) => {
  t.regex(pairedLogRatios([0.1]).unusable ?? '', /need 1 more pair/);
  const same = pairedLogRatios([0.05, 0.05, 0.05, 0.05]);
  t.regex(same.unusable ?? '', /zero-width/);
  t.is(same.pLarger, 1);
});

test("Mann-Whitney: the null distribution's counts match the known table", (t) => {
  // m = n = 3: the 20 orderings give U = 0..9 with these counts; m = 2, n = 4: C(6, 2) = 15.
  t.deepEqual(Array.from(mannWhitneyCounts(3, 3)), [1, 1, 2, 3, 3, 3, 3, 2, 1, 1]);
  t.deepEqual(Array.from(mannWhitneyCounts(2, 4)), [1, 1, 2, 2, 3, 2, 2, 1, 1]);
  t.deepEqual(Array.from(mannWhitneyCounts(4, 0)), [1]);
  t.is(
    mannWhitneyCounts(9, 5).reduce((a, b) => a + b, 0),
    2002,
  );
});

test('unpaired: the Hodges-Lehmann shift and its exact interval, worked by hand', (t) => {
  // Logs of baseline 0, 0.1, 0.2, 0.3 and candidate 0.5, 0.6, 0.7, 0.8: every candidate is larger, U = 16.
  // m = n = 4: P(U <= 0) = 1/70 <= 0.025 < P(U <= 1) = 2/70, so k = 1: [smallest, largest difference] = [0.2, 0.8].
  const e = (xs: number[]) => xs.map(Math.exp);
  const c = compareUnpaired(e([0, 0.1, 0.2, 0.3]), e([0.5, 0.6, 0.7, 0.8]));
  t.true(close(c.estimate, 0.5, 1e-12));
  t.true(close(c.low, 0.2, 1e-12) && close(c.high, 0.8, 1e-12), `${c.low} ${c.high}`);
  t.true(close(c.pLarger, 1 / 70, 1e-12));
  t.is(c.unusable, undefined);
  // 3 against 3 cannot bound a shift at 95% (P(U = 0) = 1/C(6, 3) = 1/20 > 0.025), nor 3 against 4
  // (1/35); 3 against 5 can (1/56): it says it needs 2 more.
  const small = compareUnpaired(e([0, 0.1, 0.2]), e([0.5, 0.6, 0.7]));
  t.regex(small.unusable ?? '', /need 2 more candidate blocks/);
  t.is(blocksForBound(3, 3, 0.95), 2);
  t.is(blocksForBound(9, 1, 0.95), 1);
});

test('beyond the exact limit the Mann-Whitney interval comes from the normal approximation: close to the exact one at the limit, and fast at any size', (t) => {
  // 100 x 100 pairs: the exact count and the approximation, on the same data, bound the same shift.
  const random = mulberry32(7);
  const base = Array.from({ length: 100 }, () => Math.exp(0.05 * normalFrom(random)));
  const cand = Array.from({ length: 100 }, () => 1.1 * Math.exp(0.05 * normalFrom(random)));
  const exact = compareUnpaired(base, cand);
  const approximate = compareUnpaired(base, [...cand, cand[0]]);
  t.is(exact.method, 'mann-whitney');
  t.true(
    Math.abs(exact.low - approximate.low) < 0.01 && Math.abs(exact.high - approximate.high) < 0.01,
    `${exact.low} ${exact.high} against ${approximate.low} ${approximate.high}`,
  );
  t.true(approximate.low > 0.05 && approximate.high < 0.15);
  // A hostile baseline of 500 blocks against 30 candidate blocks is judged in well under a second.
  const started = performance.now();
  const big = compareUnpaired(
    Array.from({ length: 500 }, () => Math.exp(0.05 * normalFrom(random))),
    cand.slice(0, 30),
  );
  t.true(performance.now() - started < 1_000);
  t.true(big.pLarger < 1e-6);
});

import test from 'ava';
import { binomialUpperTail, erfc, holm, moreErrorsP, rateDifference, wilsonLower, wilsonUpper } from '../../src/stats/counts.ts';

const close = (a: number, b: number, eps: number) => Math.abs(a - b) <= eps;

test("Holm's procedure against a worked example", (t) => {
  // p = 0.01, 0.04, 0.03, 0.005 at alpha 0.05: sorted 0.005 <= 0.0125, 0.01 <= 0.0167, 0.03 > 0.025 stops.
  t.deepEqual(holm([0.01, 0.04, 0.03, 0.005], 0.05), [true, false, false, true]);
  t.deepEqual(holm([0.2, 0.3], 0.05), [false, false]);
  t.deepEqual(holm([0.001], 0.05), [true]);
});

test('Wilson upper bound and erfc against known values', (t) => {
  // 0 of 100 at 95%: z^2 / (n + z^2) = 3.8415 / 103.8415 = 0.036994.
  t.true(close(wilsonUpper(0, 100), 0.036994, 1e-5));
  // 10 of 100: the textbook Wilson interval is (0.0552, 0.1744).
  t.true(close(wilsonUpper(10, 100), 0.1744, 1e-4));
  t.true(close(erfc(0), 1, 1e-7));
  t.true(close(erfc(1), 0.157299207, 1e-7));
  t.true(close(erfc(-1), 1.842700793, 1e-7));
});

test("Wilson lower bound, and Newcombe's interval of a difference of rates against his published example", (t) => {
  // 10 of 100: the textbook Wilson interval is (0.0552, 0.1744).
  t.true(close(wilsonLower(10, 100), 0.0552, 1e-4));
  t.is(wilsonLower(0, 100), 0);
  // Newcombe (1998), table II, example (a): 56/70 against 48/80, difference 0.2000, method 10
  // gives 0.0524 to 0.3339. Candidate 56 of 70, baseline 48 of 80.
  const d = rateDifference(48, 80, 56, 70);
  t.true(close(d.estimate, 0.2, 1e-12));
  t.true(close(d.low, 0.0524, 1e-4), String(d.low));
  t.true(close(d.high, 0.3339, 1e-4), String(d.high));
  // No errors on either side: the interval is the candidate's Wilson bound above zero, never zero width.
  const none = rateDifference(0, 1000, 0, 1000);
  t.true(close(none.high, wilsonUpper(0, 1000), 1e-12));
  t.true(none.high > 0 && none.low < 0);
});

test('the binomial tail and the conditional test of more errors, against known values', (t) => {
  // P(X >= 2 | Bin(3, 0.5)) = 4/8; P(X >= 10 | Bin(10, 0.5)) = 1/1024.
  t.true(close(binomialUpperTail(2, 3, 0.5), 0.5, 1e-12));
  t.true(close(binomialUpperTail(10, 10, 0.5), 1 / 1024, 1e-15));
  t.is(binomialUpperTail(0, 10, 0.3), 1);
  t.is(binomialUpperTail(11, 10, 0.3), 0);
  // P(X >= 3 | Bin(20, 0.1)) = 1 - (0.9^20 + 20 * 0.1 * 0.9^19 + 190 * 0.01 * 0.9^18) = 0.3230732.
  t.true(close(binomialUpperTail(3, 20, 0.1), 0.3230732, 1e-6));
  // Far beyond 5,000 events, the normal approximation: the mean is the middle.
  t.true(close(binomialUpperTail(50_000, 100_000, 0.5), 0.5, 0.01));
  // Equal iterations, 10 errors against none: P = 0.5^10 that all 10 fall on the candidate.
  t.true(close(moreErrorsP(0, 1000, 10, 1000), 1 / 1024, 1e-12));
  t.is(moreErrorsP(0, 1000, 0, 1000), 1);
});

import test from 'ava';
import { erfc, holm, poissonUpperTail, wilsonUpper } from '../../src/stats/counts.ts';

const close = (a: number, b: number, eps: number) => Math.abs(a - b) <= eps;

test("Holm's procedure against a worked example", (t) => {
  // p = 0.01, 0.04, 0.03, 0.005 at alpha 0.05: sorted 0.005 <= 0.0125, 0.01 <= 0.0167, 0.03 > 0.025 stops.
  t.deepEqual(holm([0.01, 0.04, 0.03, 0.005], 0.05), [true, false, false, true]);
  t.deepEqual(holm([0.2, 0.3], 0.05), [false, false]);
  t.deepEqual(holm([0.001], 0.05), [true]);
});

test('Poisson upper tail against known values', (t) => {
  // P(X >= 1 | 1) = 1 - e^-1; P(X >= 3 | 2) = 1 - e^-2 (1 + 2 + 2) = 0.3233235838.
  t.true(close(poissonUpperTail(1, 1), 1 - Math.exp(-1), 1e-12));
  t.true(close(poissonUpperTail(3, 2), 0.3233235838169366, 1e-12));
  t.is(poissonUpperTail(0, 5), 1);
  // Far in the tail, the normal approximation: P(X >= 1200 | 1000) is about 1e-10.
  t.true(poissonUpperTail(1200, 1000) < 1e-8);
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

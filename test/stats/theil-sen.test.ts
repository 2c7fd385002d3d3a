import test from 'ava';
import { theilSen } from '../../src/stats/theil-sen.ts';

test('an exact line gives its slope and intercept, with a zero-width interval', (t) => {
  const x = [1, 2, 3, 4, 5, 6];
  const estimate = theilSen(
    x,
    x.map((v) => 3 * v + 7),
  );
  t.is(estimate.slope, 3);
  t.is(estimate.intercept, 7);
  t.is(estimate.low, 3);
  t.is(estimate.high, 3);
});

test('an outlier does not move the slope (least squares would)', (t) => {
  const x = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const y = x.map((v) => 2 * v);
  y[9] = 1000; // one wild point
  const estimate = theilSen(x, y);
  t.is(estimate.slope, 2);
  t.true(estimate.low <= 2 && estimate.high >= 2);
});

test('slopes and Sen interval match a hand-worked example', (t) => {
  // Points (1,1) (2,3) (3,2) (4,5) (5,4): the 10 pairwise slopes sorted are
  // -1, -1, 1/3, 0.5, 0.75, 1, 1, 4/3, 2, 3 -> median (0.75 + 1) / 2 = 0.875.
  const x = [1, 2, 3, 4, 5];
  const y = [1, 3, 2, 5, 4];
  const estimate = theilSen(x, y);
  t.is(estimate.slope, 0.875);
  // Intercept: median of y - 0.875 x = [0.125, 1.25, -0.625, 1.5, -0.375] -> 0.125.
  t.is(estimate.intercept, 0.125);
  // n = 5: C = 1.96 * sqrt(5 * 4 * 15 / 18) = 8.0; ranks floor((10 - 8) / 2) = 1 and
  // ceil((10 + 8) / 2) + 1 = 10: the extreme slopes.
  t.is(estimate.low, -1);
  t.is(estimate.high, 3);
});

test('a noisy rising series has an interval above zero; a flat one straddles zero', (t) => {
  const x = Array.from({ length: 30 }, (_, i) => i);
  const wiggle = (i: number) => ((i * 7919) % 13) - 6; // deterministic noise in -6..6
  const rising = theilSen(
    x,
    x.map((i) => 10 * i + wiggle(i)),
  );
  t.true(rising.low > 5 && rising.high < 15, JSON.stringify(rising));
  const flat = theilSen(
    x,
    x.map((i) => 500 + wiggle(i)),
  );
  t.true(flat.low <= 0 && flat.high >= 0, JSON.stringify(flat));
});

test('bad input is refused', (t) => {
  t.throws(() => theilSen([1, 2], [1, 2]), { message: /at least 3 points/ });
  t.throws(() => theilSen([1, 2, 3], [1, 2]), { message: /same length/ });
  t.throws(() => theilSen([1, 2, 3], [1, 2, 3], 0.5), { message: /confidence must be one of/ });
});

import test from 'ava';
import { incompleteBeta, logGamma, normalQuantile, studentTCdf, studentTQuantile } from '../../src/stats/distributions.ts';

const close = (actual: number, expected: number, tolerance: number) => Math.abs(actual - expected) <= tolerance;

test("Student's t quantiles match the published table", (t) => {
  // Two-sided 95% (p = 0.975) and the 99% / 98% rows of a standard t table.
  const table: Array<[number, number, number]> = [
    [0.975, 1, 12.7062047],
    [0.975, 2, 4.30265273],
    [0.975, 5, 2.57058184],
    [0.975, 10, 2.22813885],
    [0.975, 30, 2.04227246],
    [0.975, 1000, 1.96233908],
    [0.995, 5, 4.03214298],
    [0.99, 10, 2.76376946],
    [0.9995, 3, 12.9239786],
  ];
  for (const [p, df, expected] of table)
    t.true(close(studentTQuantile(p, df), expected, 1e-6), `t(${p}, ${df}) = ${studentTQuantile(p, df)}, table ${expected}`);
  t.is(studentTQuantile(0.5, 7), 0);
  t.true(close(studentTQuantile(0.025, 5), -2.57058184, 1e-6));
});

test('the t CDF inverts the quantile, and has the closed form of 2 degrees of freedom', (t) => {
  for (const df of [1, 2, 4, 9, 50])
    for (const p of [0.6, 0.9, 0.99, 0.9999]) t.true(close(studentTCdf(studentTQuantile(p, df), df), p, 1e-9), `${df} df, ${p}`);
  // df = 2: F(t) = 1/2 + t / (2 sqrt(2 + t^2)).
  for (const x of [-3, -0.5, 0, 1, 3.4641016]) t.true(close(studentTCdf(x, 2), 0.5 + x / (2 * Math.sqrt(2 + x * x)), 1e-12), String(x));
});

test('log-gamma and the incomplete beta function at known values', (t) => {
  t.true(close(logGamma(1), 0, 1e-14));
  t.true(close(logGamma(0.5), Math.log(Math.sqrt(Math.PI)), 1e-14));
  t.true(close(logGamma(10), Math.log(362880), 1e-12));
  // I_x(a, 1) = x^a and I_x(1, b) = 1 - (1 - x)^b.
  t.true(close(incompleteBeta(0.3, 2.5, 1), 0.3 ** 2.5, 1e-12));
  t.true(close(incompleteBeta(0.3, 1, 4), 1 - 0.7 ** 4, 1e-12));
  t.is(incompleteBeta(0, 2, 3), 0);
  t.is(incompleteBeta(1, 2, 3), 1);
});

test('the normal quantile against table values, in the middle and both tails', (t) => {
  // z(0.975) = 1.959963985, z(0.99) = 2.326347874, z(0.001) = -3.090232306, z(0.5) = 0.
  for (const [p, expected] of [
    [0.975, 1.959963985],
    [0.99, 2.326347874],
    [0.001, -3.090232306],
    [0.9999, 3.719016485],
  ] as const) {
    t.true(Math.abs(normalQuantile(p) - expected) < 1e-8, `z(${p}) = ${normalQuantile(p)}`);
  }
  t.true(Math.abs(normalQuantile(0.5)) < 1e-15);
  t.is(normalQuantile(0), -Infinity);
});

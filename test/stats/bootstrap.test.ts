import test from 'ava';
import { bootstrapMedianInterval } from '../../src/stats/bootstrap.ts';
import { mulberry32 } from '../../src/random.ts';

test('identical values give a zero-width interval at that value', (t) => {
  const interval = bootstrapMedianInterval([1.02, 1.02, 1.02, 1.02], 0.95, mulberry32(1));
  t.deepEqual([interval.estimate, interval.low, interval.high], [1.02, 1.02, 1.02]);
});

test('the interval contains the median and lies within the data', (t) => {
  const values = [0.97, 1.01, 1.03, 0.99, 1.05, 1.02, 0.98, 1.04, 1.0, 1.06];
  const interval = bootstrapMedianInterval(values, 0.95, mulberry32(7));
  t.true(Math.abs(interval.estimate - 1.015) < 1e-12);
  t.true(interval.low <= interval.estimate && interval.estimate <= interval.high);
  t.true(interval.low >= 0.97 && interval.high <= 1.06);
  // Deterministic for a seed.
  t.deepEqual(bootstrapMedianInterval(values, 0.95, mulberry32(7)), interval);
});

test('coverage: about 95% of intervals from normal samples contain the true median', (t) => {
  const random = mulberry32(3);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  let covered = 0;
  const trials = 300;
  for (let i = 0; i < trials; i++) {
    const sample = Array.from({ length: 25 }, normal);
    const interval = bootstrapMedianInterval(sample, 0.95, random, 500);
    if (interval.low <= 0 && 0 <= interval.high) covered++;
  }
  // The percentile bootstrap of a median is a little liberal for small n; 88-99% is its range here.
  t.true(covered / trials > 0.88 && covered / trials < 0.995, `coverage ${covered / trials}`);
});

test('a benchmark verdict needs the whole interval on one side of the target', async (t) => {
  const { verdict } = await import('../../src/report/bench.ts');
  t.is(verdict({ low: 0.5, high: 1.9 }, 2), 'met');
  t.is(verdict({ low: 2.1, high: 6 }, 2), 'MISSED');
  t.is(verdict({ low: -9.5, high: 3.6 }, 5), 'met');
  t.is(verdict({ low: 4.7, high: 7.8 }, 5), 'inconclusive');
});

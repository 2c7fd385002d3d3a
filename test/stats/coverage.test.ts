// How often each interval method's 95% interval contains the true change, by simulation: the
// reason MINIMUM_SAMPLES in src/stats/compare.ts holds, and the reason the percentile bootstrap
// is no longer used for verdicts. `agentperf bench intervals` prints the full table.
import test from 'ava';
import { mulberry32 } from '../../src/random.ts';
import { MINIMUM_SAMPLES } from '../../src/stats/compare.ts';
import { NOISES, pairedCoverage, unpairedCoverage } from '../../src/stats/coverage.ts';

const TRIALS = 600;
// The nominal 95% less the simulation's own error at this many trials (about 3 standard errors).
const FLOOR = 0.95 - 3 * Math.sqrt((0.95 * 0.05) / TRIALS);

test(`the paired t interval covers at least ${(FLOOR * 100).toFixed(1)}% from ${MINIMUM_SAMPLES['paired-t']} pairs, for every noise simulated`, (t) => {
  const random = mulberry32(11);
  for (const noise of NOISES) {
    for (const n of [MINIMUM_SAMPLES['paired-t'], 3, 5, 8]) {
      const [row] = pairedCoverage(noise, n, TRIALS, random);
      t.true(row.coverage >= FLOOR, `${noise.name}, ${n} pairs: ${row.coverage}`);
    }
  }
});

test('the percentile bootstrap of the median, which the gate used before, over-claims with few blocks', (t) => {
  const random = mulberry32(12);
  for (const noise of NOISES) {
    const [, boot] = pairedCoverage(noise, 3, TRIALS, random);
    t.true(boot.coverage < 0.85, `${noise.name}, 3 pairs: the bootstrap covered ${boot.coverage}`);
  }
});

test('the Mann-Whitney interval covers at least the floor wherever an exact bound exists, for every noise simulated', (t) => {
  const random = mulberry32(13);
  for (const noise of NOISES) {
    for (const [m, n] of [
      [9, 2],
      [9, 3],
      [5, 5],
      [9, 7],
    ] as const) {
      const [row] = unpairedCoverage(noise, m, n, TRIALS, random);
      t.is(row.unusable, 0, `${m} against ${n} bounds a shift`);
      t.true(row.coverage >= FLOOR, `${noise.name}, ${m} against ${n}: ${row.coverage}`);
    }
    // Too few on one side: the method says so instead of giving an interval.
    const [none] = unpairedCoverage(noise, 3, 2, 50, random);
    t.is(none.unusable, 50);
  }
});

test('bench intervals prints the coverage table from the same simulation; bad input exits 2 naming the option', async (t) => {
  const { runCli } = await import('../helpers.ts');
  const json = await runCli(['bench', 'intervals', '--trials', '100', '--json']);
  t.is(json.code, 0, json.stderr);
  const result = JSON.parse(json.stdout) as { rows: Array<{ method: string; noise: string; n: number; coverage: number }> };
  t.is(result.rows.length, NOISES.length * (7 * 2 + 5 * 2), 'every method, noise and count');
  t.true(result.rows.every((r) => r.coverage >= 0 && r.coverage <= 1));
  const text = await runCli(['bench', 'intervals', '--trials', '100']);
  t.regex(text.stdout, /paired-t\s+│ normal/);
  t.regex(text.stdout, /mann-whitney/);
  const bad = await runCli(['bench', 'intervals', '--trials', '5']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /AP_ERR_USAGE: trials must be an integer from 100/);
});

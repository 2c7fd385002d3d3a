// What a scenario counts (its `counters`) reaches the load report over the measured window only,
// and the agent scenarios count what the provider did to the orchestrator: on a limited
// simulator, the retries after 429 rate_limit_error show in the report.
import test from 'ava';
import { rootLogger } from '../../src/logger.ts';
import { stagesOf } from '../../src/load/patterns.ts';
import { runLoadTest, type LoadTestOptions } from '../../src/load/run.ts';
import { formatLoadReport } from '../../src/report/load.ts';
import { resolveScenario } from '../../src/scenarios/index.ts';
import { defineScenario } from '../../src/scenarios/types.ts';

const shape = (rate: number, durationMs: number): LoadTestOptions['shape'] => ({
  kind: 'open',
  pattern: `constant ${rate}/s`,
  stages: stagesOf({ kind: 'constant', rate, durationMs }),
  maxInFlight: 10_000,
});

test("a scenario's counters are reported as their change over the measured window: warm-up is not in them", async (t) => {
  let runs = 0;
  const scenario = defineScenario({
    name: 'counting',
    setup: async () => undefined,
    run: () => {
      runs++;
    },
    teardown: async () => undefined,
    counters: () => ({ runs, constant: 7 }),
  });
  const { report } = await runLoadTest({
    scenario,
    context: { target: { kind: 'in-process' }, settings: {}, seed: 1, log: rootLogger },
    shape: shape(200, 1_000),
    warmupMs: 500,
    drainTimeoutMs: 5_000,
    thresholds: [],
  });
  // About 100 warm-up runs, then 200 measured. Measuring starts just before the first measured
  // iteration, however late the warm-up's timer, and each run ends at once: exactly those.
  const counted = report.counters!.runs;
  t.true(runs >= 290, `runs ${runs}`);
  t.is(counted, report.result.completed, JSON.stringify({ counted, completed: report.result.completed, runs }));
  t.true(counted < runs - 80, 'the warm-up runs are not in it');
  t.is(report.counters?.constant, 0, 'a count that did not move reads 0');
  t.regex(formatLoadReport(report), /while measuring: runs \d+, constant 0/);
});

test('the agent scenario on a simulator with an organisation limit: the report shows the retries after rate_limit_error, and the calls that failed with it', async (t) => {
  const scenario = await resolveScenario('cache-miss');
  const { report } = await runLoadTest({
    scenario,
    // 120 requests a minute (2 a second once the bucket of 120 is spent) against 60 arrivals a second.
    context: { target: { kind: 'in-process' }, settings: { limits: 'rpm=120', latency: 'fixed:1' }, seed: 1, log: rootLogger },
    shape: shape(60, 3_000),
    warmupMs: 0,
    drainTimeoutMs: 20_000,
    thresholds: [],
  });
  const counters = report.counters!;
  t.true(counters['retries after rate_limit_error'] > 0, JSON.stringify(counters));
  t.is(counters.retries, counters['retries after rate_limit_error'], 'the only reason');
  t.is(counters['failed calls'], report.result.errorsByType.rate_limit_error ?? 0);
  t.true(counters['upstream attempts'] >= report.result.completed, JSON.stringify({ counters, completed: report.result.completed }));
  t.regex(formatLoadReport(report), /while measuring: upstream attempts \d+, retries \d+, retries after rate_limit_error \d+, failed calls \d+/);
});

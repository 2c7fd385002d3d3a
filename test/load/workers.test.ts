import test from 'ava';
import { fileURLToPath } from 'node:url';
import { stagesOf } from '../../src/load/patterns.ts';
import { runLoadTestInWorkers, shareOf } from '../../src/load/workers.ts';
import { decodeCount } from './hdr-count.ts';

const sleepy = fileURLToPath(new URL('../fixtures/scenarios/sleepy.ts', import.meta.url));

type Options = Parameters<typeof runLoadTestInWorkers>[0];
/** Two workers on the sleepy fixture, open loop at `rate` for `durationMs`, unless overridden. */
const plan = (rate: number, durationMs: number, overrides: Partial<Options> = {}): Options => ({
  scenario: sleepy,
  scenarioInfo: { name: 'sleepy', description: 'waits 2 ms' },
  context: { target: { kind: 'in-process' }, settings: {}, seed: 1 },
  shape: { kind: 'open', pattern: `constant ${rate}/s`, stages: stagesOf({ kind: 'constant', rate, durationMs }), maxInFlight: 1000 },
  workers: 2,
  warmupMs: 0,
  drainTimeoutMs: 5_000,
  thresholds: [],
  ...overrides,
});

test('each worker gets 1/N of every stage, or its share of the users (the first ones the remainder)', (t) => {
  const open = shareOf({ kind: 'open', pattern: 'p', stages: [{ durationMs: 1000, fromRate: 100, toRate: 400 }], maxInFlight: 10 }, 1, 4);
  t.deepEqual(open.kind === 'open' && open.stages, [{ durationMs: 1000, fromRate: 25, toRate: 100 }]);
  t.is(open.kind === 'open' && open.maxInFlight, 3);
  const vus = [0, 1, 2].map((i) => shareOf({ kind: 'closed', vus: 10, durationMs: 1000 }, i, 3));
  t.deepEqual(
    vus.map((s) => s.kind === 'closed' && s.vus),
    [4, 3, 3],
  );
});

test('two workers run a user scenario module: counts add up, histograms merge exactly, each worker reports its loop', async (t) => {
  const { report, encoded, workers } = await runLoadTestInWorkers(plan(400, 1000));
  t.is(workers.length, 2);
  t.is(report.result.scheduled, 400);
  t.is(report.result.completed, 400);
  t.deepEqual(
    workers.map((w) => w.completed),
    [200, 200],
  );
  // Each worker fails every 50th of its own iterations: 4 of 200, twice.
  t.is(report.result.errors, 8);
  t.deepEqual(report.result.errorsByType, { E_FIFTIETH: 8 });
  t.is(report.result.latency.count, 400);
  t.is(decodeCount(encoded.latency), 400);
  t.true(report.result.latency.p50 >= 2, 'every iteration waits 2 ms');
  t.is(
    report.result.series.reduce((a, p) => a + p.completed, 0),
    400,
  );
  t.is(report.workers?.length, 2);
  t.deepEqual(report.counters, { calls: 400 }, "the scenario's counts, summed over the workers");
});

test('a failing worker setup fails the run with its code, and no worker is left running', async (t) => {
  const failing = fileURLToPath(new URL('../fixtures/scenarios/failing-setup.ts', import.meta.url));
  const error = await t.throwsAsync(
    runLoadTestInWorkers(plan(0, 0, { scenario: failing, shape: { kind: 'closed', vus: 2, durationMs: 500 }, drainTimeoutMs: 1_000 })),
  );
  t.regex(error.message, /^worker \d: /);
});

test('Ctrl-C stops every worker and reports what ran; during setup, it ends the run before it starts', async (t) => {
  const controller = new AbortController();
  const run = runLoadTestInWorkers(plan(200, 20_000, { signal: controller.signal, onStart: () => setTimeout(() => controller.abort(), 1_000) }));
  const { report } = await run;
  t.true(report.result.completed > 0 && report.result.completed < 4_000, `${report.result.completed} completed`);
  const early = new AbortController();
  early.abort();
  const error = await t.throwsAsync(runLoadTestInWorkers(plan(0, 0, { shape: { kind: 'closed', vus: 2, durationMs: 20_000 }, signal: early.signal })));
  t.is((error as { code?: string }).code, 'AP_ERR_ABORTED');
});

import test from 'ava';
import { fileURLToPath } from 'node:url';
import { syntheticWork } from '../../src/scenarios/synthetic.ts';
import { mainThreadBusyMicros } from '../../src/runtime/cpu.ts';
import { measureOverheadHere } from '../../src/measure/slices.ts';
import { comparePaired } from '../../src/stats/compare.ts';
import { median } from '../../src/stats/percentiles.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/scenarios/known-instrumentation-cost.ts', import.meta.url));

/** What `loops` of the synthetic work cost on this thread, in µs: 5 timed runs of 500 calls each. */
function costsOf(loops: number): number[] {
  return Array.from({ length: 5 }, (_, r) => {
    const start = mainThreadBusyMicros();
    for (let i = 0; i < 500; i++) syntheticWork(loops, r * 500 + i);
    return (mainThreadBusyMicros() - start) / 500;
  });
}

// The harness is the instrument every overhead figure comes from: fed a workload whose
// instrumentation costs a known amount, it must measure that amount. Here "on" adds only the
// injected work (the workload makes no agent calls, so agentperf's handlers have nothing to do),
// and its cost is measured on its own, in this process, before and after.
test('the overhead harness measures a known added cost: ~20 µs of work per iteration, injected only while instrumentation is on, lies within its interval', async (t) => {
  syntheticWork(20_000, 1);
  const perThousand = median(costsOf(20_000)) / 20;
  const extra = Math.round((20 / perThousand) * 1000);
  const before = costsOf(extra);
  const measurement = await measureOverheadHere({
    scenario: FIXTURE,
    settings: { work: String(10 * extra), extra: String(extra) },
    vus: 1,
    seed: 1,
    sliceIterations: 100,
    sliceMs: 0,
    pairs: 40,
    warmupPairs: 4,
  });
  // The calibration is a measurement too: under other tests' load (npm test runs files in
  // parallel) it moves with the moment, so the known cost is the range of its 10 runs.
  const calibration = [...before, ...costsOf(extra)];
  const known = { low: Math.min(...calibration), high: Math.max(...calibration) };

  const per = (instrumented: boolean) => measurement.slices.filter((s) => s.instrumented === instrumented).map((s) => s.busyUs / s.iterations);
  const off = per(false);
  const on = per(true);
  t.is(off.length, 40);
  t.is(on.length, 40);
  // A 99.9% interval: the check is of the harness, not a coin that fails one CI run in twenty.
  const c = comparePaired(off, on, 0.999);
  const base = median(off);
  const [estimate, low, high] = [c.estimate, c.low, c.high].map((r) => base * (Math.exp(r) - 1));
  t.log(
    `known ${known.low.toFixed(1)}-${known.high.toFixed(1)} µs per iteration; measured ${estimate.toFixed(1)} µs [${low.toFixed(1)}, ${high.toFixed(1)}] (99.9%) on ${base.toFixed(0)} µs off`,
  );
  t.true(
    low <= known.high && known.low <= high,
    `the injected ${known.low.toFixed(1)}-${known.high.toFixed(1)} µs meets [${low.toFixed(1)}, ${high.toFixed(1)}]`,
  );
  t.is(measurement.errorsByType && Object.keys(measurement.errorsByType).length, 0);
});

import test from 'ava';
import { measureOverheadHere } from '../../src/measure/slices.ts';

// The zero-code path's workload (a plain SDK app, as `--import agentperf/register` runs one): in
// "on" slices every SDK call makes the SDK's own span, exported to the measurement's receiver;
// in "off" slices none. One user, so each call starts and ends in one slice.
test('the sdk-app workload: one SDK call per iteration, its span exported only while instrumentation is on', async (t) => {
  const m = await measureOverheadHere({
    scenario: 'sdk-app',
    settings: { latency: 'fixed:1' },
    vus: 1,
    seed: 1,
    sliceIterations: 20,
    sliceMs: 0,
    pairs: 2,
    warmupPairs: 2,
  });
  t.deepEqual(m.errorsByType, {});
  t.is(m.slices.length, 4, 'the measured pairs');
  t.true(m.slices.every((s) => s.iterations === 20));
  // Warmup and measured slices alike: 4 of the 8 were on, 20 calls each.
  t.is(m.telemetry.spansExported, 4 * 20, 'one span per SDK call made while on, none while off');
  t.is(m.telemetry.spansDropped, 0);
});

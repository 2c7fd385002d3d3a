import test from 'ava';
import { runLoadTest } from '../../src/load/run.ts';
import { stagesOf } from '../../src/load/patterns.ts';
import { defineScenario } from '../../src/scenarios/types.ts';
import { rootLogger } from '../../src/logger.ts';
import { busyWait } from '../../src/runtime/cpu.ts';

// The generator's trust verdict on real runs in this process, at a fixed arrival rate: one
// generator given more work than one thread can do (saturated), and one with a fast service
// and an occasional 15 ms pause like a major GC (about a fifth of the thread busy, a p99
// event-loop delay far above its sub-millisecond latencies): only the first is untrusted.

function fixedWork(perIterationUs: number, pause?: { everyNth: number; ms: number }) {
  return defineScenario<{ n: number }>({
    name: 'fixed-work',
    setup: async () => ({ n: 0 }),
    run: async (state) => {
      state.n++;
      busyWait(pause && state.n % pause.everyNth === 0 ? pause.ms * 1000 : perIterationUs);
    },
    teardown: async () => undefined,
  });
}

async function trustOf(scenario: ReturnType<typeof fixedWork>) {
  const { report } = await runLoadTest({
    scenario: scenario,
    context: { target: { kind: 'in-process' }, settings: {}, seed: 1, log: rootLogger },
    shape: { kind: 'open', pattern: 'constant 200/s', stages: stagesOf({ kind: 'constant', rate: 200, durationMs: 2_000 }), maxInFlight: 10_000 },
    warmupMs: 0,
    drainTimeoutMs: 10_000,
    thresholds: [],
  });
  return {
    verdict: report.generator,
    busy: report.resources.generator.mainThreadBusyMeanPct,
    delay: report.resources.generator.eventLoopDelay,
    latency: report.result.latency.mean,
  };
}

test.serial('a generator asked for more than its thread can do is untrusted; one doing some work with GC-like pauses is trusted', async (t) => {
  // 200/s x 8 ms = 160% of a thread: saturated.
  const saturated = await trustOf(fixedWork(8_000));
  t.false(saturated.verdict.trusted, JSON.stringify(saturated));
  // 200/s x (0.3 ms, and 15 ms every 40th) = about 21% of a thread.
  const working = await trustOf(fixedWork(300, { everyNth: 40, ms: 15 }));
  t.true(working.delay.p99 > 5 && working.delay.p99 > working.latency * 0.5, `the case the p99 rule called saturated: ${JSON.stringify(working)}`);
  t.true(working.verdict.trusted, JSON.stringify(working));
  t.true(working.busy < 60, `busy ${working.busy}%`);
});

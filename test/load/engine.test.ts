import test from 'ava';
import { ManualClock } from '../../src/clock.ts';
import { clockWaker, runEngine, systemWaker, type EngineOptions, type EngineResult, type Waker } from '../../src/load/engine.ts';
import { ArrivalSchedule, stagesOf } from '../../src/load/patterns.ts';

/** Runs the engine on a manual clock, moving time a millisecond per event-loop turn. */
async function drive(clock: ManualClock, run: (i: number) => unknown, options: Omit<EngineOptions, 'waker'>): Promise<EngineResult> {
  let done = false;
  const result = runEngine(run, { ...options, waker: clockWaker(clock) }).finally(() => (done = true));
  while (!done) {
    clock.advance(1);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return result;
}

// HDR keeps 3 significant digits: a value is known to within 0.1%.
const near = (actual: number, expected: number) => Math.abs(actual - expected) <= expected * 0.001 + 0.001;

test('a 1 s stall shows in the corrected p99, not in the service-time p99, as the schedule predicts', async (t) => {
  const clock = new ManualClock();
  // 100/s for 10 s: iterations due every 10 ms, each served in 10 ms. Iteration 500 (due at
  // 5,000 ms) blocks the event loop for 1 s before its own 10 ms.
  const schedule = new ArrivalSchedule(stagesOf({ kind: 'constant', rate: 100, durationMs: 10_000 }));
  const result = await drive(
    clock,
    (i) => {
      if (i === 500) clock.stall(1000);
      return clock.sleep(10);
    },
    { mode: { kind: 'open', schedule, maxInFlight: 10_000 }, warmupMs: 0, drainTimeoutMs: 60_000 },
  );

  t.is(result.completed, 1000);
  t.is(result.dropped, 0);
  // Predicted: the 99 iterations due at 5,010..5,990 ms start at 6,000, so their corrected
  // latencies are 1,000, 990, ..., 20 ms; the stalled one's is 1,010; the other 900 take 10.
  // Sorted, rank 990 of 1,000 is the 90th of the late ones: 20 + 89 * 10 = 910 ms.
  t.true(near(result.latency.p99, 910), `corrected p99 ${result.latency.p99}`);
  t.true(near(result.latency.max, 1010), `corrected max ${result.latency.max}`);
  t.true(near(result.latency.p50, 10), `corrected p50 ${result.latency.p50}`);
  // Service time: everything 10 ms but the stalled iteration itself (1 in 1,000: above p99.9).
  t.true(near(result.serviceTime.p99, 10), `service p99 ${result.serviceTime.p99}`);
  t.true(near(result.serviceTime.max, 1010), `service max ${result.serviceTime.max}`);
  // Scheduling lag: the late 99 started 990..10 ms late.
  t.true(near(result.schedulingLag.max, 990), `lag max ${result.schedulingLag.max}`);
  // Mean corrected latency: (900 * 10 + 1010 + sum of 20..1000 step 10) / 1000.
  const lateSum = (99 * (20 + 1000)) / 2;
  t.true(near(result.latency.mean, (900 * 10 + 1010 + lateSum) / 1000), `mean ${result.latency.mean}`);
  t.is(result.targetRate, 100);
});

test('arrivals past the in-flight bound are dropped and counted, never delayed', async (t) => {
  const clock = new ManualClock();
  const schedule = new ArrivalSchedule(stagesOf({ kind: 'constant', rate: 1000, durationMs: 1000 }));
  // Every iteration takes 50 ms and at most 10 may be in flight: 50 arrive per 50 ms, 10 run.
  const result = await drive(clock, () => clock.sleep(50), { mode: { kind: 'open', schedule, maxInFlight: 10 }, warmupMs: 0, drainTimeoutMs: 60_000 });
  t.is(result.scheduled, 1000);
  t.is(result.started + result.dropped, 1000);
  // A slot frees every 5 ms on average, so 200 start (one per 5 ms) and 800 are dropped.
  t.is(result.started, 200);
  t.is(result.dropped, 800);
  // Those that ran started on time: no lag, corrected latency = service time.
  t.is(result.schedulingLag.max, 0);
  t.true(near(result.latency.p99, 50));
});

test('warmup iterations run but are not recorded; the iteration cap stops scheduling', async (t) => {
  const clock = new ManualClock();
  const schedule = new ArrivalSchedule(stagesOf({ kind: 'constant', rate: 100, durationMs: 3000 }));
  let ran = 0;
  const result = await drive(
    clock,
    () => {
      ran++;
      return clock.sleep(5);
    },
    { mode: { kind: 'open', schedule, maxInFlight: 100 }, warmupMs: 1000, iterations: 150, drainTimeoutMs: 1000 },
  );
  t.is(ran, 100 + 150);
  t.is(result.completed, 150);
  t.is(result.latency.count, 150);
});

test('errors are counted by type and still timed', async (t) => {
  const clock = new ManualClock();
  const schedule = new ArrivalSchedule(stagesOf({ kind: 'constant', rate: 100, durationMs: 1000 }));
  const result = await drive(
    clock,
    (i) => {
      if (i % 10 === 0) throw Object.assign(new Error('connect refused'), { code: 'ECONNREFUSED' });
      if (i % 10 === 1) return Promise.reject(new TypeError('bad'));
      return clock.sleep(1);
    },
    { mode: { kind: 'open', schedule, maxInFlight: 100 }, warmupMs: 0, drainTimeoutMs: 1000 },
  );
  t.is(result.completed, 100);
  t.is(result.errors, 20);
  t.deepEqual(result.errorsByType, { ECONNREFUSED: 10, TypeError: 10 });
});

test('iterations still in flight at the drain timeout are reported unfinished', async (t) => {
  const clock = new ManualClock();
  const schedule = new ArrivalSchedule(stagesOf({ kind: 'constant', rate: 10, durationMs: 1000 }));
  const result = await drive(clock, (i) => (i === 9 ? new Promise(() => {}) : clock.sleep(1)), {
    mode: { kind: 'open', schedule, maxInFlight: 100 },
    warmupMs: 0,
    drainTimeoutMs: 500,
  });
  t.is(result.completed, 9);
  t.is(result.unfinished, 1);
});

test('closed loop: N virtual users, each starting when its last iteration ends', async (t) => {
  const clock = new ManualClock();
  const result = await drive(clock, () => clock.sleep(20), { mode: { kind: 'closed', vus: 4, durationMs: 1000 }, warmupMs: 0, drainTimeoutMs: 1000 });
  // 4 users x 1000 ms / 20 ms = 200 iterations; the clock moves 1 ms per turn, so each ends
  // on the millisecond it is due.
  t.is(result.completed, 200);
  t.true(near(result.latency.p99, 20));
  t.true(near(result.throughput, 200), `throughput ${result.throughput}`);
});

test('the per-second series counts each second on its own', async (t) => {
  const clock = new ManualClock();
  const schedule = new ArrivalSchedule(
    stagesOf({
      kind: 'step',
      stages: [
        { rate: 10, durationMs: 1000 },
        { rate: 50, durationMs: 1000 },
        { rate: 20, durationMs: 1000 },
      ],
    }),
  );
  const seen: number[] = [];
  const result = await drive(clock, () => clock.sleep(1), {
    mode: { kind: 'open', schedule, maxInFlight: 100 },
    warmupMs: 0,
    drainTimeoutMs: 1000,
    onSecond: (p) => seen.push(p.started),
  });
  t.deepEqual(
    result.series.map((p) => p.started),
    [10, 50, 20],
  );
  t.deepEqual(seen, [10, 50, 20]);
  t.deepEqual(
    result.series.map((p) => p.targetRate),
    [10, 50, 20],
    'the rate over each second: what it made due',
  );
});

test.serial('the system waker sleeps and releases every due arrival in a batch: none lost, each measured from its intended start', async (t) => {
  let wakes = 0;
  let immediates = 0;
  const counting: Waker = {
    now: () => systemWaker.now(),
    wake(delayMs, fn) {
      wakes++;
      return systemWaker.wake(delayMs, fn);
    },
  };
  const original = globalThis.setImmediate;
  globalThis.setImmediate = ((fn: (...args: unknown[]) => void, ...args: unknown[]) => {
    immediates++;
    return original(fn, ...args);
  }) as typeof setImmediate;
  let result: EngineResult;
  try {
    const schedule = new ArrivalSchedule(stagesOf({ kind: 'constant', rate: 5_000, durationMs: 400 }));
    result = await runEngine(() => undefined, {
      mode: { kind: 'open', schedule, maxInFlight: 1_000_000 },
      warmupMs: 0,
      drainTimeoutMs: 1_000,
      waker: counting,
    });
  } finally {
    globalThis.setImmediate = original;
  }
  t.is(result.started, 2_000);
  t.is(result.completed, 2_000);
  t.is(immediates, 0, 'never spins on setImmediate');
  // A timer fires about a millisecond apart at best: 5 arrivals a millisecond come out in batches.
  t.true(wakes < 1_000, `${wakes} wakes for 2,000 arrivals`);
  t.is(result.schedulingLag.count, 2_000);
  t.true(result.latency.p50 >= result.serviceTime.p50, 'latency counts from the intended start');
});

test('a streaming iteration is measured from its intended start to its first chunk (corrected, like latency), with its chunk gaps and output rate', async (t) => {
  const clock = new ManualClock();
  // 100/s for 1 s: each iteration's first chunk 30 ms after it starts, then 4 chunks 5 ms apart. Iteration 50 stalls the loop 200 ms first.
  const schedule = new ArrivalSchedule(stagesOf({ kind: 'constant', rate: 100, durationMs: 1000 }));
  const result = await drive(
    clock,
    async (i) => {
      if (i === 50) clock.stall(200);
      await clock.sleep(30);
      const firstChunkAt = clock.now();
      await clock.sleep(20);
      return { firstChunkAt, chunkGapsMs: [5, 5, 5, 5], outputTokensPerSecond: 800 };
    },
    { mode: { kind: 'open', schedule, maxInFlight: 10_000 }, warmupMs: 0, drainTimeoutMs: 60_000 },
  );
  t.is(result.completed, 100);
  const stream = result.stream!;
  t.is(stream.streams, 100);
  t.true(near(stream.timeToFirstChunk.p50, 30), `ttfc p50 ${stream.timeToFirstChunk.p50}`);
  // The stall delays the 20 iterations due in its 200 ms: their first chunks come up to 200 ms late, counted from when they were due.
  t.true(stream.timeToFirstChunk.max >= 220, `ttfc max ${stream.timeToFirstChunk.max}`);
  t.like(stream.timePerOutputChunk, { count: 400, p50: 5, max: 5 });
  t.like(stream.outputTokensPerSecond, { count: 100, p50: 800 });
  t.truthy(result.encoded.timeToFirstChunk);
  t.true(
    result.series.some((p) => p.ttfcP95 !== undefined),
    'the per-second points carry the time to first chunk',
  );
});

test('a run whose iterations do not stream has no stream figures', async (t) => {
  const clock = new ManualClock();
  const schedule = new ArrivalSchedule(stagesOf({ kind: 'constant', rate: 100, durationMs: 200 }));
  const result = await drive(clock, () => clock.sleep(5).then(() => ({ output: 'an answer' })), {
    mode: { kind: 'open', schedule, maxInFlight: 100 },
    warmupMs: 0,
    drainTimeoutMs: 1000,
  });
  t.is(result.stream, undefined);
  t.is(result.encoded.timeToFirstChunk, undefined);
});

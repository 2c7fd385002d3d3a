import test from 'ava';
import { ArrivalSchedule, parseStages, stagesOf } from '../../src/load/patterns.ts';

const arrivals = (schedule: ArrivalSchedule) => Array.from({ length: schedule.totalArrivals }, (_, k) => schedule.timeOf(k));
const close = (t: { true(v: boolean, m?: string): void }, actual: number, expected: number, what: string) =>
  t.true(Math.abs(actual - expected) < 1e-6, `${what}: ${actual} != ${expected}`);

test('constant: 100/s for 1 s is due every 10 ms from 0', (t) => {
  const schedule = new ArrivalSchedule(stagesOf({ kind: 'constant', rate: 100, durationMs: 1000 }));
  const times = arrivals(schedule);
  t.is(times.length, 100);
  times.forEach((time, k) => close(t, time, k * 10, `arrival ${k}`));
});

test('ramp: 0 to 100/s over 2 s follows N(t) = 25 t^2 (t in s)', (t) => {
  const schedule = new ArrivalSchedule(stagesOf({ kind: 'ramp', from: 0, to: 100, durationMs: 2000 }));
  // The rate rises 50/s each second, so N(t) = 25 t^2 and arrival k is due at sqrt(k / 25) s.
  t.is(schedule.totalArrivals, 100);
  for (const k of [0, 1, 4, 25, 99]) close(t, schedule.timeOf(k), Math.sqrt(k / 25) * 1000, `arrival ${k}`);
  // Gaps shrink as the rate grows.
  const times = arrivals(schedule);
  t.true(times[2] - times[1] > times[99] - times[98]);
});

test('ramp down: 100 to 0/s over 2 s mirrors the ramp up', (t) => {
  const schedule = new ArrivalSchedule(stagesOf({ kind: 'ramp', from: 100, to: 0, durationMs: 2000 }));
  t.is(schedule.totalArrivals, 100);
  // N(t) = 100 t - 25 t^2, so arrival k is due at 2 - sqrt(4 - k / 25) s.
  for (const k of [0, 1, 50, 99]) close(t, schedule.timeOf(k), (2 - Math.sqrt(4 - k / 25)) * 1000, `arrival ${k}`);
});

test('spike: base, spike, base again, at the rates given', (t) => {
  const schedule = new ArrivalSchedule(stagesOf({ kind: 'spike', baseRate: 10, spikeRate: 100, spikeAtMs: 1000, spikeDurationMs: 500, durationMs: 3000 }));
  // 10 in the first second, 50 in the spike, 15 in the last 1.5 s.
  t.is(schedule.totalArrivals, 75);
  t.is(schedule.arrivalsBetween(0, 1000), 10);
  t.is(schedule.arrivalsBetween(1000, 1500), 50);
  t.is(schedule.arrivalsBetween(1500, 3000), 15);
  close(t, schedule.timeOf(10), 1000, 'first spike arrival');
  close(t, schedule.timeOf(11), 1010, 'second spike arrival');
  close(t, schedule.timeOf(60), 1500, 'first arrival after the spike');
  close(t, schedule.timeOf(61), 1600, 'base rate again');
});

test('step: each stage at its own rate, in order', (t) => {
  const schedule = new ArrivalSchedule(
    stagesOf({
      kind: 'step',
      stages: [
        { rate: 10, durationMs: 1000 },
        { rate: 20, durationMs: 1000 },
        { rate: 40, durationMs: 500 },
      ],
    }),
  );
  t.is(schedule.totalArrivals, 10 + 20 + 20);
  const times = arrivals(schedule);
  close(t, times[9], 900, 'last of stage 1');
  close(t, times[10], 1000, 'first of stage 2');
  close(t, times[11], 1050, 'stage 2 spacing');
  close(t, times[31], 2025, 'stage 3 spacing');
  // Random access agrees with sequential access.
  close(t, schedule.timeOf(3), 300, 'random access back into stage 1');
});

test('a zero-rate stage makes a pause', (t) => {
  const schedule = new ArrivalSchedule(parseStages('stages', '10:1s,0:2s,10:1s'));
  t.is(schedule.totalArrivals, 20);
  close(t, schedule.timeOf(9), 900, 'last before the pause');
  close(t, schedule.timeOf(10), 3000, 'first after the pause');
});

test('parseStages reads ramps and constants; bad stages name the rule', (t) => {
  t.deepEqual(parseStages('stages', '0->100:10s, 100:30s,100->0:500ms'), [
    { fromRate: 0, toRate: 100, durationMs: 10_000 },
    { fromRate: 100, toRate: 100, durationMs: 30_000 },
    { fromRate: 100, toRate: 0, durationMs: 500 },
  ]);
  for (const bad of ['', '100', '100:', 'fast:10s', '-5:10s', '10:0s', '10:10 parsecs']) {
    const error = t.throws(() => parseStages('stages', bad));
    t.is((error as { code?: string }).code, 'AP_ERR_USAGE', bad);
    t.regex(error.message, /stages/);
  }
});

test('a spike that ends after the run is refused', (t) => {
  const error = t.throws(() => stagesOf({ kind: 'spike', baseRate: 1, spikeRate: 5, spikeAtMs: 900, spikeDurationMs: 500, durationMs: 1000 }));
  t.regex(error.message, /spike .* must end within the duration/);
});

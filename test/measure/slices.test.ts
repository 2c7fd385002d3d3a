import test from 'ava';
import { BREAKDOWN_KINDS, breakdownOf, breakdownSchedule, sliceSchedule, type Slice, type SliceKind } from '../../src/measure/slices.ts';

test('on/off pairs: warmup pairs alternate, measured pairs go ABBA', (t) => {
  t.deepEqual(sliceSchedule(1, 4), [false, true, false, true, true, false, false, true, true, false]);
});

test('breakdown rounds: each kind once per round, every kind in every position and after every other kind equally often (Williams)', (t) => {
  const rounds = 8;
  const schedule = breakdownSchedule(0, rounds);
  t.is(schedule.length, 4 * rounds);
  const position = new Map<string, number>();
  const after = new Map<string, number>();
  for (let r = 0; r < rounds; r++) {
    const round = schedule.slice(4 * r, 4 * r + 4);
    t.deepEqual([...round].sort(), [...BREAKDOWN_KINDS].sort(), `round ${r}`);
    round.forEach((kind, i) => position.set(`${kind}@${i}`, (position.get(`${kind}@${i}`) ?? 0) + 1));
    for (let i = 1; i < 4; i++) after.set(`${round[i - 1]}>${round[i]}`, (after.get(`${round[i - 1]}>${round[i]}`) ?? 0) + 1);
  }
  t.deepEqual(new Set(position.values()), new Set([rounds / 4]), 'each kind in each position equally often');
  t.is(after.size, 12, 'every ordered pair of different kinds occurs');
  t.deepEqual(new Set(after.values()), new Set([rounds / 4]), 'and equally often');
  t.deepEqual(breakdownSchedule(1, 1).slice(0, 4), ['off', 'handlers', 'on', 'spans'], 'warmup rounds come first, in the same design');
});

test('the breakdown recovers known per-part costs: each part the difference from the kind before it, paired by round', (t) => {
  // Off costs 400 µs of main-thread CPU per iteration; handlers add 20, spans 30, export 10;
  // the export adds 25 µs of process CPU (its worker) beside its 10 on the main thread.
  const mainThread: Record<SliceKind, number> = { off: 400, handlers: 420, spans: 450, on: 460 };
  const processCpu: Record<SliceKind, number> = { off: 600, handlers: 620, spans: 650, on: 685 };
  const slices: Slice[] = [];
  for (let r = 0; r < 12; r++) {
    // A round-level drift (the machine speeds up and slows down) that pairing must remove.
    const drift = 1 + 0.05 * Math.sin(r);
    for (const kind of BREAKDOWN_KINDS)
      slices.push({
        instrumented: kind !== 'off',
        kind,
        durationMs: 100,
        iterations: 100,
        errors: 0,
        busyUs: mainThread[kind] * 100 * drift * (1 + 0.001 * ((r * 7 + kind.length) % 3)),
        cpuUs: processCpu[kind] * 100 * drift,
      });
  }
  const parts = breakdownOf(slices);
  t.deepEqual(
    parts.map((p) => p.part),
    ['handlers', 'spans', 'on'],
  );
  const expected = { handlers: [20, 20], spans: [30, 30], on: [10, 35] };
  for (const p of parts) {
    const [main, process] = expected[p.part];
    t.true(Math.abs(p.addedUs.estimate - main) < 2, `${p.part} main thread: ${JSON.stringify(p.addedUs)}`);
    t.true(p.addedUs.low <= main + 2 && main - 2 <= p.addedUs.high, `${p.part}: the interval holds ${main}`);
    t.true(Math.abs(p.processAddedUs.estimate - process) < 2, `${p.part} process: ${JSON.stringify(p.processAddedUs)}`);
  }
});

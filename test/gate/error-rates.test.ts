// The FAIL rule's error rates, by simulation of whole paired gates (looks, Holm, the rule as
// gatePaired applies it) on heavy-tailed block noise at the levels blocks of the standard
// workload showed here, and at twice those (a machine with a neighbour).
import test from 'ava';
import { DEFAULT_POLICY } from '../../src/config/policy.ts';
import { MEASURED_NOISE, simulateGates, type BlockNoise } from '../../src/gate/simulate.ts';
import { mulberry32 } from '../../src/random.ts';

const scaled = (factor: number): BlockNoise => Object.fromEntries(Object.entries(MEASURED_NOISE).map(([k, v]) => [k, v * factor])) as unknown as BlockNoise;

test('unchanged code: the gate FAILs far less often than alpha (5%), quiet or busy', (t) => {
  const random = mulberry32(21);
  for (const factor of [1, 2]) {
    const aa = simulateGates(DEFAULT_POLICY, scaled(factor), {}, 800, random);
    t.true(aa.FAIL / 800 <= 0.015, `noise x${factor}: ${aa.FAIL} FAILs in 800`);
  }
});

test('a 15% slower candidate FAILs at least 19 times in 20, and one a quarter costlier in CPU FAILs on CPU', (t) => {
  const random = mulberry32(22);
  const slow = simulateGates(DEFAULT_POLICY, MEASURED_NOISE, { latency: 1.15, throughput: 1 / 1.12 }, 200, random);
  t.true(slow.FAIL / 200 >= 0.95, `${slow.FAIL} of 200`);
  const cpu = simulateGates(DEFAULT_POLICY, MEASURED_NOISE, { cpu: 1.25 }, 200, random, (m) => m === 'cpu' || m === 'mainThread');
  t.true(cpu.onTarget / 200 >= 0.95, `${cpu.onTarget} of 200`);
});

// Fresh processes at persistent different speeds (README, "Calibration"): a per-block speed
// shared by latency, throughput and CPU, about 13% a pair. The budget caps the pairs; FAIL's
// level stays the default policy's (10 looks), as in a gate that runs out of budget.
test('with per-process speeds, unchanged code still rarely FAILs, and more pairs catch a service regression far more often', (t) => {
  const noise = { ...MEASURED_NOISE, process: 0.095 };
  const capped = (max: number) => ({ ...DEFAULT_POLICY, blocks: { ...DEFAULT_POLICY.blocks, max } });
  const aa = simulateGates(capped(23), noise, {}, 400, mulberry32(23), undefined, 10);
  t.true(aa.FAIL / 400 <= 0.02, `${aa.FAIL} FAILs in 400`);
  const regression = { latency: 1.05, throughput: 1 / 1.15, cpu: 1.17 };
  const short = simulateGates(capped(11), noise, regression, 300, mulberry32(24), undefined, 10);
  const long = simulateGates(capped(23), noise, regression, 300, mulberry32(24), undefined, 10);
  t.true((short.PASS + long.PASS) / 600 <= 0.01, `${short.PASS + long.PASS} PASSes in 600`);
  t.true(short.FAIL / 300 < 0.6, `11 pairs: ${short.FAIL} of 300`);
  t.true(long.FAIL / 300 >= 0.85, `23 pairs: ${long.FAIL} of 300`);
});

// How often the paired gate's rules catch a regression like the end-to-end test's (a service's
// own code 25% slower: CPU about 17% up, throughput 15% down, p50 5% up) as the budget allows
// more pairs, with fresh processes running at different speeds (the per-pair spread of the
// log-ratio measured in CI: 10-16%). Uses the gate's own judge (src/gate/simulate.ts).
//   npx tsx scripts/gate-power.ts [--process 0.095] [--gates 400]
import { parseArgs } from 'node:util';
import { DEFAULT_POLICY } from '../src/config/policy.ts';
import { MEASURED_NOISE, simulateGates } from '../src/gate/simulate.ts';
import { mulberry32 } from '../src/random.ts';

const { values } = parseArgs({ options: { process: { type: 'string', default: '0.095' }, gates: { type: 'string', default: '400' } } });
const noise = { ...MEASURED_NOISE, process: Number(values.process) };
const gates = Number(values.gates);
const regression = { latency: 1.05, throughput: 1 / 1.15, cpu: 1.17 };
process.stdout.write(
  `process speed sd ${noise.process} a block (about ${(noise.process * Math.SQRT2 * 100).toFixed(0)}% a pair), ${gates} gates a row, seed 1\n`,
);
process.stdout.write(
  '| pairs at most | A/A FAIL | A/A PASS | regression FAIL | regression PASS | mean pairs (regression) |\n| --- | --- | --- | --- | --- | --- |\n',
);
for (const max of [11, 14, 17, 20, 23, 29]) {
  // blocks.max stands for what the budget allows; the looks (and so FAIL's level) stay the default policy's 10.
  const policy = { ...DEFAULT_POLICY, blocks: { ...DEFAULT_POLICY.blocks, max } };
  const looks = 1 + Math.ceil((DEFAULT_POLICY.blocks.max - DEFAULT_POLICY.blocks.initial) / DEFAULT_POLICY.blocks.step);
  const aa = simulateGates(policy, noise, {}, gates, mulberry32(1), undefined, looks);
  const slow = simulateGates(policy, noise, regression, gates, mulberry32(2), undefined, looks);
  const pct = (n: number) => `${((n / gates) * 100).toFixed(1)}%`;
  process.stdout.write(`| ${max} | ${pct(aa.FAIL)} | ${pct(aa.PASS)} | ${pct(slow.FAIL)} | ${pct(slow.PASS)} | ${slow.meanPairs.toFixed(1)} |\n`);
}

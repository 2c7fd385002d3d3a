// The gate's validation (npm run test:slow, or agentperf gate --self-test): the mixed workload,
// A/A and three regressions, 20 gates a case, quiet and with a CPU hog beside.
import test from 'ava';
import { gateSelfTest } from '../../src/gate/self-test.ts';

test('the gate: at most 1 false alarm in 20 on A/A; slower upstream calls, more CPU per call and a costlier instrumentation caught at least 19 in 20, quiet and beside a CPU hog', async (t) => {
  t.timeout(120 * 60_000);
  const result = await gateSelfTest({ gates: 20, progress: (line) => t.log(line) });
  for (const row of result.rows) t.true(row.met, `${row.name}, ${row.noise ? 'with a hog' : 'quiet'}: ${JSON.stringify(row.verdicts)}, ${row.failedOnTarget} on target; ${row.requirement}`);
});

// The gate's validation (npm run test:slow, or agentperf gate --self-test): 20 gates per case.
import test from 'ava';
import { gateSelfTest } from '../../src/gate/self-test.ts';

test('the gate: no false alarms on A/A, 10% caught paired, 20% caught against a stored baseline', async (t) => {
  const result = await gateSelfTest(20, (line) => t.log(line));
  for (const row of result.rows) t.true(row.met, `${row.name}: ${JSON.stringify(row.verdicts)}; ${row.requirement}`);
});

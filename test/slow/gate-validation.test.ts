// The gate's validation (npm run test:slow, or agentperf gate --self-test): the mixed workload,
// A/A and three regressions, 20 gates a case, quiet and with a CPU hog beside. It runs the
// built CLI, as a user does: its block processes start from dist/, not through tsx.
import test from 'ava';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SelfTestResult } from '../../src/gate/self-test.ts';
import { runCli } from '../helpers.ts';

test('the gate: at most 1 false alarm in 20 on A/A; slower upstream calls, more CPU per call and a costlier instrumentation caught at least 19 in 20, quiet and beside a CPU hog', async (t) => {
  t.timeout(120 * 60_000);
  const json = join(mkdtempSync(join(tmpdir(), 'agentperf-self-test-')), 'self-test.json');
  const { code, stdout, stderr } = await runCli(['gate', '--self-test', '--gates', '20', '--noise', 'both', '--json', json], { timeoutMs: 120 * 60_000 });
  t.log(stdout);
  const result = JSON.parse(readFileSync(json, 'utf8')) as SelfTestResult;
  t.is(result.rows.length, 8, stderr.slice(-2000));
  for (const row of result.rows)
    t.true(row.met, `${row.name}, ${row.noise ? 'with a hog' : 'quiet'}: ${JSON.stringify(row.verdicts)}, ${row.failedOnTarget} on target; ${row.requirement}`);
  t.is(code, 0);
});

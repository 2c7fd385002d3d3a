import test from 'ava';
import { runCli } from '../helpers.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plan } from '../../src/workflow/plan.ts';
import type { WorkflowRun } from '../../src/workflow/execute.ts';

const example = fileURLToPath(new URL('../../examples/review-workflow.json', import.meta.url));

const run = (args: string[]) => runCli(args);

test('plan prints levels, the critical path and the parallelism of the shipped example', async (t) => {
  const { code, stdout } = await run(['plan', example]);
  t.is(code, 0);
  t.regex(stdout, /critical path \(4000 ms of 6500 ms total work\): understand -> review -> summary/);
  t.regex(stdout, /level 1: review, risks, docs/);
  t.regex(stdout, /speedup bound 1\.63x/);
});

test('a generated workflow plans, and bad workflows exit 2 naming the rule', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'agentperf-plan-'));
  const generated = await run(['plan', '--generate', '200', '--edges', '3']);
  writeFileSync(join(dir, 'g.json'), generated.stdout);
  const plan = JSON.parse((await run(['plan', join(dir, 'g.json'), '--json'])).stdout) as Plan;
  t.is(plan.steps, 200);
  t.is(plan.edges, 3 * 200 - 3 - 2 - 1); // steps 0, 1, 2 have 0, 1, 2 dependencies
  writeFileSync(
    join(dir, 'cycle.json'),
    JSON.stringify({
      steps: [
        { id: 'a', agent: 'x', task: 't', dependsOn: ['b'] },
        { id: 'b', agent: 'x', task: 't', dependsOn: ['a'] },
      ],
    }),
  );
  const cycle = await run(['plan', join(dir, 'cycle.json')]);
  t.is(cycle.code, 2);
  t.regex(cycle.stderr, /AP_ERR_WORKFLOW: the dependencies form a cycle: (a -> b -> a|b -> a -> b)/);
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ steps: [{ id: 'a', task: 't' }] }));
  const bad = await run(['plan', join(dir, 'bad.json')]);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /AP_ERR_CONFIG: .*steps\[0\]\.agent/);
});

test('workflow run executes the example on the simulator; a bad policy exits 2', async (t) => {
  const { code, stdout, stderr } = await runCli(['workflow', 'run', example, '--input', 'a caching change', '--json']);
  t.is(code, 0, stderr);
  const run = JSON.parse(stdout) as WorkflowRun;
  t.is(run.status, 'completed');
  t.deepEqual(
    Object.values(run.steps).map((s) => (s as { status: string }).status),
    ['done', 'done', 'done', 'done', 'done'],
  );
  // The summary started only after both of its dependencies ended.
  const end = (id: string) => (run.steps[id]?.startedAt ?? Number.NaN) + (run.steps[id]?.latencyMs ?? Number.NaN);
  t.true((run.steps.summary?.startedAt ?? Number.NaN) >= Math.max(end('review'), end('risks')) - 1);
  const bad = await runCli(['workflow', 'run', example, '--on-error', 'sometimes']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /on-error must be fail-fast or continue/);
});

// A pull request must not set its own gate. A small project in a git repository of its own: the
// base commit's policy and install command judge the working copy, whatever the working copy's
// config says; the report says what it would change; --policy-from working-copy is for local
// use and says so.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GateResult } from '../../src/gate/run.ts';
import { policyChanges } from '../../src/gate/policy-source.ts';
import { DEFAULT_POLICY } from '../../src/config/policy.ts';
import { removeTemporaryDirs, runCli, temporaryDir } from '../helpers.ts';

test.after.always(removeTemporaryDirs);

const SCENARIO = (loops: number) => `// CPU work of a fixed size per iteration: ${loops} loops.
export default {
  name: 'work',
  async run(_state, i) {
    let x = i | 0;
    for (let k = 0; k < ${loops}; k++) x = (Math.imul(x, 1103515245) + 12345) | 0;
    await new Promise((resolve) => setImmediate(resolve));
    return x;
  },
};
`;

const config = (gate: Record<string, unknown>, install: string) =>
  JSON.stringify(
    {
      scenarios: { work: './work.mjs' },
      install,
      gate: { scenarios: [{ name: 'work', vus: 1, warmupMs: 150, durationMs: 400 }], blocks: { initial: 4, step: 2, max: 8 }, overhead: { pairs: 0 }, ...gate },
    },
    null,
    2,
  );

/** A repository whose base commit gates with tight tolerances; its working copy is twice as slow and loosens the gate. */
function repository(): string {
  const dir = temporaryDir('agentperf-trusted-');
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: dir });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'trusted-policy-project', version: '1.0.0', private: true }));
  writeFileSync(join(dir, 'work.mjs'), SCENARIO(400_000));
  writeFileSync(join(dir, 'policy.json'), JSON.stringify({ tolerances: { p99: 0.5 } }));
  // The base installs with `true`; a pull request's `false` would fail the install if it were used.
  writeFileSync(join(dir, 'agentperf.config.json'), config({}, 'true'));
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-qm', 'base');
  writeFileSync(join(dir, 'work.mjs'), SCENARIO(800_000));
  const loose = Object.fromEntries(['p50', 'p95', 'p99', 'throughput', 'cpu', 'mainThread', 'errorRate', 'peakRss', 'heapAfterGc'].map((m) => [m, 5]));
  writeFileSync(join(dir, 'agentperf.config.json'), config({ tolerances: loose, inconclusive: 'pass' }, 'false'));
  writeFileSync(join(dir, 'policy.json'), JSON.stringify({ tolerances: { p99: 9 } }));
  return dir;
}

test("paired: the base ref's policy, install command and policy file judge the pull request, which is told what it would change; twice the work FAILs", async (t) => {
  t.timeout(240_000);
  const dir = repository();
  const json = join(dir, 'out', 'gate.json');
  const result = await runCli(['gate', '--against', 'HEAD', '--policy', 'policy.json', '--json', json], { cwd: dir, timeoutMs: 200_000 });
  t.is(result.code, 1, `${result.stdout}\n${result.stderr.slice(-2000)}`);
  const gate = JSON.parse(readFileSync(json, 'utf8')) as GateResult;
  t.is(gate.policy.origin, 'base-ref');
  t.regex(gate.policy.where, /^HEAD \([0-9a-f]{12}\)$/);
  const changed = Object.fromEntries(gate.policy.changes.map((c) => [c.field, [c.trusted, c.workingCopy]]));
  t.deepEqual(changed['inconclusive'], ['exit3', 'pass']);
  t.deepEqual(changed['tolerances.p50'], [0.1, 5]);
  // The policy file is the base's version of it, too.
  t.deepEqual(changed['tolerances.p99'], [0.5, 9]);
  t.true(gate.scenarios[0].judgement.metrics.some((m) => m.verdict === 'FAIL' && ['p50', 'throughput', 'cpu', 'mainThread'].includes(m.metric)));
  t.regex(result.stdout, /\*\*Policy:\*\* the base ref's, HEAD \([0-9a-f]{12}\)\./);
  t.regex(
    result.stdout,
    /### Policy changed in this pull request\n\nThe working copy changes the gate's policy; a change takes effect once it is merged \(this gate used the trusted one\)\./,
  );
  t.regex(result.stdout, /\| `inconclusive` \| `"exit3"` \| `"pass"` \|/);
  // Neither side has agentperf installed: both are measured by this one, and the report says so.
  t.false(gate.sides!.baseline.own);
  t.true(
    gate.notes.includes("scenario work's module (work.mjs) changed in this pull request: review the workload, a lighter one hides a regression"),
    gate.notes.join('\n'),
  );
  t.true(gate.notes.some((n) => /^baseline side: .* has no agentperf installed: measured by this agentperf/.test(n)));
});

test("--policy-from working-copy judges with the working copy's policy, and the report says it is not the trusted side's", async (t) => {
  t.timeout(240_000);
  const dir = repository();
  const result = await runCli(['gate', '--against', 'HEAD', '--policy-from', 'working-copy', '--install', 'true'], { cwd: dir, timeoutMs: 200_000 });
  // 5 (500%) tolerances let twice the work through, and "inconclusive": "pass" exits 0.
  t.is(result.code, 0, `${result.stdout}\n${result.stderr.slice(-2000)}`);
  t.regex(result.stdout, /\*\*Policy:\*\* the working copy's \(--policy-from working-copy\): \*\*not the trusted side's\*\*/);
  t.regex(result.stdout, /### Policy changed in this pull request/);
  const bad = await runCli(['gate', '--against', 'HEAD', '--policy-from', 'mine'], { cwd: dir });
  t.is(bad.code, 2);
  t.regex(bad.stderr, /AP_ERR_USAGE: policy-from must be trusted or working-copy, got "mine"/);
});

test('policy changes are listed field by field, arrays by index, and nothing for equal policies', (t) => {
  t.deepEqual(policyChanges(DEFAULT_POLICY, structuredClone(DEFAULT_POLICY)), []);
  const changed = policyChanges(DEFAULT_POLICY, {
    ...DEFAULT_POLICY,
    scenarios: [
      { ...DEFAULT_POLICY.scenarios[0], vus: 4 },
      { ...DEFAULT_POLICY.scenarios[0], name: 'extra' },
    ],
    alpha: 0.2,
  });
  t.deepEqual(
    changed.map((c) => c.field),
    ['alpha', 'scenarios[0].vus', 'scenarios[1]'],
  );
  t.is(changed[2].trusted, undefined);
});

test('a report that cannot be written: a --json path that cannot be written is exit 2 before anything runs; a summary that cannot be appended after the gate is exit 4, with the verdict already printed', async (t) => {
  t.timeout(240_000);
  const dir = repository();
  const early = await runCli(['gate', '--against', 'HEAD', '--json', '/proc/version/gate.json'], { cwd: dir, timeoutMs: 60_000 });
  t.is(early.code, 2, early.stderr);
  t.regex(early.stderr, /^agentperf: AP_ERR_OUT_DIR: --json \/proc\/version\/gate\.json cannot be written \((EEXIST|ENOTDIR)\): nothing was run\n$/);
  t.is(early.stdout, '');
  // GITHUB_STEP_SUMMARY naming a directory: the append fails once the verdict is known.
  const late = await runCli(['gate', '--against', 'HEAD'], { cwd: dir, timeoutMs: 200_000, env: { GITHUB_STEP_SUMMARY: dir } });
  t.is(late.code, 4, late.stderr);
  t.regex(late.stdout, /^## agentperf gate: ❌ FAIL/);
  t.regex(late.stderr, /AP_ERR_WRITE: could not append the report to GITHUB_STEP_SUMMARY/);
});

test("a candidate whose scenario setup throws: the gate says so in the child's own line (AP_ERR_SCENARIO_SETUP, exit 4), never a regression", async (t) => {
  t.timeout(120_000);
  const dir = repository();
  writeFileSync(join(dir, 'work.mjs'), "export default { name: 'work', async setup() { throw new Error('the database is not there'); }, async run() {} };\n");
  const result = await runCli(['gate', '--against', 'HEAD'], { cwd: dir, timeoutMs: 100_000 });
  t.is(result.code, 4, result.stderr);
  t.regex(
    result.stderr,
    /^agentperf: AP_ERR_SCENARIO_SETUP: a gate block of work in .*: the setup of scenario "work" threw: the database is not there \(at .*work\.mjs:1:\d+\)$/m,
  );
  t.notRegex(result.stderr, /\n\s+at .*\(/, 'no stack');
});

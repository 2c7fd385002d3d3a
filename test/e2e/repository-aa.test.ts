// Both sides of a paired gate are measured alike: a paired A/A of this repository (its own
// `mixed` scenario, loaded from its TypeScript sources on each side) shows no systematic offset
// in any metric. Each side runs its own agentperf, so each side loads one copy of agentperf,
// the SDK and OpenTelemetry (when the base side ran the candidate's agentperf beside its own
// sources, its heap after GC read 12% higher [12, 12] in every A/A run).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GateResult } from '../../src/gate/run.ts';
import { runCli } from '../helpers.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

test("a paired A/A of this repository: every metric's interval contains no change, or lies within ±2%", async (t) => {
  t.timeout(600_000);
  const root = mkdtempSync(join(tmpdir(), 'agentperf-repo-aa-'));
  const candidate = join(root, 'candidate');
  const git = (...args: string[]) => execFileSync('git', args, { cwd: REPO, encoding: 'utf8' });
  // The committed code on both sides: the candidate is a worktree of HEAD too (the checkout
  // this test runs in may have changes of its own), built once; the base copies its build.
  git('worktree', 'add', '--detach', candidate, 'HEAD');
  try {
    symlinkSync(join(REPO, 'node_modules'), join(candidate, 'node_modules'));
    execFileSync(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: candidate });
    // A short policy, outside the repository (so it applies to both sides as given): 8 pairs of
    // short blocks, and intervals at 99.9% each (alpha 0.001), so that across the nine metrics
    // the chance of one interval missing a true "no change" is under 1%.
    const policy = join(root, 'policy.json');
    writeFileSync(
      policy,
      JSON.stringify({
        scenarios: [{ name: 'mixed', vus: 20, warmupMs: 500, durationMs: 1000, settings: { warm: '16' } }],
        blocks: { initial: 8, step: 1, max: 8 },
        overhead: { pairs: 0 },
        alpha: 0.001,
      }),
    );
    const json = join(root, 'gate.json');
    const install = `ln -s ${JSON.stringify(join(REPO, 'node_modules'))} node_modules && cp -r ${JSON.stringify(join(candidate, 'dist'))} dist`;
    const result = await runCli(['gate', '--against', 'HEAD', '--policy', policy, '--install', install, '--json', json], {
      cwd: candidate,
      timeoutMs: 500_000,
    });
    t.true(result.code === 0 || result.code === 3, `exit ${result.code}\n${result.stdout}\n${result.stderr.slice(-3000)}`);
    const gate = JSON.parse(readFileSync(json, 'utf8')) as GateResult;
    t.true(gate.sides!.baseline.own && gate.sides!.candidate.own, 'each side measured by its own agentperf');
    t.not(gate.sides!.baseline.packageRoot, gate.sides!.candidate.packageRoot);
    const metrics = gate.scenarios[0].judgement.metrics.filter((m) => !m.metric.startsWith('slo.'));
    t.true(metrics.length >= 9);
    for (const m of metrics) {
      t.log(`${m.metric}: ${m.changePct.toFixed(2)} [${m.lowPct.toFixed(2)}, ${m.highPct.toFixed(2)}]`);
      const holdsZero = m.lowPct <= 0 && m.highPct >= 0;
      const small = m.lowPct >= -2 && m.highPct <= 2;
      t.true(
        holdsZero || small,
        `${m.metric}: ${m.changePct.toFixed(2)}% [${m.lowPct.toFixed(2)}, ${m.highPct.toFixed(2)}] is a systematic offset between two copies of the same commit`,
      );
    }
  } finally {
    git('worktree', 'remove', '--force', candidate);
    rmSync(root, { recursive: true, force: true });
  }
});

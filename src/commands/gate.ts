import { Command } from 'commander';
import { appendFile } from 'node:fs/promises';
import { writeFileAtomic } from '../files/atomic.js';
import { loadPolicy, type GatePolicy } from '../config/policy.js';
import { currentProject, givenOr, loadProjectFrom } from '../config/project.js';
import { ErrorCode, UsageError, ValidationError } from '../errors.js';
import { checkoutRef } from '../gate/checkout.js';
import { gateAgainstBaselines, gatedScenarios, gatePaired, type GateResult } from '../gate/run.js';
import { scenarioNames } from '../load/scenarios/index.js';
import { gateSelfTest } from '../gate/self-test.js';
import { formatGateMarkdown, formatSelfTest } from '../report/gate.js';
import { parseIntegerOption } from '../units.js';
import { collect, print, progressToStderr } from './options.js';

export interface GateOptions {
  policyFile?: string;
  scenarios?: string[];
  against?: string;
  /** How the other side's dependencies are installed (default: from its lockfile). */
  install?: string;
  /** Default: the project's baselines directory. */
  baselineDir?: string;
  jsonFile?: string;
}

/** Exit code from the verdict: 0 pass, 1 regression, 3 inconclusive (or as the policy says). */
export function exitCodeFor(result: GateResult, policy: GatePolicy): 0 | 1 | 3 {
  if (result.overall === 'FAIL') return 1;
  if (result.overall === 'PASS') return 0;
  return policy.inconclusive === 'pass' ? 0 : policy.inconclusive === 'fail' ? 1 : 3;
}

/** `agentperf gate`: against stored baselines, or paired against a git ref; the report as Markdown. */
export async function run(options: GateOptions): Promise<{ markdown: string; exitCode: 0 | 1 | 3 }> {
  const project = await currentProject();
  const policy = await loadPolicy(options.policyFile, project.policy);
  // Checked before anything is checked out or measured.
  const gated = gatedScenarios(policy, options.scenarios, scenarioNames(project));
  let result: GateResult;
  if (options.against) {
    const checkout = await checkoutRef(options.against, project.root, { install: options.install ?? project.config.install, progress: progressToStderr });
    try {
      const other = scenarioNames(await loadProjectFrom(checkout.root));
      const missing = gated.filter((s) => !other.includes(s.name));
      if (missing.length > 0) throw new ValidationError(ErrorCode.SCENARIO, 'scenario', `${options.against} (${checkout.commit.slice(0, 12)}) does not define scenario ${missing.map((s) => JSON.stringify(s.name)).join(', ')}, so there is nothing to compare with: its scenarios are ${other.join(', ')}`);
      result = await gatePaired({ root: checkout.root }, { root: project.root }, policy, progressToStderr, { scenarios: options.scenarios, against: options.against });
    } finally {
      await checkout.remove();
    }
  } else {
    result = await gateAgainstBaselines(project.root, givenOr(options.baselineDir, project.baselineDir), policy, progressToStderr, options.scenarios);
  }
  const markdown = formatGateMarkdown(result);
  // In GitHub Actions the report also becomes the job's summary.
  if (process.env.GITHUB_STEP_SUMMARY) await appendFile(process.env.GITHUB_STEP_SUMMARY, markdown);
  if (options.jsonFile) await writeFileAtomic(options.jsonFile, `${JSON.stringify(result, null, 2)}\n`);
  return { markdown, exitCode: exitCodeFor(result, policy) };
}

export const command = new Command('run')
  .description('run the gated scenarios and judge every metric PASS, FAIL or INCONCLUSIVE (exit 0, 1 or 3)')
  .option('--scenario <name>', 'gate only this scenario, repeatable', collect, [])
  .option('--policy <file>', "gate policy JSON (defaults: the mixed scenario, 10% tolerances, the seeds' SLOs)")
  .option('--against <git-ref>', "the paired mode: the ref of this project's repository in a temporary worktree against the working copy, ABBA blocks (recommended for pull requests)")
  .option('--install <command>', "with --against: how to install the ref's dependencies (default from its lockfile: npm ci, pnpm install --frozen-lockfile, yarn install --frozen-lockfile)")
  .option('--baselines <dir>', "where baselines are stored (default: the project's baselines/)")
  .option('--json <file>', 'also write the result as JSON')
  .option('--self-test', "the gate's own validation on this machine: A/A and three regressions of the mixed workload, quiet and with a CPU hog (about 85 minutes at 20 gates a case)")
  .option('--gates <n>', 'gates per self-test case', '20')
  .option('--noise <when>', 'self-test: quiet | hog | both (a busy-loop process beside the gates)', 'both')
  .action(async (opts) => {
    if (opts.selfTest) {
      const noise = String(opts.noise);
      if (!['quiet', 'hog', 'both'].includes(noise)) throw new UsageError('noise', `noise must be quiet, hog or both, got ${JSON.stringify(noise)}`);
      const conditions: Array<'quiet' | 'noise'> = noise === 'both' ? ['quiet', 'noise'] : noise === 'hog' ? ['noise'] : ['quiet'];
      const result = await gateSelfTest({ gates: parseIntegerOption('gates', opts.gates, 1, 1_000), conditions, progress: progressToStderr });
      print(formatSelfTest(result));
      if (opts.json) await writeFileAtomic(opts.json, `${JSON.stringify(result, null, 2)}\n`);
      process.exitCode = result.rows.every((r) => r.met) ? 0 : 1;
      return;
    }
    const result = await run({ policyFile: opts.policy, scenarios: opts.scenario.length ? opts.scenario : undefined, against: opts.against, install: opts.install, baselineDir: opts.baselines, jsonFile: opts.json });
    print(result.markdown);
    process.exitCode = result.exitCode;
  });

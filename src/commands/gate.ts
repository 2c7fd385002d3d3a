import { Command } from 'commander';
import { appendFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { writeFileAtomic } from '../files/atomic.js';
import { loadPolicy, type GatePolicy } from '../config/policy.js';
import { checkoutRef, gateAgainstBaselines, gatedScenarios, gatePaired, HERE, type GateResult } from '../gate/run.js';
import { gateSelfTest } from '../gate/self-test.js';
import { formatGateMarkdown, formatSelfTest } from '../report/gate.js';
import { parseIntegerOption } from '../units.js';
import { collect, print, progressToStderr } from './options.js';

export interface GateOptions {
  policyFile?: string;
  scenarios?: string[];
  against?: string;
  baselineDir: string;
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
  const policy = await loadPolicy(options.policyFile);
  gatedScenarios(policy, options.scenarios); // checked before anything is checked out or measured
  let result: GateResult;
  if (options.against) {
    const checkout = await checkoutRef(options.against, progressToStderr);
    try {
      result = await gatePaired({ root: checkout.root }, { root: HERE }, policy, progressToStderr, options.scenarios, options.against);
    } finally {
      await checkout.remove();
    }
  } else {
    result = await gateAgainstBaselines(resolve(options.baselineDir), policy, progressToStderr, options.scenarios);
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
  .option('--against <git-ref>', 'the paired mode: the ref in a temporary worktree against this checkout, ABBA blocks (recommended for pull requests)')
  .option('--baselines <dir>', 'where baselines are stored', 'baselines')
  .option('--json <file>', 'also write the result as JSON')
  .option('--self-test', "the gate's own validation: A/A, 10% and 20% slowdowns on the synthetic scenario (about 20 minutes)")
  .option('--gates <n>', 'gates per self-test case', '20')
  .action(async (opts) => {
    if (opts.selfTest) {
      const result = await gateSelfTest(parseIntegerOption('gates', opts.gates, 1, 1_000), progressToStderr);
      print(formatSelfTest(result));
      process.exitCode = result.rows.every((r) => r.met) ? 0 : 1;
      return;
    }
    const result = await run({ policyFile: opts.policy, scenarios: opts.scenario.length ? opts.scenario : undefined, against: opts.against, baselineDir: opts.baselines, jsonFile: opts.json });
    print(result.markdown);
    process.exitCode = result.exitCode;
  });

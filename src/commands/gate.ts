import { Command } from 'commander';
import { appendFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { assertWritable, writeFileAtomic } from '../files/atomic.js';
import { DEFAULT_POLICY, projectDefaultPolicy, type GatePolicy } from '../config/policy.js';
import { currentProject, givenOr, loadProjectFrom, splitModuleExport, type Project } from '../config/project.js';
import { AgentperfError, ErrorCode, UsageError, ValidationError, type ExitCode } from '../errors.js';
import { missingBaselineError } from '../gate/baseline.js';
import { checkoutRef, repositoryRoot } from '../gate/checkout.js';
import { currentFingerprint } from '../gate/fingerprint.js';
import { baseRefPolicy, policyChanges, storedPolicy, workingCopyPolicy, type PolicyProvenance } from '../gate/policy-source.js';
import { gateAgainstBaselines, gatedScenarios, gatePaired, storedBaselines, type GateResult } from '../gate/run.js';
import { sideRunner } from '../gate/side.js';
import { scenarioNames } from '../scenarios/index.js';
import { gateSelfTest, SELF_TEST_CASES, SERVICE_CASES } from '../gate/self-test.js';
import { formatGateMarkdown, formatSelfTest } from '../report/gate.js';
import { parseIntegerOption } from '../units.js';
import { collect, print, progressToStderr, sayWhenNoConfig } from './options.js';

export type PolicyFrom = 'trusted' | 'working-copy';

export interface GateOptions {
  policyFile?: string;
  /** Whose policy judges: the trusted side's (the base ref's, or the baseline's), or the working copy's (local use). */
  policyFrom?: PolicyFrom;
  scenarios?: string[];
  against?: string;
  /** How the other side's dependencies are installed (default: its own config's, else its lockfile's). */
  install?: string;
  /** Default: the project's baselines directory. */
  baselineDir?: string;
  jsonFile?: string;
}

/**
 * Exit code from the verdict: 0 pass, 1 regression, 3 inconclusive (or as the policy says). A
 * gate that refused to judge (a machine measuring outside the calibration band) is 3 whatever
 * the policy says: it is no verdict to turn into a pass or a fail.
 */
export function exitCodeFor(result: GateResult, policy: GatePolicy): ExitCode {
  if (result.overall === 'FAIL') return 1;
  if (result.overall === 'PASS') return 0;
  if (result.scenarios.some((s) => s.judgement.refused)) return 3;
  return policy.inconclusive === 'pass' ? 0 : policy.inconclusive === 'fail' ? 1 : 3;
}

/** The paired gate: the ref checked out and installed, its policy trusted, each side measured by its own agentperf. */
async function paired(project: Project, working: GatePolicy, options: GateOptions): Promise<{ result: GateResult; policy: GatePolicy }> {
  const ref = options.against!;
  const checkout = await checkoutRef(ref, project.root, { install: options.install, progress: progressToStderr });
  try {
    const base = await loadProjectFrom(checkout.root);
    const where = `${ref} (${checkout.commit.slice(0, 12)})`;
    // A base with no agentperf config of its own (the pull request that adds agentperf) has no
    // policy of its own: the defaults judge, with the working copy's scenarios (which the base
    // must define to be compared), and what the working copy changes in them is listed.
    const noConfig = base.configFile === undefined;
    const defaults = noConfig
      ? { ...(project.scenarios.size > 0 ? projectDefaultPolicy([...project.scenarios.keys()]) : DEFAULT_POLICY), scenarios: working.scenarios }
      : undefined;
    const trusted = defaults ? { policy: defaults, notes: [] } : await baseRefPolicy(base, checkout.repoRoot, checkout.worktree, options.policyFile);
    const fromWorkingCopy = options.policyFrom === 'working-copy';
    const policy = fromWorkingCopy ? working : trusted.policy;
    const provenance: PolicyProvenance = {
      origin: fromWorkingCopy ? 'working-copy' : noConfig ? 'defaults' : 'base-ref',
      where: fromWorkingCopy
        ? 'the working copy (--policy-from working-copy)'
        : noConfig
          ? `${where} has no agentperf config, so the default rules judge the working copy's scenarios`
          : where,
      changes: policyChanges(trusted.policy, working),
      notes: trusted.notes,
    };
    // Both sides must define what is gated: the candidate to be measured, the base to compare with.
    const gated = gatedScenarios(policy, options.scenarios, scenarioNames(project));
    const other = scenarioNames(base);
    const missing = gated.filter((s) => !other.includes(s.name));
    if (missing.length > 0)
      throw new ValidationError(
        ErrorCode.SCENARIO,
        'scenario',
        `${ref} (${checkout.commit.slice(0, 12)}) does not define scenario ${missing.map((s) => JSON.stringify(s.name)).join(', ')}, so there is nothing to compare with: its scenarios are ${other.join(', ')}`,
      );
    const [baseRunner, candidateRunner] = [await sideRunner(checkout.root), await sideRunner(project.root)];
    const notes = [baseRunner.note && `baseline side: ${baseRunner.note}`, candidateRunner.note && `candidate side: ${candidateRunner.note}`].filter(
      (n): n is string => Boolean(n),
    );
    if (baseRunner.version !== candidateRunner.version)
      notes.push(
        `the sides are measured by different agentperf versions (${baseRunner.version} and ${candidateRunner.version}): a difference in how they measure would show as a change`,
      );
    notes.push(
      ...changedScenarioModules(
        gated.map((g) => g.name),
        base,
        project,
      ),
    );
    const result = await gatePaired({ root: checkout.root, runner: baseRunner }, { root: project.root, runner: candidateRunner }, policy, progressToStderr, {
      scenarios: options.scenarios,
      against: { ref, commit: checkout.commit },
      provenance,
      notes,
    });
    return { result, policy };
  } finally {
    await checkout.remove();
  }
}

/**
 * The gated scenarios whose module the pull request changed (or moved): the workload is the
 * candidate's own, and a lighter one would hide a regression, so the report points at it.
 */
function changedScenarioModules(names: readonly string[], base: Project, candidate: Project): string[] {
  const digest = (file: string) => (existsSync(file) ? createHash('sha256').update(readFileSync(file)).digest('hex') : 'missing');
  const out: string[] = [];
  for (const name of names) {
    const [was, now] = [base.scenarios.get(name), candidate.scenarios.get(name)];
    if (!was || !now) continue;
    const [wasFile, nowFile] = [splitModuleExport(was), splitModuleExport(now)];
    const [wasRel, nowRel] = [relative(base.root, wasFile.file), relative(candidate.root, nowFile.file)];
    if (wasRel !== nowRel || wasFile.exportName !== nowFile.exportName)
      out.push(
        `scenario ${name} moved in this pull request, from ${was.replace(base.root + '/', '')} to ${now.replace(candidate.root + '/', '')}: review the workload, a lighter one hides a regression`,
      );
    else if (digest(wasFile.file) !== digest(nowFile.file))
      out.push(`scenario ${name}'s module (${nowRel}) changed in this pull request: review the workload, a lighter one hides a regression`);
  }
  return out;
}

/** The stored gate: this class's baselines, checked; the newest one's policy trusted. */
async function stored(project: Project, working: GatePolicy, options: GateOptions): Promise<{ result: GateResult; policy: GatePolicy }> {
  const dir = givenOr(options.baselineDir, project.baselineDir);
  const set = await storedBaselines(dir);
  if (!set.newest) throw await missingBaselineError(dir, gatedScenarios(working, options.scenarios)[0].name, currentFingerprint());
  const repoRoot = await repositoryRoot(project.root).catch(() => undefined);
  const trusted = await storedPolicy(set.newest.baseline.policy, repoRoot, options.policyFile);
  const fromWorkingCopy = options.policyFrom === 'working-copy';
  const policy = fromWorkingCopy ? working : trusted.policy;
  const provenance: PolicyProvenance = {
    origin: fromWorkingCopy ? 'working-copy' : 'baseline',
    where: fromWorkingCopy ? 'the working copy (--policy-from working-copy)' : `${set.newest.file} (recorded ${set.newest.baseline.createdAt})`,
    changes: policyChanges(trusted.policy, working),
    notes: trusted.notes,
  };
  const result = await gateAgainstBaselines(project.root, dir, policy, provenance, progressToStderr, {
    stored: set,
    scenarios: options.scenarios,
    defined: scenarioNames(project),
  });
  return { result, policy };
}

/** `agentperf gate`: against stored baselines, or paired against a git ref; the report as Markdown. */
export async function run(options: GateOptions): Promise<{ result: GateResult; markdown: string; exitCode: ExitCode }> {
  const project = await currentProject();
  sayWhenNoConfig(project, "gating agentperf's built-in scenario mixed with the default policy");
  const working = await workingCopyPolicy(project, options.policyFile);
  // Checked before anything is checked out or measured: a typo fails in a second, not after the gate.
  if (options.scenarios?.length) gatedScenarios(working, options.scenarios, scenarioNames(project));
  if (options.jsonFile) await assertWritable(resolve(options.jsonFile), 'json');
  const { result, policy } = options.against ? await paired(project, working, options) : await stored(project, working, options);
  return { result, markdown: formatGateMarkdown(result), exitCode: exitCodeFor(result, policy) };
}

/** The report first (stdout), then the files: a file that cannot be written is exit 4 after the verdict was printed. */
export async function writeOutputs(result: GateResult, markdown: string, jsonFile: string | undefined): Promise<void> {
  // In GitHub Actions the report also becomes the job's summary.
  const summary = process.env.GITHUB_STEP_SUMMARY;
  if (summary) {
    await appendFile(summary, markdown).catch((error: Error) => {
      throw new AgentperfError(ErrorCode.WRITE, `could not append the report to GITHUB_STEP_SUMMARY (${summary}): ${error.message}`, { cause: error });
    });
  }
  if (jsonFile) await writeFileAtomic(jsonFile, `${JSON.stringify(result, null, 2)}\n`);
}

/** The flags as commander parses them (its action's options are untyped). */
interface GateFlags {
  against?: string;
  baselines?: string;
  cases: string;
  gates: string;
  install?: string;
  json?: string;
  noise: string;
  policy?: string;
  policyFrom: string;
  scenario: string[];
  selfTest?: boolean;
}

export const command = new Command('run')
  .description('run the gated scenarios and judge every metric PASS, FAIL or INCONCLUSIVE (exit 0, 1 or 3; 2 bad input, 4 the gate could not run)')
  .option('--scenario <name>', 'gate only this scenario, repeatable', collect, [])
  .option('--policy <file>', "gate policy JSON over the project's (in paired mode read from the base ref's tree)")
  .option(
    '--policy-from <side>',
    "whose policy judges: trusted (the base ref's in paired mode, the baseline's in stored mode) or working-copy (for trying a policy locally; the report says so)",
    'trusted',
  )
  .option(
    '--against <git-ref>',
    "the paired mode: the ref of this project's repository in a temporary worktree against the working copy, ABBA blocks (recommended for pull requests)",
  )
  .option(
    '--install <command>',
    "with --against: how to install the ref's dependencies (default: the ref's config's install, else by its lockfile: npm ci, pnpm install --frozen-lockfile, yarn install --frozen-lockfile)",
  )
  .option('--baselines <dir>', "where baselines are stored (default: the project's baselines/)")
  .option('--json <file>', 'also write the result as JSON')
  .option(
    '--self-test',
    "the gate's own validation on this machine: A/A and regressions of the mixed workload and of a service like a user's, quiet and with a CPU hog",
  )
  .option('--gates <n>', 'gates per self-test case', '20')
  .option('--noise <when>', 'self-test: quiet | hog | both (a busy-loop process beside the gates)', 'both')
  .option('--cases <which>', "self-test: mixed (the standard workload's four cases), service (the user-style service's two) or all", 'all')
  .action(async (opts: GateFlags) => {
    if (opts.selfTest) {
      const noise = String(opts.noise);
      if (!['quiet', 'hog', 'both'].includes(noise)) throw new UsageError('noise', `noise must be quiet, hog or both, got ${JSON.stringify(noise)}`);
      const conditions: Array<'quiet' | 'noise'> = noise === 'both' ? ['quiet', 'noise'] : noise === 'hog' ? ['noise'] : ['quiet'];
      const which = String(opts.cases);
      if (!['mixed', 'service', 'all'].includes(which)) throw new UsageError('cases', `cases must be mixed, service or all, got ${JSON.stringify(which)}`);
      const cases = which === 'all' ? undefined : SELF_TEST_CASES.filter((c) => (which === 'service') === SERVICE_CASES.has(c));
      if (opts.json) await assertWritable(resolve(opts.json), 'json');
      const result = await gateSelfTest({ gates: parseIntegerOption('gates', opts.gates, 1, 1_000), conditions, cases, progress: progressToStderr });
      print(formatSelfTest(result));
      if (opts.json) await writeFileAtomic(opts.json, `${JSON.stringify(result, null, 2)}\n`);
      process.exitCode = result.rows.every((r) => r.met) ? 0 : 1;
      return;
    }
    const policyFrom = String(opts.policyFrom);
    if (policyFrom !== 'trusted' && policyFrom !== 'working-copy')
      throw new UsageError('policy-from', `policy-from must be trusted or working-copy, got ${JSON.stringify(policyFrom)}`);
    const jsonFile = opts.json === undefined ? undefined : resolve(opts.json);
    const outcome = await run({
      policyFile: opts.policy,
      policyFrom,
      scenarios: opts.scenario.length ? opts.scenario : undefined,
      against: opts.against,
      install: opts.install,
      baselineDir: opts.baselines,
      jsonFile,
    });
    print(outcome.markdown);
    await writeOutputs(outcome.result, outcome.markdown, jsonFile);
    process.exitCode = outcome.exitCode;
  });

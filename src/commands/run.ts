import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { currentProject, givenOr } from '../config/project.js';
import { loadPolicy, type GatePolicy } from '../config/policy.js';
import { defaultProfileDir } from '../profiling/profile-run.js';
import { runPipeline, type RunRecord } from '../pipeline/pipeline.js';
import { parsePlan, standardPlan, type Phase } from '../pipeline/plan.js';
import { writeRunReports, type RunFiles } from './run-files.js';
import { formatRunText } from '../report/run-report.js';
import { UsageError } from '../errors.js';
import { parseDurationMs, parseIntegerOption, parseNumberOption } from '../units.js';
import { parseSeed, parseSettings, print, progressToStderr } from './options.js';

export interface RunCommandOptions {
  scenario: string;
  settings: Record<string, string>;
  quick: boolean;
  /** Measured load length for the standard plan; default 20 s (8 s with --quick). */
  durationMs?: number;
  rate: number;
  spikeRate: number;
  /** A custom plan (`--plan`), instead of the standard one. */
  plan?: string;
  gate: boolean;
  live: boolean;
  seed: number;
  metricsPort: number;
  out?: string;
  baselines?: string;
  policyFile?: string;
  /** The arguments after `agentperf`, to print the command that reproduces the run. */
  argv: readonly string[];
}

export const DEFAULT_RUN_DURATION_MS = 20_000;
export const QUICK_RUN_DURATION_MS = 8_000;

/**
 * The gate's block budget inside `run`: fewer candidate blocks than `agentperf gate` (which is
 * the CI blocker), so that the whole job stays within two minutes on a 2-core machine.
 */
function runPolicy(policy: GatePolicy, quick: boolean): GatePolicy {
  return {
    ...policy,
    blocks: quick ? { initial: 3, step: 1, max: 3 } : { initial: 3, step: 2, max: 5 },
    overhead: { ...policy.overhead, pairs: quick ? 2 : Math.max(2, policy.overhead.pairs) },
    budgetMs: quick ? 30_000 : 60_000,
  };
}

const quote = (arg: string) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);

/** `agentperf run`: the pipeline, then the reports. A failure leaves no run directory behind. */
export async function run(options: RunCommandOptions, progress: (line: string) => void): Promise<{ run: RunRecord; files: RunFiles }> {
  const phases: Phase[] = options.plan
    ? parsePlan('plan', options.plan)
    : standardPlan({
        durationMs: options.durationMs ?? (options.quick ? QUICK_RUN_DURATION_MS : DEFAULT_RUN_DURATION_MS),
        rate: options.rate,
        spikeRate: options.spikeRate,
      });
  const project = await currentProject();
  const policy = runPolicy(await loadPolicy(options.policyFile, project.policy), options.quick);
  const outDir = givenOr(options.out, defaultProfileDir(project.profileDir, 'run'));
  const existed = existsSync(outDir); // a directory of the user's is never removed
  try {
    const run = await runPipeline(
      {
        scenario: options.scenario,
        settings: options.settings,
        phases,
        warmupMs: options.quick ? 1_000 : 2_000,
        quick: options.quick,
        gate: options.gate,
        live: options.live,
        seed: options.seed,
        metricsPort: options.metricsPort,
        outDir,
        projectRoot: project.root,
        baselineDir: givenOr(options.baselines, project.baselineDir),
        policy,
        command: ['npx', 'agentperf', ...options.argv.map(quote)].join(' '),
      },
      progress,
    );
    return { run, files: await writeRunReports(run, outDir) };
  } catch (error) {
    if (!existed) await rm(outDir, { recursive: true, force: true });
    throw error;
  }
}

/** The flags as commander parses them (its action's options are untyped). */
interface RunFlags {
  baselines?: string;
  duration?: string;
  gate: boolean;
  live?: boolean;
  metricsPort: string;
  out?: string;
  plan?: string;
  policy?: string;
  quick?: boolean;
  rate: string;
  scenario: string;
  seed: string;
  set: string[];
  spikeRate: string;
}

export const command = new Command('run')
  .description('the main job: load, profile, leak check, overhead and gate on the standard plan, with HTML, Markdown and JSON reports')
  .option('--scenario <name>', 'scenario to run (cache-hit, cache-miss, mixed, ...)', 'mixed')
  .option('--set <key=value>', 'scenario setting, repeatable', (value: string, previous: string[]) => [...previous, value], [] as string[])
  .option('--quick', 'a shorter run: 8 s of load, a shorter leak check, fewer gate blocks (about a minute)')
  .option('--duration <d>', 'measured load, all phases of the standard plan together (default 20s; 8s with --quick)')
  .option('--rate <n>', 'arrivals per second in the steady phase', '200')
  .option('--spike-rate <n>', 'arrivals per second at the spike', '800')
  .option('--plan <spec>', "custom phases instead of the standard plan, e.g. 'ramp=20->200:5s,steady=200:10s,spike=800:3s'")
  .option('--no-gate', 'skip the gate against the stored baselines')
  .option('--baselines <dir>', "where the baselines are (default: the project's baselines/)")
  .option('--policy <file>', 'gate policy file (JSON, overrides the defaults)')
  .option('--out <dir>', "where the run directory goes (default: the project's profiles/run/<timestamp>)")
  .option('--seed <n>', 'simulator seed', '1')
  .option('--metrics-port <n>', 'port of the Prometheus /metrics endpoint during the run (0: any free port)', '9464')
  .option('--live', 'load the real API (needs ANTHROPIC_API_KEY); the leak check, overhead and gate stay on the simulator')
  .action(async (opts: RunFlags) => {
    if (opts.live && !process.env.ANTHROPIC_API_KEY) throw new UsageError('live', '--live needs ANTHROPIC_API_KEY in the environment');
    const { run: record, files } = await run(
      {
        scenario: opts.scenario,
        settings: parseSettings(opts.set),
        quick: Boolean(opts.quick),
        durationMs: opts.duration === undefined ? undefined : parseDurationMs('duration', opts.duration),
        rate: parseNumberOption('rate', opts.rate, 1, 100_000),
        spikeRate: parseNumberOption('spike-rate', opts.spikeRate, 1, 100_000),
        plan: opts.plan,
        gate: opts.gate,
        live: Boolean(opts.live),
        seed: parseSeed(opts.seed),
        metricsPort: parseIntegerOption('metrics-port', opts.metricsPort, 0, 65_535),
        out: opts.out,
        baselines: opts.baselines,
        policyFile: opts.policy,
        argv: process.argv.slice(2),
      },
      progressToStderr,
    );
    print(formatRunText(record, files));
    process.exitCode = record.exitCode;
  });

import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DEFAULT_BASELINE_DIR } from '../gate/baseline.js';
import { loadPolicy, type GatePolicy } from '../gate/policy.js';
import { defaultProfileDir } from '../profiling/profile-run.js';
import { runPipeline, type RunRecord } from '../pipeline/pipeline.js';
import { parsePlan, standardPlan, type Phase } from '../pipeline/plan.js';
import { writeRunReports, type RunFiles } from '../report/run-report.js';

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
export async function runCommand(options: RunCommandOptions, progress: (line: string) => void): Promise<{ run: RunRecord; files: RunFiles }> {
  const phases: Phase[] = options.plan ? parsePlan('plan', options.plan) : standardPlan({ durationMs: options.durationMs ?? (options.quick ? QUICK_RUN_DURATION_MS : DEFAULT_RUN_DURATION_MS), rate: options.rate, spikeRate: options.spikeRate });
  const policy = runPolicy(await loadPolicy(options.policyFile), options.quick);
  const outDir = resolve(options.out ?? defaultProfileDir('run'));
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
        baselineDir: options.baselines ? resolve(options.baselines) : DEFAULT_BASELINE_DIR,
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

import { Command } from 'commander';
import { join } from 'node:path';
import { currentProject, givenOr } from '../config/project.js';
import type { AgentTarget } from '../scenarios/types.js';
import { resolveScenario } from '../scenarios/index.js';
import { DEFAULT_LEAK_OPTIONS, detectLeak, type LeakReport } from '../profiling/leak.js';
import { defaultProfileDir } from '../profiling/profile-run.js';
import { formatLeakReport } from '../report/profile.js';
import { parseIntegerOption, parseNumberOption } from '../units.js';
import { parseSeed, parseSettings, print, targetFrom, withScenarioOptions, type ScenarioFlags } from './options.js';

export interface LeakCommandOptions {
  scenario: string;
  rounds: number;
  iterationsPerRound: number;
  warmupRounds: number;
  concurrency: number;
  thresholdBytesPerIteration: number;
  snapshotRounds: number;
  maxRounds: number;
  outDir?: string;
  settings: Record<string, string>;
  target: AgentTarget;
  seed: number;
}

/** `agentperf leak`: rounds in a child process with GC forced between them; LEAK or CLEAN from the slope. */
export async function run(options: LeakCommandOptions): Promise<LeakReport> {
  const project = await currentProject();
  const scenario = await resolveScenario(options.scenario, project); // bad names fail here, with exit 2
  const outDir = givenOr(options.outDir, join(defaultProfileDir(project.profileDir, scenario.name), 'leak'));
  return detectLeak({ ...options, outDir });
}

/** The flags as commander parses them (its action's options are untyped). */
interface LeakFlags extends ScenarioFlags {
  concurrency: string;
  iterations: string;
  json?: boolean;
  maxRounds: string;
  out?: string;
  rounds: string;
  snapshotRounds: string;
  threshold: string;
  warmupRounds: string;
}

export const command = withScenarioOptions(new Command('leak'))
  .description('run a scenario in rounds with GC forced between them; CLEAN (exit 0), LEAK (exit 1) or INCONCLUSIVE (exit 3) from the slope of retained bytes')
  .argument('<scenario>', 'cache-hit | cache-miss | mixed | mixed-stream | http | path/to/scenario.ts')
  .option('--rounds <n>', 'measured rounds', String(DEFAULT_LEAK_OPTIONS.rounds))
  .option('--iterations <n>', 'iterations per round', String(DEFAULT_LEAK_OPTIONS.iterationsPerRound))
  .option('--warmup-rounds <n>', 'rounds run before measuring (JIT, caches filling)', String(DEFAULT_LEAK_OPTIONS.warmupRounds))
  .option('--concurrency <n>', 'iterations in flight at once', String(DEFAULT_LEAK_OPTIONS.concurrency))
  .option(
    '--threshold <bytes>',
    'bytes retained per iteration: CLEAN when the whole 95% interval is under it, LEAK when it is above (and the snapshots agree)',
    String(DEFAULT_LEAK_OPTIONS.thresholdBytesPerIteration),
  )
  .option('--max-rounds <n>', 'while the interval straddles the threshold, more rounds up to this many measured rounds', String(DEFAULT_LEAK_OPTIONS.maxRounds))
  .option('--snapshot-rounds <n>', 'rounds between the three snapshots taken on a LEAK', String(DEFAULT_LEAK_OPTIONS.snapshotRounds))
  .option('--out <dir>', 'where the snapshots go (default profiles/<scenario>/<timestamp>/leak)')
  .option('--json', 'print the report as JSON')
  .action(async (scenario: string, opts: LeakFlags) => {
    const report = await run({
      scenario,
      rounds: parseIntegerOption('rounds', opts.rounds, 3, 10_000),
      iterationsPerRound: parseIntegerOption('iterations', opts.iterations, 1, 10_000_000),
      warmupRounds: parseIntegerOption('warmup-rounds', opts.warmupRounds, 0, 10_000),
      concurrency: parseIntegerOption('concurrency', opts.concurrency, 1, 10_000),
      thresholdBytesPerIteration: parseNumberOption('threshold', opts.threshold, 0, 1e12),
      snapshotRounds: parseIntegerOption('snapshot-rounds', opts.snapshotRounds, 1, 10_000),
      maxRounds: parseIntegerOption('max-rounds', opts.maxRounds, 3, 100_000),
      outDir: opts.out,
      settings: parseSettings(opts.set),
      target: targetFrom(opts.target),
      seed: parseSeed(opts.seed),
    });
    print(opts.json ? JSON.stringify(report, null, 2) : formatLeakReport(report));
    process.exitCode = report.verdict === 'LEAK' ? 1 : report.verdict === 'INCONCLUSIVE' ? 3 : 0;
  });

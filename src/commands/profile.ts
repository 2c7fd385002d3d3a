import { Command } from 'commander';
import { currentProject, givenOr } from '../config/project.js';
import { resolveScenario } from '../scenarios/index.js';
import type { LoadShape } from '../load/run.js';
import { rootLogger } from '../logger.js';
import { defaultProfileDir, profileScenario, type ProfileIndex } from '../profiling/profile-run.js';
import { stagesOf } from '../load/patterns.js';
import type { AgentTarget } from '../scenarios/types.js';
import { formatProfileIndex } from '../report/profile.js';
import { parseBytes, parseDurationMs, parseIntegerOption, parseIntervalUs, parseNumberOption } from '../units.js';
import { parseSeed, parseSettings, print, targetFrom, withScenarioOptions, type ScenarioFlags } from './options.js';

export interface ProfileCommandOptions {
  scenario: string;
  cpu: boolean;
  heap: boolean;
  snapshot: boolean;
  durationMs: number;
  warmupMs: number;
  rate?: number;
  vus: number;
  cpuIntervalUs: number;
  heapIntervalBytes: number;
  outDir?: string;
  settings: Record<string, string>;
  target: AgentTarget;
  seed: number;
}

/** `agentperf profile`: the scenario under load with the CPU profiler and heap sampler, into profiles/. */
export async function run(options: ProfileCommandOptions): Promise<{ index: ProfileIndex; dir: string }> {
  const project = await currentProject();
  const scenario = await resolveScenario(options.scenario, project);
  // Neither flag: both profilers, the usual first look.
  const cpu = options.cpu || !options.heap;
  const heap = options.heap || !options.cpu;
  const shape: LoadShape = options.rate
    ? {
        kind: 'open',
        pattern: `constant ${options.rate}/s`,
        stages: stagesOf({ kind: 'constant', rate: options.rate, durationMs: options.durationMs }),
        maxInFlight: 10_000,
      }
    : { kind: 'closed', vus: options.vus, durationMs: options.durationMs };
  const dir = givenOr(options.outDir, defaultProfileDir(project.profileDir, scenario.name));
  if (options.snapshot)
    process.stderr.write('agentperf: warning: the heap snapshot pauses the process while V8 walks the heap, and needs about twice the heap in memory\n');
  const index = await profileScenario({
    scenario,
    context: { target: options.target, settings: options.settings, seed: options.seed, log: rootLogger.child({ component: 'profile' }) },
    shape,
    warmupMs: options.warmupMs,
    cpu,
    heap,
    snapshot: options.snapshot,
    cpuIntervalUs: options.cpuIntervalUs,
    heapIntervalBytes: options.heapIntervalBytes,
    outDir: dir,
    projectRoot: project.root,
  });
  return { index, dir };
}

/** The flags as commander parses them (its action's options are untyped). */
interface ProfileFlags extends ScenarioFlags {
  cpu?: boolean;
  duration: string;
  heap?: boolean;
  heapInterval: string;
  interval: string;
  json?: boolean;
  out?: string;
  rate?: string;
  snapshot?: boolean;
  vus: string;
  warmup: string;
}

export const command = withScenarioOptions(new Command('profile'))
  .description('profile a scenario under load: CPU profile, flamegraph, bottlenecks, heap sampling; into profiles/<scenario>/<time>/')
  .argument('<scenario>', 'cache-hit | cache-miss | mixed | mixed-stream | http | path/to/scenario.ts')
  .option('--cpu', 'the CPU profile (with --heap: both; neither: both)')
  .option('--heap', 'the sampling heap profile')
  .option('--snapshot', 'also a heap snapshot at the end (pauses the process; needs about twice the heap)')
  .option('--duration <duration>', 'how long to run the scenario', '10s')
  .option('--warmup <duration>', 'load warmup, left out of the load figures (the profilers run from the end of setup)', '0s')
  .option('--vus <n>', 'closed-loop virtual users', '10')
  .option('--rate <n>', 'open loop at this rate instead of --vus')
  .option('--interval <duration>', 'CPU sampling interval (e.g. 1ms, 100us)', '1ms')
  .option('--heap-interval <size>', 'heap sampling interval in bytes', '512kb')
  .option('--out <dir>', 'output directory (default profiles/<scenario>/<timestamp>/)')
  .option('--json', 'print index.json instead of the tables')
  .action(async (scenario: string, opts: ProfileFlags) => {
    const { index, dir } = await run({
      scenario,
      cpu: Boolean(opts.cpu),
      heap: Boolean(opts.heap),
      snapshot: Boolean(opts.snapshot),
      durationMs: parseDurationMs('duration', opts.duration),
      warmupMs: parseDurationMs('warmup', opts.warmup),
      vus: parseIntegerOption('vus', opts.vus, 1, 100_000),
      rate: opts.rate === undefined ? undefined : parseNumberOption('rate', opts.rate, 0.001, 10_000_000),
      cpuIntervalUs: parseIntervalUs('interval', opts.interval),
      heapIntervalBytes: parseBytes('heap-interval', opts.heapInterval, 1024, 2 ** 30),
      outDir: opts.out,
      settings: parseSettings(opts.set),
      target: targetFrom(opts.target),
      seed: parseSeed(opts.seed),
    });
    print(opts.json ? JSON.stringify(index, null, 2) : formatProfileIndex(index, dir));
  });

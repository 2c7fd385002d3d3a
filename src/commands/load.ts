import { Command } from 'commander';
import { writeFileAtomic } from '../files/atomic.js';
import { UsageError } from '../errors.js';
import { hdrLogText } from '../load/hdr-log.js';
import { parseStages, PATTERN_KINDS, stagesOf, type Stage } from '../load/patterns.js';
import { runLoadTest, type LoadReport, type LoadShape } from '../load/run.js';
import { runLoadTestInWorkers } from '../load/workers.js';
import { resolveScenario } from '../scenarios/index.js';
import { parseThreshold } from '../load/thresholds.js';
import { rootLogger } from '../logger.js';
import { formatLoadReport, formatProgress, formatScaling, type ScalingRow } from '../report/load.js';
import { parseDurationMs, parseIntegerOption, parseNumberOption } from '../units.js';
import { collect, parseSettings, print, sayWhenNoConfig, targetFrom, withScenarioOptions, type ScenarioFlags } from './options.js';
import { currentProject } from '../config/project.js';

/** The `agentperf load` flags, as commander hands them over (strings). */
export interface LoadFlags extends ScenarioFlags {
  pattern: string;
  rate?: string;
  from?: string;
  to?: string;
  spikeRate?: string;
  spikeAt?: string;
  spikeDuration?: string;
  stages?: string;
  vus?: string;
  duration: string;
  warmup: string;
  iterations?: string;
  maxInFlight: string;
  drainTimeout: string;
  targetPid?: string;
  threshold: string[];
  json?: string;
  csv?: string;
  hdr?: string;
  scaling?: string;
  progress: boolean;
  workers: string;
}

const rate = (field: string, text: string | undefined) => {
  if (text === undefined) throw new UsageError(field, `--${field} is required for this pattern`);
  return parseNumberOption(field, text, 0, 10_000_000);
};

/** The arrival stages a pattern's flags describe. */
export function stagesFromFlags(flags: LoadFlags): { pattern: string; stages: Stage[] } {
  const durationMs = parseDurationMs('duration', flags.duration);
  switch (flags.pattern) {
    case 'constant':
      return { pattern: `constant ${flags.rate}/s for ${flags.duration}`, stages: stagesOf({ kind: 'constant', rate: rate('rate', flags.rate), durationMs }) };
    case 'ramp':
      return {
        pattern: `ramp ${flags.from}/s to ${flags.to}/s over ${flags.duration}`,
        stages: stagesOf({ kind: 'ramp', from: rate('from', flags.from), to: rate('to', flags.to), durationMs }),
      };
    case 'spike': {
      const spikeAtMs = flags.spikeAt === undefined ? Math.round(durationMs / 3) : parseDurationMs('spike-at', flags.spikeAt);
      const spikeDurationMs = flags.spikeDuration === undefined ? Math.round(durationMs / 6) : parseDurationMs('spike-duration', flags.spikeDuration);
      return {
        pattern: `spike ${flags.rate}/s, ${flags.spikeRate}/s from ${spikeAtMs} ms for ${spikeDurationMs} ms, ${flags.duration} in all`,
        stages: stagesOf({
          kind: 'spike',
          baseRate: rate('rate', flags.rate),
          spikeRate: rate('spike-rate', flags.spikeRate),
          spikeAtMs,
          spikeDurationMs,
          durationMs,
        }),
      };
    }
    case 'step':
    case 'stages': {
      if (!flags.stages)
        throw new UsageError(
          'stages',
          `--stages is required for the ${flags.pattern} pattern, e.g. ${flags.pattern === 'step' ? '50:10s,100:10s,200:10s' : '0->100:10s,100:30s,100->0:5s'}`,
        );
      const stages = parseStages('stages', flags.stages);
      if (flags.pattern === 'step' && stages.some((s) => s.fromRate !== s.toRate))
        throw new UsageError('stages', 'step stages are constant (RATE:DURATION); use --pattern stages for ramps');
      return { pattern: `${flags.pattern} ${flags.stages}`, stages };
    }
    default:
      throw new UsageError('pattern', `pattern must be one of ${PATTERN_KINDS.join(', ')}, got ${JSON.stringify(flags.pattern)}`);
  }
}

/** Writes the progress line: in place on a terminal, every tenth second otherwise. */
function progressWriter(enabled: boolean): ((line: string, second: number) => void) & { done(): void } {
  const tty = process.stderr.isTTY === true;
  const write = (line: string, second: number) => {
    if (!enabled) return;
    if (tty) process.stderr.write(`\r\x1b[2K${line}`);
    else if (second % 10 === 0) process.stderr.write(`${line}\n`);
  };
  return Object.assign(write, { done: () => enabled && tty && process.stderr.write('\n') });
}

export interface LoadCommandResult {
  text: string;
  exitCode: 0 | 1;
}

/** `agentperf load <scenario>`: the flags are checked, then the scenario runs under load. */
export async function run(scenarioName: string, flags: LoadFlags): Promise<LoadCommandResult> {
  // Everything the flags say is checked before anything starts.
  const project = await currentProject();
  sayWhenNoConfig(project, "only agentperf's built-in scenarios and module paths can be named");
  const scenario = await resolveScenario(scenarioName, project);
  const thresholds = flags.threshold.map(parseThreshold);
  const settings = parseSettings(flags.set);
  const target = targetFrom(flags.target);
  const warmupMs = parseDurationMs('warmup', flags.warmup);
  const drainTimeoutMs = parseDurationMs('drain-timeout', flags.drainTimeout);
  const iterations = flags.iterations === undefined ? undefined : parseIntegerOption('iterations', flags.iterations, 1, Number.MAX_SAFE_INTEGER);
  const targetPid = flags.targetPid === undefined ? undefined : parseIntegerOption('target-pid', flags.targetPid, 1, 2 ** 22);
  const seed = parseIntegerOption('seed', flags.seed, 0, 2 ** 32 - 1);
  const maxInFlight = parseIntegerOption('max-in-flight', flags.maxInFlight, 1, 10_000_000);
  const context = { target, settings, seed, log: rootLogger.child({ component: 'load' }) };
  const controller = new AbortController();
  const interrupt = () => controller.abort();
  process.once('SIGINT', interrupt);
  try {
    if (flags.scaling !== undefined) {
      const levels = flags.scaling.split(',').map((v) => parseIntegerOption('scaling', v.trim(), 1, 100_000));
      const durationMs = parseDurationMs('duration', flags.duration);
      const rows: ScalingRow[] = [];
      for (const vus of levels) {
        if (controller.signal.aborted) break;
        const { report } = await runLoadTest({
          scenario,
          context,
          shape: { kind: 'closed', vus, durationMs },
          warmupMs,
          iterations,
          drainTimeoutMs,
          thresholds: [],
          targetPid,
          signal: controller.signal,
        });
        process.stderr.write(`  ${vus} concurrent: ${report.result.throughput.toFixed(1)}/s, p95 ${report.result.latency.p95.toFixed(1)} ms\n`);
        rows.push({
          vus,
          throughput: report.result.throughput,
          p95: report.result.latency.p95,
          errors: report.result.errors,
          trusted: report.generator.trusted,
        });
      }
      if (flags.json) await writeFileAtomic(flags.json, `${JSON.stringify({ schema: 'agentperf.load-scaling/v1', scenario: scenario.name, rows }, null, 2)}\n`);
      return { text: formatScaling(scenario.name, rows), exitCode: 0 };
    }

    let shape: LoadShape;
    if (flags.vus !== undefined)
      shape = { kind: 'closed', vus: parseIntegerOption('vus', flags.vus, 1, 100_000), durationMs: parseDurationMs('duration', flags.duration) };
    else shape = { kind: 'open', ...stagesFromFlags(flags), maxInFlight };
    const workers = parseIntegerOption('workers', flags.workers, 1, 64);
    if (workers > 1) {
      if (flags.csv)
        throw new UsageError('csv', "--csv records one process's iterations; it cannot be combined with --workers (use --hdr for the merged histograms)");
      const { report, encoded } = await runLoadTestInWorkers({
        scenario: scenarioName,
        scenarioInfo: { name: scenario.name, description: scenario.description },
        context: { target, settings, seed },
        shape,
        workers,
        warmupMs,
        iterations,
        drainTimeoutMs,
        thresholds,
        targetPid,
        signal: controller.signal,
        onStart: () => flags.progress && process.stderr.write(`${workers} workers set up; running (no per-second progress with --workers)\n`),
      });
      await writeOutputs(report, encoded, flags);
      return { text: formatLoadReport(report), exitCode: report.passed ? 0 : 1 };
    }
    const progress = progressWriter(flags.progress);
    const { report, encoded } = await runLoadTest({
      scenario,
      context,
      shape,
      warmupMs,
      iterations,
      drainTimeoutMs,
      thresholds,
      targetPid,
      csvFile: flags.csv,
      signal: controller.signal,
      onSecond: (point) => progress(formatProgress(point), point.second),
    });
    progress.done();
    await writeOutputs(report, encoded, flags);
    return { text: formatLoadReport(report), exitCode: report.passed ? 0 : 1 };
  } finally {
    process.removeListener('SIGINT', interrupt);
  }
}

async function writeOutputs(report: LoadReport, encoded: { latency: string; serviceTime: string }, flags: LoadFlags): Promise<void> {
  if (flags.json) await writeFileAtomic(flags.json, `${JSON.stringify(report, null, 2)}\n`);
  if (flags.hdr) {
    const comment = `agentperf load ${report.scenario.name}, ${report.shape.kind} loop, values in microseconds`;
    await writeFileAtomic(
      flags.hdr,
      hdrLogText(encoded, { startEpochMs: Date.parse(report.startedAt) + report.warmupMs, measuredMs: report.result.measuredMs }, comment),
    );
  }
}

export const command = withScenarioOptions(new Command('run'))
  .description('run a scenario (cache-hit, cache-miss, mixed, mixed-stream, http, workflow or a module file) under load')
  .argument('<scenario>', 'cache-hit | cache-miss | mixed | mixed-stream | http | path/to/scenario.ts')
  .option('--pattern <kind>', 'open-loop arrivals: constant | ramp | spike | step | stages', 'constant')
  .option('--rate <n>', 'iterations per second (constant; the base rate of spike)')
  .option('--from <n>', 'ramp: starting rate per second')
  .option('--to <n>', 'ramp: final rate per second')
  .option('--spike-rate <n>', 'spike: the rate during the spike')
  .option('--spike-at <duration>', 'spike: when it starts (default a third of the way in)')
  .option('--spike-duration <duration>', 'spike: how long it lasts (default a sixth of the run)')
  .option('--stages <list>', 'step: RATE:DURATION,...; stages: FROM->TO:DURATION or RATE:DURATION,...')
  .option('--vus <n>', 'closed loop instead: N virtual users, each starting its next iteration when the last ends')
  .option('--workers <n>', 'spread the load over N worker threads (each its share of the arrivals or users; histograms merged exactly)', '1')
  .option('--duration <duration>', 'measured duration (constant, ramp, spike, --vus; per level with --scaling)', '30s')
  .option('--warmup <duration>', 'run first at the starting rate, not recorded', '2s')
  .option('--iterations <n>', 'stop after this many measured iterations')
  .option('--max-in-flight <n>', 'open loop: iterations in flight at most; past it arrivals are dropped and counted', '10000')
  .option('--drain-timeout <duration>', 'how long to wait for iterations in flight at the end', '30s')
  .option('--target-pid <pid>', 'a local process serving the target, for the resource monitor')
  .option('--threshold <expr>', "pass/fail criterion, repeatable: 'p95<500ms', 'error_rate<1%', 'throughput>5'", collect, [])
  .option('--json <file>', 'write the versioned summary as JSON')
  .option('--csv <file>', 'stream every measured request to a CSV file')
  .option('--hdr <file>', 'write the latency histograms as an HDR histogram log (see load merge)')
  .option('--scaling <list>', 'closed-loop runs at each concurrency, e.g. 1,10,50,100,1000: throughput, p95, speedup')
  .option('--no-progress', 'no live progress line on stderr')
  .action(async (scenario: string, opts: LoadFlags) => {
    const result = await run(scenario, opts);
    print(result.text);
    process.exitCode = result.exitCode;
  });

import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import * as hdr from 'hdr-histogram-js';
import { startInstrumentation } from '../../instrumentation/start.js';
import { AgentperfError, ErrorCode } from '../errors.js';
import { FingerprintMismatchError, NoBaselineError } from '../gate/baseline.js';
import { fingerprintId, currentFingerprint } from '../gate/fingerprint.js';
import type { GatePolicy } from '../config/policy.js';
import { DEFAULT_BLOCK } from '../config/policy.js';
import type { PolicyProvenance } from '../gate/policy-source.js';
import { gateAgainstBaselines, overheadSpecFor, storedBaselines } from '../gate/run.js';
import { judgeOverhead, type MetricVerdict } from '../gate/verdict.js';
import { addedPct, lostPct } from '../measure/overhead-figures.js';
import { runOverheadProcess, type OverheadMeasurement } from '../measure/slices.js';
import { formatSignedPct } from '../report/load.js';
import { overheadLine } from '../report/run-report.js';
import { runLoadTest } from '../load/run.js';
import { resolveScenario } from '../scenarios/index.js';
import { currentProject } from '../config/project.js';
import { rootLogger } from '../logger.js';
import { findBottlenecks } from '../profiling/analyze.js';
import { CpuProfiler } from '../profiling/cpu.js';
import { DEFAULT_LEAK_OPTIONS, detectLeak } from '../profiling/leak.js';
import { renderFlamegraph } from '../profiling/profile-run.js';
import { CacheTimeline, hitRate } from './cache-timeline.js';
import { phaseWindows, type Phase } from './plan.js';
import { DISTRIBUTION_PERCENTILES, RUN_SCHEMA, type OverheadSummary, type RunRecord, type Verdict } from './record.js';

export { RUN_SCHEMA, type RunRecord } from './record.js';

export interface PipelineOptions {
  scenario: string;
  settings: Record<string, string>;
  phases: Phase[];
  /** Warmup before the first phase, at its starting rate (not measured). */
  warmupMs: number;
  /** Shorter leak check and fewer gate blocks. */
  quick: boolean;
  gate: boolean;
  live: boolean;
  seed: number;
  /** Port of /metrics for the whole run; 0 picks a free one. */
  metricsPort: number;
  outDir: string;
  /** The user's project: where the blocks run and the scenario is looked up. */
  projectRoot: string;
  baselineDir: string;
  policy: GatePolicy;
  /** The command line that reproduces this run, for the report. */
  command: string;
}

function percentileCurve(encoded: string): number[] {
  const histogram = hdr.decodeFromCompressedBase64(encoded, 32, true);
  try {
    return DISTRIBUTION_PERCENTILES.map((p) => histogram.getValueAtPercentile(p) / 1000);
  } finally {
    histogram.destroy();
  }
}

type Progress = (line: string) => void;

/** The main job's steps, in order: every progress label ("[3/7]") comes from this list. */
export const PIPELINE_STEPS = ['instrumentation', 'load', 'profile', 'leak', 'overhead', 'gate', 'reports'] as const;
const step = (name: (typeof PIPELINE_STEPS)[number]) => `[${PIPELINE_STEPS.indexOf(name) + 1}/${PIPELINE_STEPS.length}]`;

/** Agent scenarios keep their cache small in the leak check: a cache still filling really does grow. */
const AGENT_SCENARIOS = new Set(['cache-hit', 'cache-miss', 'mixed']);

/**
 * The main job, end to end: instrumentation and /metrics up for the whole run; the scenario
 * under the load plan with a CPU profile of the steady phase; a flamegraph; a short leak
 * check; the observability overhead in interleaved fresh-process blocks; the gate against the
 * stored baselines. Returns the record the reports are written from. Each step is a function
 * below, in PIPELINE_STEPS order.
 */
export async function runPipeline(options: PipelineOptions, progress: Progress): Promise<RunRecord> {
  const t0 = performance.now();
  await mkdir(options.outDir, { recursive: true });
  const record = await loadAndProfile(options, progress);
  const leak = await leakCheck(options, progress);
  const gated = gatedScenario(options);
  const measured = await measureOverhead(options, gated, progress);
  const gate = await gateAgainstStored(options, gated, record.fingerprintId, measured, progress);
  const judgedOverhead = gate.status === 'judged' ? gate.result.scenarios[0]?.judgement.metrics.find((m) => m.metric === 'overhead') : undefined;
  const overhead = summarizeOverhead(measured, judgedOverhead ?? judgeOverhead(measured.slices, options.policy), options.policy.overhead.cpuMaxPct);
  progress(`  overhead: ${overheadLine(overhead)}`);

  const verdict: Verdict = gate.status === 'judged' ? gate.result.overall : gate.status === 'no-baseline' ? 'NO BASELINE' : 'NOT GATED';
  progress(`${step('reports')} writing the reports`);
  const finished = { ...record, leak, overhead, gate, verdict, exitCode: verdict === 'FAIL' ? (1 as const) : (0 as const), elapsedMs: performance.now() - t0 };
  return { ...finished, warnings: runWarnings(finished) };
}

type LoadedRecord = Omit<RunRecord, 'leak' | 'overhead' | 'gate' | 'verdict' | 'exitCode' | 'elapsedMs' | 'warnings'>;

/**
 * Steps 1 to 3: instrumentation and /metrics on for the load; the scenario under the load
 * plan with the steady phase profiled; its flamegraph and bottlenecks.
 */
async function loadAndProfile(options: PipelineOptions, progress: Progress): Promise<LoadedRecord> {
  const startedAt = new Date();
  const rel = (path: string) => relative(options.outDir, path);
  const instrumentation = await startInstrumentation({ prometheus: { port: options.metricsPort }, logger: rootLogger });
  try {
    progress(
      `${step('instrumentation')} instrumentation on; Prometheus metrics ${instrumentation.metricsUrl ? `at ${instrumentation.metricsUrl}` : 'off (OTEL_METRICS_EXPORTER or OTEL_SDK_DISABLED)'}`,
    );

    const scenario = await resolveScenario(options.scenario, await currentProject(options.projectRoot));
    const windows = phaseWindows(options.phases);
    const steady = windows.find((w) => w.name === 'steady') ?? windows[0];
    const timeline = new CacheTimeline();
    const series: RunRecord['series'] = [];
    const profiler = new CpuProfiler();
    let profiling: Promise<unknown> = Promise.resolve();
    let profileState: 'waiting' | 'running' | 'done' = 'waiting';
    const totalS = windows.at(-1)!.endS;
    progress(
      `${step('load')} load: ${options.scenario}, ${windows.map((w) => `${w.name} ${w.endS - w.startS} s at ${w.fromRate === w.toRate ? w.fromRate : `${w.fromRate}->${w.toRate}`}/s`).join(', ')}`,
    );
    timeline.start();
    let load: Awaited<ReturnType<typeof runLoadTest>>;
    try {
      if (steady.startS === 0) {
        await profiler.start();
        profileState = 'running';
      }
      load = await runLoadTest({
        scenario,
        context: {
          target: { kind: 'in-process' },
          settings: { ...options.settings, ...(options.live ? { live: 'true' } : {}) },
          seed: options.seed,
          log: rootLogger.child({ component: 'run' }),
        },
        shape: { kind: 'open', pattern: 'standard plan', stages: options.phases, maxInFlight: 10_000 },
        warmupMs: options.warmupMs,
        drainTimeoutMs: 30_000,
        thresholds: [],
        onSecond: (point) => {
          series.push({ ...point, cache: timeline.tick() });
          const phase = windows.find((w) => point.second > w.startS && point.second <= w.endS)?.name ?? 'drain';
          progress(
            `  ${String(point.second).padStart(3)} s / ${totalS} s  ${phase.padEnd(8)} ${point.completed}/s  p99 ${point.p99.toFixed(1)} ms  errors ${point.errors}`,
          );
          if (profileState === 'waiting' && point.second >= steady.startS) {
            profileState = 'running';
            profiling = profiler.start();
          } else if (profileState === 'running' && point.second >= steady.endS) {
            profileState = 'done';
            profiling = profiling.then(() => profiler.stop());
          }
        },
      });
    } finally {
      timeline.stop();
    }
    if (profileState === 'running') profiling = profiling.then(() => profiler.stop());
    const cpuProfile = (await profiling) as Awaited<ReturnType<CpuProfiler['stop']>> | undefined;
    if (!cpuProfile || typeof cpuProfile !== 'object' || !('nodes' in cpuProfile))
      throw new AgentperfError(
        ErrorCode.PROFILE,
        `the steady phase (${steady.startS}-${steady.endS} s) was never reached: the load ended after ${series.length} s`,
      );
    const cpuprofile = join(options.outDir, 'steady.cpuprofile');
    await writeFile(cpuprofile, JSON.stringify(cpuProfile));
    progress(`${step('profile')} CPU profile of the steady phase: ${cpuprofile}; rendering its flamegraph`);
    const bottlenecks = findBottlenecks(cpuProfile, 10, options.projectRoot);
    let flamegraph: string | undefined;
    let flamegraphError: string | undefined;
    try {
      flamegraph = rel(await renderFlamegraph(cpuprofile));
    } catch (error) {
      flamegraphError = (error as Error).message;
    }
    const { series: _series, ...result } = load.report.result;
    return {
      schema: RUN_SCHEMA,
      startedAt: startedAt.toISOString(),
      command: options.command,
      fingerprint: currentFingerprint(),
      fingerprintId: fingerprintId(currentFingerprint()),
      scenario: options.scenario,
      settings: options.settings,
      target: options.live ? 'Anthropic Messages API' : 'embedded simulator',
      metricsUrl: instrumentation.metricsUrl,
      phases: windows,
      load: { ...result, generator: load.report.generator, ...(load.report.counters ? { counters: load.report.counters } : {}) },
      series,
      distribution: {
        percentiles: DISTRIBUTION_PERCENTILES,
        latencyMs: percentileCurve(load.encoded.latency),
        serviceMs: percentileCurve(load.encoded.serviceTime),
      },
      cache: { totals: { ...timeline.totals }, hitRate: hitRate(timeline.totals) },
      hdr: instrumentation.hdr.snapshot(),
      profile: { phase: steady.name, cpuprofile: rel(cpuprofile), flamegraph, flamegraphError, bottlenecks },
    };
  } finally {
    await instrumentation.stop();
  }
}

/** Step 4: the same check as `agentperf leak` with its defaults, in a child process. */
async function leakCheck(options: PipelineOptions, progress: Progress): Promise<RunRecord['leak']> {
  const leakSettings = AGENT_SCENARIOS.has(options.scenario) ? { cacheMaxBytes: '16kb', ...options.settings } : options.settings;
  const leakCommand = ['npx agentperf leak', options.scenario, ...Object.entries(leakSettings).map(([k, v]) => `--set ${k}=${v}`)].join(' ');
  progress(
    `${step('leak')} leak check: the same as \`${leakCommand}\`, ${DEFAULT_LEAK_OPTIONS.rounds} rounds of ${DEFAULT_LEAK_OPTIONS.iterationsPerRound} iterations (up to ${DEFAULT_LEAK_OPTIONS.maxRounds}) in a child process`,
  );
  const leakDir = join(options.outDir, 'leak');
  const leakReport = await detectLeak({
    ...DEFAULT_LEAK_OPTIONS,
    scenario: options.scenario,
    settings: leakSettings,
    target: { kind: 'in-process' },
    seed: options.seed,
    outDir: leakDir,
  });
  if (leakReport.verdict !== 'LEAK') await rm(leakDir, { recursive: true, force: true });
  const leak: RunRecord['leak'] = {
    verdict: leakReport.verdict,
    note: leakReport.note,
    slope: leakReport.slope,
    thresholdBytesPerIteration: leakReport.thresholdBytesPerIteration,
    points: leakReport.points,
    leakedClasses: leakReport.leakedClasses,
    rounds: leakReport.points.length,
    iterationsPerRound: DEFAULT_LEAK_OPTIONS.iterationsPerRound,
    command: leakCommand,
  };
  progress(
    `  ${leak.verdict}: ${leak.slope.slope.toFixed(1)} bytes per iteration retained (95% interval ${leak.slope.low.toFixed(1)} to ${leak.slope.high.toFixed(1)})`,
  );
  return leak;
}

/** The run's scenario as the policy gates it (its settings, blocks and budget), or the defaults. */
function gatedScenario(options: PipelineOptions) {
  return options.policy.scenarios.find((s) => s.name === options.scenario) ?? { ...DEFAULT_BLOCK, name: options.scenario, settings: options.settings };
}

/** Step 5: the observability overhead, in one fresh process, instrumentation switched off and on in slices. */
function measureOverhead(options: PipelineOptions, gated: ReturnType<typeof gatedScenario>, progress: Progress): ReturnType<typeof runOverheadProcess> {
  const spec = overheadSpecFor(gated, options.policy);
  progress(
    `${step('overhead')} observability overhead: ${spec.pairs} pairs of slices (${spec.sliceIterations ? `${spec.sliceIterations} iterations` : `about ${spec.sliceMs} ms`} each), instrumentation off and on, in one fresh process`,
  );
  return runOverheadProcess(options.projectRoot, spec);
}

/** Step 6: the gate against the stored baselines; a missing or foreign baseline is said, and the run goes on (`run` is a report). */
async function gateAgainstStored(
  options: PipelineOptions,
  gated: ReturnType<typeof gatedScenario>,
  fingerprint: string,
  measured: Awaited<ReturnType<typeof runOverheadProcess>>,
  progress: Progress,
): Promise<RunRecord['gate']> {
  if (options.gate) {
    progress(`${step('gate')} gate: ${options.scenario} against ${relative(process.cwd(), options.baselineDir) || '.'}/ (fingerprint ${fingerprint})`);
    try {
      const stored = await storedBaselines(options.baselineDir);
      const provenance: PolicyProvenance = {
        origin: 'working-copy',
        where: "the project's, with the fewer blocks of `agentperf run` (the CI gate is `agentperf gate`)",
        changes: [],
        notes: [],
      };
      return {
        status: 'judged',
        result: await gateAgainstBaselines(options.projectRoot, options.baselineDir, { ...options.policy, scenarios: [gated] }, provenance, progress, {
          stored,
          scenarios: [options.scenario],
          measuredOverhead: measured,
        }),
      };
    } catch (error) {
      // `run` is a report: a missing, foreign or unreadable baseline is said, and the run goes on.
      if (!(error instanceof NoBaselineError || error instanceof FingerprintMismatchError || (error as { code?: string }).code === ErrorCode.BASELINE))
        throw error;
      progress(`  no baseline to compare with: ${(error as Error).message}`);
      return { status: 'no-baseline', message: (error as Error).message };
    }
  }
  progress(`${step('gate')} gate: skipped (--no-gate)`);
  return { status: 'skipped' };
}

/**
 * Everything a reader must not miss, in one list that the terminal, Markdown and HTML reports
 * all show: an untrusted generator, a gate that did not judge, the gate's warnings, a leak
 * check that could not decide.
 */
export function runWarnings(run: Omit<RunRecord, 'warnings'>): string[] {
  const out: string[] = [];
  if (!run.load.generator.trusted)
    out.push(`UNTRUSTED load figures: the generator saturated, so they measure it as much as the target (${run.load.generator.reasons.join('; ')})`);
  if (run.gate.status === 'judged') {
    for (const s of run.gate.result.scenarios) {
      if (s.judgement.refused) out.push(`gate ${s.scenario} not judged: ${s.judgement.refused}`);
      for (const m of s.judgement.metrics) if (m.warning) out.push(`gate ${s.scenario}, ${m.metric}: ${m.warning}`);
    }
  } else if (run.overhead.warning || run.overhead.verdict !== 'PASS') out.push(`observability overhead: ${run.overhead.warning ?? run.overhead.reason}`);
  const cpu = cpuOverheadWarning(run.overhead);
  if (cpu) out.push(cpu);
  if (run.gate.status === 'no-baseline') out.push(`not gated: ${run.gate.message}`);
  if (run.leak.verdict === 'INCONCLUSIVE' && run.leak.note) out.push(`leak check INCONCLUSIVE: ${run.leak.note}`);
  return out;
}

/**
 * The main-thread CPU instrumentation adds per iteration, against the policy's limit: a warning
 * when the interval reaches past it (not a gated metric yet: throughput lost is what the gate
 * judges; issue 24).
 */
export function cpuOverheadWarning(o: OverheadSummary): string | undefined {
  if (!(o.mainThreadHighPct > o.cpuLimitPct)) return undefined;
  const figure = `${formatSignedPct(o.mainThreadAddedPct)} [${o.mainThreadLowPct.toFixed(1)}, ${o.mainThreadHighPct.toFixed(1)}]`;
  const where = o.mainThreadLowPct > o.cpuLimitPct ? 'beyond' : 'possibly beyond';
  return `observability overhead: main-thread CPU per iteration ${figure} with instrumentation on, ${where} the ${o.cpuLimitPct}% limit (reported, not gated: the gate judges the throughput lost)`;
}

/** The overhead's verdict (the gate's, when it judged) and its CPU figures, as the run record keeps them. */
export function summarizeOverhead(m: OverheadMeasurement, verdict: MetricVerdict, cpuLimitPct: number): OverheadSummary {
  return {
    cpuLimitPct,
    ...verdict,
    pairs: m.spec.pairs,
    sliceIterations: m.slices[0]?.iterations ?? 0,
    cpuAddedPct: addedPct(m.cpuPerIteration.estimate),
    cpuLowPct: addedPct(m.cpuPerIteration.low),
    cpuHighPct: addedPct(m.cpuPerIteration.high),
    mainThreadAddedPct: addedPct(m.busyPerIteration.estimate),
    mainThreadLowPct: addedPct(m.busyPerIteration.low),
    mainThreadHighPct: addedPct(m.busyPerIteration.high),
    mainThreadUsPerIterationOff: m.busyUsPerIterationOff,
    mainThreadUsPerIterationOn: m.busyUsPerIterationOn,
    throughputLostPct: lostPct(m.throughput.estimate),
    throughputLostLowPct: lostPct(m.throughput.high),
    throughputLostHighPct: lostPct(m.throughput.low),
    telemetry: m.telemetry,
  };
}

/**
 * The observability overhead, measured where it holds still: in one process, on one running
 * workload, with the instrumentation switched off and on in short alternating slices. Fresh
 * processes differ from one another by more than the instrumentation costs (JIT, heap layout,
 * a neighbour's moment); slices of one process do not. Each slice is a whole number of the
 * scenario's cycles (`--set cycle`), so paired slices do the same work and meet the same
 * simulated latencies: the difference between them is the instrumentation, and noise.
 */
import { startInstrumentation } from '../../instrumentation/start.js';
import type { WorkerExportStats } from '../../instrumentation/worker-span-processor.js';
import { ErrorCode } from '../errors.js';
import { errorType } from '../errors.js';
import { resolveScenario } from '../scenarios/index.js';
import { sdkAppScenario } from '../scenarios/sdk-app.js';
import { rootLogger } from '../logger.js';
import { runNodeForJson } from '../runtime/json-child.js';
import { cliNodeArgs } from '../runtime/self.js';
import { comparePaired, type Comparison } from '../stats/compare.js';
import { median } from '../stats/percentiles.js';
import { cpuSince, MAIN_THREAD_SOURCE, readCpu, type BusySource } from '../runtime/cpu.js';
import { startTelemetrySink } from './telemetry-sink.js';
import { BREAKDOWN_PARTS } from './overhead-figures.js';
import { orderForRound } from './interleave.js';

/** How often the measurement's /metrics is scraped, in ms (Prometheus's usual 15 s). */
const SCRAPE_INTERVAL_MS = 15_000;

export interface OverheadSpec {
  scenario: string;
  settings: Record<string, string>;
  vus: number;
  seed: number;
  /** Iterations per slice; also the scenario's cycle, so every slice repeats the same work. Without it, slices of about `sliceMs`. */
  sliceIterations?: number;
  /** Without `sliceIterations`: how long a slice should take, in ms (the iterations are counted from the rate measured first). */
  sliceMs: number;
  /** Measured on/off pairs of slices (ABBA). */
  pairs: number;
  /** Pairs run first and not measured: the JIT compiles both paths. */
  warmupPairs: number;
  /** The self-test's stand-in for a costlier instrumentation, in µs per traced call. */
  simulatedCostUs?: number;
  /**
   * Measure each part on its own too: rounds of four slice kinds (off, handlers, spans, on) in
   * a balanced order instead of on/off pairs; `pairs` and `warmupPairs` count rounds then.
   */
  breakdown?: boolean;
}

/**
 * What a slice runs: `off` nothing; `handlers` agentperf's channel handlers, metrics and HDR
 * records but no span; `spans` those and every span, none exported; `on` everything, spans
 * exported. Without a breakdown, only `off` and `on`.
 */
export type SliceKind = 'off' | 'handlers' | 'spans' | 'on';
export const BREAKDOWN_KINDS: readonly SliceKind[] = ['off', 'handlers', 'spans', 'on'];

export interface BreakdownPart {
  part: keyof typeof BREAKDOWN_PARTS;
  /** Main-thread CPU per iteration this part adds over the kind before it, in µs: estimate and 95% interval. */
  addedUs: { estimate: number; low: number; high: number };
  /** The same, process CPU (the export worker's thread included). */
  processAddedUs: { estimate: number; low: number; high: number };
}

export interface Slice {
  instrumented: boolean;
  /** The slice's kind (`off` or `on` unless the measurement was a breakdown). */
  kind?: SliceKind;
  durationMs: number;
  iterations: number;
  errors: number;
  cpuUs: number;
  busyUs: number;
}

export interface OverheadMeasurement {
  spec: OverheadSpec;
  slices: Slice[];
  /** log(on / off) per pair, compared: throughput (iterations per second), CPU and main-thread time per iteration. */
  throughput: Comparison;
  cpuPerIteration: Comparison;
  busyPerIteration: Comparison;
  /** Medians over the slices, off and on. */
  throughputOff: number;
  throughputOn: number;
  cpuUsPerIterationOff: number;
  cpuUsPerIterationOn: number;
  busyUsPerIterationOff: number;
  busyUsPerIterationOn: number;
  busySource: BusySource;
  errorsByType: Record<string, number>;
  /** What "on" exported: spans delivered over OTLP (failed, dropped), the requests and bytes the receiver took, and /metrics scrapes. */
  telemetry: { spansExported: number; spansFailed: number; spansDropped: number; requests: number; bytes: number; scrapes: number; scrapeBytes: number };
  /** With `spec.breakdown`: what each part adds, from the same rounds. */
  breakdown?: BreakdownPart[];
  elapsedMs: number;
}

/**
 * Which slices are instrumented: warmup pairs alternate, then the measured pairs go ABBA (off
 * then on, on then off, ...), so neither state always comes first.
 */
export function sliceSchedule(warmupPairs: number, pairs: number): boolean[] {
  const out: boolean[] = [];
  for (let p = 0; p < warmupPairs; p++) out.push(false, true);
  for (let p = 0; p < pairs; p++) out.push(...orderForRound([false, true], p));
  return out;
}

/**
 * The breakdown's rounds: each round runs the four kinds once, in the orders of a Williams
 * design (every kind in every position, and after every other kind, equally often), so no kind
 * gains from always following another.
 */
export function breakdownSchedule(warmupRounds: number, rounds: number): SliceKind[] {
  const orders = [
    [0, 1, 3, 2],
    [1, 2, 0, 3],
    [2, 3, 1, 0],
    [3, 0, 2, 1],
  ];
  const out: SliceKind[] = [];
  for (let r = 0; r < warmupRounds + rounds; r++) for (const k of orders[r % orders.length]) out.push(BREAKDOWN_KINDS[k]);
  return out;
}

/** What each part adds, from the measured rounds: consecutive kinds compared round by round. */
export function breakdownOf(slices: readonly Slice[]): BreakdownPart[] {
  const byKind = (kind: SliceKind, field: 'cpuUs' | 'busyUs') => slices.filter((s) => s.kind === kind).map((s) => s[field] / s.iterations);
  const added = (before: number[], after: number[]) => {
    const c = comparePaired(before, after);
    const base = median(before);
    return { estimate: base * (Math.exp(c.estimate) - 1), low: base * (Math.exp(c.low) - 1), high: base * (Math.exp(c.high) - 1) };
  };
  return (['handlers', 'spans', 'on'] as const).map((part, i) => ({
    part,
    addedUs: added(byKind(BREAKDOWN_KINDS[i], 'busyUs'), byKind(part, 'busyUs')),
    processAddedUs: added(byKind(BREAKDOWN_KINDS[i], 'cpuUs'), byKind(part, 'cpuUs')),
  }));
}

/**
 * How many iterations make a slice of `sliceMs`: the scenario run closed-loop for one slice's
 * time unmeasured (the JIT warms up), then the iterations of one more slice's time counted.
 */
async function iterationsPerSlice(run: (i: number) => Promise<unknown>, vus: number, sliceMs: number): Promise<number> {
  let next = 0;
  const loop = async (untilMs: number) => {
    const workers = Array.from({ length: vus }, async () => {
      while (performance.now() < untilMs) await run(next++).catch(() => undefined);
    });
    await Promise.all(workers);
  };
  await loop(performance.now() + sliceMs);
  const before = next;
  await loop(performance.now() + sliceMs);
  // At least two iterations per user, so that a slice is never shorter than the work in flight.
  return Math.max(2 * vus, 10, next - before);
}

/** Runs the measurement in this process (the child side of `runOverheadProcess`). */
export async function measureOverheadHere(spec: OverheadSpec): Promise<OverheadMeasurement> {
  const startedAt = performance.now();
  // "On" exports what users export: every span as OTLP http/protobuf (through the export
  // worker, as OTEL_TRACES_EXPORTER=otlp does) to a local receiver, and /metrics scraped. This
  // is a process of its own (`gate overhead`), so the environment is its to set.
  const sink = await startTelemetrySink();
  Object.assign(process.env, {
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: sink.tracesUrl,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
    OTEL_METRICS_EXPORTER: 'prometheus',
    OTEL_TRACES_SAMPLER: 'always_on',
  });
  // The plain SDK app is measured as `register` instruments it: with the AsyncLocalStorage
  // context manager an application's process needs (context.ts).
  const contextManager = spec.scenario === sdkAppScenario.name ? 'async' : 'stack';
  const instrumentation = await startInstrumentation({
    prometheus: { host: '127.0.0.1', port: 0 },
    simulatedCostUs: spec.simulatedCostUs,
    contextManager,
  }).catch(async (error: unknown) => {
    await sink.close();
    throw error;
  });
  if (instrumentation.metricsUrl) sink.scrape(instrumentation.metricsUrl, SCRAPE_INTERVAL_MS);
  const schedule: SliceKind[] = spec.breakdown
    ? breakdownSchedule(spec.warmupPairs, spec.pairs)
    : sliceSchedule(spec.warmupPairs, spec.pairs).map((on) => (on ? 'on' : 'off'));
  const apply = (kind: SliceKind) => {
    instrumentation.setEnabled(kind !== 'off');
    instrumentation.setParts({ spans: kind === 'spans' || kind === 'on', export: kind === 'on' });
  };
  apply(schedule[0]);
  const scenario = await resolveScenario(spec.scenario);
  const settings = spec.sliceIterations ? { cycle: String(spec.sliceIterations), ...spec.settings } : spec.settings;
  const state = await scenario.setup({ target: { kind: 'in-process' }, settings, seed: spec.seed, log: rootLogger });
  const slices: Slice[] = [];
  const errorsByType = new Map<string, number>();
  let exported: WorkerExportStats | undefined;
  let K = 0;
  let next = 0;
  let errors = 0;
  let sliceStart = performance.now();
  let cpuStart = readCpu();
  let sliceErrors = 0;
  // A slice starts when its first iteration starts and ends when the next slice's first does:
  // in a closed loop that is the time K iterations take, whatever was in flight at the edges.
  const boundary = (index: number) => {
    const now = performance.now();
    const used = cpuSince(cpuStart);
    if (index > 0)
      slices.push({
        instrumented: schedule[index - 1] !== 'off',
        kind: schedule[index - 1],
        durationMs: now - sliceStart,
        iterations: K,
        errors: errors - sliceErrors,
        cpuUs: used.process,
        busyUs: used.mainThread,
      });
    if (index < schedule.length) apply(schedule[index]);
    sliceStart = performance.now();
    cpuStart = readCpu();
    sliceErrors = errors;
  };
  try {
    // async on purpose: a run that throws at once must become a rejection, which the calibration swallows like any failed iteration.
    // eslint-disable-next-line @typescript-eslint/require-await -- see above
    K = spec.sliceIterations ?? (await iterationsPerSlice(async (i) => scenario.run(state, i), spec.vus, spec.sliceMs));
    const total = K * schedule.length;
    const vu = async () => {
      for (;;) {
        const i = next++;
        if (i % K === 0) boundary(i / K);
        if (i >= total) return;
        try {
          await scenario.run(state, i);
        } catch (error) {
          errors++;
          const type = errorType(error);
          errorsByType.set(type, (errorsByType.get(type) ?? 0) + 1);
        }
      }
    };
    await Promise.all(Array.from({ length: spec.vus }, vu));
    exported = await instrumentation.flushSpans();
  } finally {
    await scenario.teardown(state);
    await instrumentation.stop();
    await sink.close();
  }
  const measured = slices.slice((spec.breakdown ? BREAKDOWN_KINDS.length : 2) * spec.warmupPairs);
  const off = measured.filter((s) => s.kind === 'off');
  const on = measured.filter((s) => s.kind === 'on');
  const per = (s: Slice, field: 'cpuUs' | 'busyUs') => s[field] / s.iterations;
  const rate = (s: Slice) => (s.iterations / s.durationMs) * 1000;
  return {
    spec,
    // On/off slices as the gate and the baselines keep them (`instrumented`); the kind only
    // where there are more than two (a baseline file's slice has no `kind`).
    slices: spec.breakdown ? measured : measured.map(({ kind: _kind, ...slice }) => slice),
    throughput: comparePaired(off.map(rate), on.map(rate)),
    cpuPerIteration: comparePaired(
      off.map((s) => per(s, 'cpuUs')),
      on.map((s) => per(s, 'cpuUs')),
    ),
    busyPerIteration: comparePaired(
      off.map((s) => per(s, 'busyUs')),
      on.map((s) => per(s, 'busyUs')),
    ),
    throughputOff: median(off.map(rate)),
    throughputOn: median(on.map(rate)),
    cpuUsPerIterationOff: median(off.map((s) => per(s, 'cpuUs'))),
    cpuUsPerIterationOn: median(on.map((s) => per(s, 'cpuUs'))),
    busyUsPerIterationOff: median(off.map((s) => per(s, 'busyUs'))),
    busyUsPerIterationOn: median(on.map((s) => per(s, 'busyUs'))),
    busySource: MAIN_THREAD_SOURCE,
    errorsByType: Object.fromEntries(errorsByType),
    telemetry: { spansExported: exported?.exported ?? 0, spansFailed: exported?.failed ?? 0, spansDropped: exported?.dropped ?? 0, ...sink.received },
    breakdown: spec.breakdown ? breakdownOf(measured) : undefined,
    elapsedMs: performance.now() - startedAt,
  };
}

/** Runs the measurement in a fresh process of the project at `root` (`agentperf gate overhead`), by the agentperf `cli` names. */
export function runOverheadProcess(root: string, spec: OverheadSpec, cli: readonly string[] = cliNodeArgs()): Promise<OverheadMeasurement> {
  return runNodeForJson<OverheadMeasurement>([...cli, 'gate', 'overhead', JSON.stringify(spec)], {
    cwd: root,
    code: ErrorCode.GATE_BLOCK,
    what: `the overhead measurement of ${spec.scenario} in ${root}`,
  });
}

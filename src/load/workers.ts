import type { Worker } from 'node:worker_threads';
import { AgentperfError, ErrorCode, UsageError } from '../errors.js';
import { startModuleWorker } from '../runtime/ts-worker.js';
import { siblingModule } from '../runtime/self.js';
import { mergeEncoded, mergeSnapshots } from '../stats/hdr.js';
import type { EngineResult, SeriesPoint } from './engine.js';
import { ResourceMonitor, type ResourceSummary } from './monitor.js';
import type { Stage } from './patterns.js';
import { LOAD_REPORT_SCHEMA, type LoadReport, type LoadShape, type LoadTestOutcome, type WorkerSaturation } from './load-report.js';
import type { ScenarioContext } from '../scenarios/types.js';
import { evaluateThresholds, type Threshold } from './thresholds.js';

/** What one worker runs: its share of the arrivals (open loop) or of the users (closed loop). */
export interface WorkerPlan {
  index: number;
  scenario: string;
  target: ScenarioContext['target'];
  settings: Record<string, string>;
  seed: number;
  shape: LoadShape;
  warmupMs: number;
  iterations?: number;
  drainTimeoutMs: number;
}

export type { WorkerSaturation };

export interface WorkersOptions {
  scenario: string;
  scenarioInfo: { name: string; description: string };
  context: Omit<ScenarioContext, 'log'>;
  shape: LoadShape;
  workers: number;
  warmupMs: number;
  iterations?: number;
  drainTimeoutMs: number;
  thresholds: readonly Threshold[];
  signal?: AbortSignal;
  /** A local target process whose CPU and RSS are reported (read from /proc). */
  targetPid?: number;
  /** Called once every worker is set up and the schedules have started. */
  onStart?: () => void;
}

const scaled = (stages: readonly Stage[], share: number): Stage[] =>
  stages.map((s) => ({ durationMs: s.durationMs, fromRate: s.fromRate * share, toRate: s.toRate * share }));

/** Worker `index`'s whole part of `total` things: the first ones get one more of the remainder. */
const partOf = (total: number, index: number, workers: number) => Math.floor(total / workers) + (index < total % workers ? 1 : 0);

/** Worker `index`'s part of the load: 1/N of every stage's rate, or its share of the users. */
export function shareOf(shape: LoadShape, index: number, workers: number): LoadShape {
  if (shape.kind === 'open') return { ...shape, stages: scaled(shape.stages, 1 / workers), maxInFlight: Math.max(1, Math.ceil(shape.maxInFlight / workers)) };
  return { ...shape, vus: partOf(shape.vus, index, workers) };
}

/**
 * `load --workers N`: the schedule spread over N worker threads, each running the scenario's
 * setup, its share of the load and its teardown, all starting their schedules at the same
 * moment. Their histograms are merged exactly (HDR add); counters are summed; the per-second
 * series sums counts and keeps the worst worker's percentiles for each second. Each worker's
 * own event loop says whether it kept up.
 */
export async function runLoadTestInWorkers(options: WorkersOptions): Promise<LoadTestOutcome & { workers: WorkerSaturation[] }> {
  const { workers: n } = options;
  if (options.shape.kind === 'closed' && options.shape.vus < n)
    throw new UsageError('workers', `--workers ${n} needs at least ${n} virtual users (--vus), got ${options.shape.vus}`);
  const entry = siblingModule(import.meta.url, 'load-worker');
  const startedAt = new Date();
  const threads: Worker[] = [];
  const ready: Promise<void>[] = [];
  const done: Promise<LoadTestOutcome>[] = [];
  for (let index = 0; index < n; index++) {
    const plan: WorkerPlan = {
      index,
      scenario: options.scenario,
      target: options.context.target,
      settings: options.context.settings,
      seed: options.context.seed + index,
      shape: shareOf(options.shape, index, n),
      warmupMs: options.warmupMs,
      iterations: options.iterations === undefined ? undefined : partOf(options.iterations, index, n),
      drainTimeoutMs: options.drainTimeoutMs,
    };
    const worker = startModuleWorker(entry, plan);
    threads.push(worker);
    let onReady!: () => void;
    ready.push(new Promise<void>((resolve) => (onReady = resolve)));
    done.push(
      new Promise<LoadTestOutcome>((resolve, reject) => {
        worker.on(
          'message',
          (message: { kind: string; outcome?: LoadTestOutcome; error?: { message: string; code?: string; field?: string; exitCode?: number } }) => {
            if (message.kind === 'ready') onReady();
            else if (message.kind === 'done') resolve(message.outcome!);
            else if (message.kind === 'failed') {
              const e = message.error!;
              reject(
                Object.assign(
                  new AgentperfError((e.code as ErrorCode | undefined) ?? ErrorCode.SCENARIO, `worker ${index}: ${e.message}`, {
                    exitCode: e.exitCode === 2 ? 2 : 1,
                  }),
                  e.field ? { field: e.field } : {},
                ),
              );
            }
          },
        );
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`load worker ${index} exited with ${code} before reporting`)));
      }),
    );
  }
  const monitor = new ResourceMonitor({ targetPid: options.targetPid });
  // Ctrl-C during setup ends the run before it starts; after, each worker stops scheduling and
  // reports what ran (as one process does).
  let interrupted!: () => void;
  const setupInterrupted = new Promise<never>(
    (_, reject) => (interrupted = () => reject(new AgentperfError(ErrorCode.ABORTED, 'interrupted while the workers were setting up: nothing ran'))),
  );
  setupInterrupted.catch(() => undefined);
  let started = false;
  const abort = () => (started ? threads.forEach((t) => t.postMessage({ kind: 'abort' })) : interrupted());
  if (options.signal?.aborted) abort();
  options.signal?.addEventListener('abort', abort, { once: true });
  try {
    // Every worker set up before any starts: the schedules begin together.
    await Promise.race([Promise.all(ready), Promise.all(done), setupInterrupted]);
    started = true;
    monitor.start();
    for (const worker of threads) worker.postMessage({ kind: 'go' });
    options.onStart?.();
    const outcomes = await Promise.all(done);
    const resources = monitor.stop();
    return merge(options, outcomes, resources, startedAt);
  } finally {
    options.signal?.removeEventListener('abort', abort);
    await Promise.all(threads.map((t) => t.terminate()));
  }
}

function streamPercentiles(points: readonly SeriesPoint[]): Pick<SeriesPoint, 'ttfcP50' | 'ttfcP95'> {
  const streamed = points.filter((p) => p.ttfcP95 !== undefined);
  if (streamed.length === 0) return {};
  return { ttfcP50: Math.max(...streamed.map((p) => p.ttfcP50!)), ttfcP95: Math.max(...streamed.map((p) => p.ttfcP95!)) };
}

function merge(
  options: WorkersOptions,
  outcomes: LoadTestOutcome[],
  resources: ResourceSummary,
  startedAt: Date,
): LoadTestOutcome & { workers: WorkerSaturation[] } {
  const results = outcomes.map((o) => o.report.result);
  const sum = (pick: (r: (typeof results)[number]) => number) => results.reduce((a, r) => a + pick(r), 0);
  const encoded: EngineResult['encoded'] = {
    latency: mergeEncoded(outcomes.map((o) => o.encoded.latency)),
    serviceTime: mergeEncoded(outcomes.map((o) => o.encoded.serviceTime)),
    schedulingLag: mergeEncoded(outcomes.map((o) => o.encoded.schedulingLag)),
  };
  const errorsByType: Record<string, number> = {};
  for (const r of results) for (const [type, count] of Object.entries(r.errorsByType)) errorsByType[type] = (errorsByType[type] ?? 0) + count;
  const seconds = Math.max(...results.map((r) => r.series.length));
  const series: SeriesPoint[] = [];
  for (let i = 0; i < seconds; i++) {
    const points = results.map((r) => r.series[i]).filter((p): p is SeriesPoint => p !== undefined);
    const total = (pick: (p: SeriesPoint) => number) => points.reduce((a, p) => a + pick(p), 0);
    const rates = points.map((p) => p.targetRate).filter((r): r is number => r !== undefined);
    series.push({
      second: i + 1,
      targetRate: rates.length ? rates.reduce((a, b) => a + b, 0) : undefined,
      started: total((p) => p.started),
      completed: total((p) => p.completed),
      errors: total((p) => p.errors),
      dropped: total((p) => p.dropped),
      inFlight: total((p) => p.inFlight),
      p50: Math.max(...points.map((p) => p.p50)),
      p95: Math.max(...points.map((p) => p.p95)),
      p99: Math.max(...points.map((p) => p.p99)),
      // As latency's: the worst worker's (a per-second approximation; the whole run's is merged exactly).
      ...streamPercentiles(points),
    });
  }
  const measuredMs = Math.max(...results.map((r) => r.measuredMs));
  const completed = sum((r) => r.completed);
  const targetRates = results.map((r) => r.targetRate).filter((r): r is number => r !== undefined);
  const result: LoadReport['result'] = {
    mode: results[0].mode,
    measuredMs,
    scheduled: sum((r) => r.scheduled),
    started: sum((r) => r.started),
    completed,
    errors: sum((r) => r.errors),
    errorsByType,
    dropped: sum((r) => r.dropped),
    unfinished: sum((r) => r.unfinished),
    targetRate: targetRates.length ? targetRates.reduce((a, b) => a + b, 0) : undefined,
    throughput: measuredMs > 0 ? (completed / measuredMs) * 1000 : 0,
    latency: mergeSnapshots([encoded.latency]),
    serviceTime: mergeSnapshots([encoded.serviceTime]),
    schedulingLag: mergeSnapshots([encoded.schedulingLag]),
    series,
  };
  // Streams, when any worker's iterations streamed: their histograms merged exactly, like latency's.
  const streamed = outcomes.filter((o) => o.encoded.timeToFirstChunk !== undefined);
  if (streamed.length > 0) {
    const mergedStream = (pick: (e: EngineResult['encoded']) => string | undefined) => mergeEncoded(streamed.map((o) => pick(o.encoded)!));
    encoded.timeToFirstChunk = mergedStream((e) => e.timeToFirstChunk);
    encoded.timePerOutputChunk = mergedStream((e) => e.timePerOutputChunk);
    encoded.outputTokensPerSecond = mergedStream((e) => e.outputTokensPerSecond);
    result.stream = {
      streams: streamed.reduce((a, o) => a + (o.report.result.stream?.streams ?? 0), 0),
      timeToFirstChunk: mergeSnapshots([encoded.timeToFirstChunk]),
      timePerOutputChunk: mergeSnapshots([encoded.timePerOutputChunk]),
      outputTokensPerSecond: mergeSnapshots([encoded.outputTokensPerSecond]),
    };
  }
  const workers: WorkerSaturation[] = outcomes.map((o, index) => ({
    index,
    completed: o.report.result.completed,
    mainThreadBusyMeanPct: o.report.resources.generator.mainThreadBusyMeanPct,
    eventLoopDelayP99: o.report.resources.generator.eventLoopDelay.p99,
    trusted: o.report.generator.trusted,
    reasons: o.report.generator.reasons,
  }));
  // Each worker judged on its own thread: one saturated worker makes the run untrusted.
  const reasons = workers.flatMap((w) => w.reasons.map((r) => `worker ${w.index}: ${r}`));
  const thresholds = evaluateThresholds(options.thresholds, result);
  const counted = outcomes.filter((o) => o.report.counters);
  const counters: Record<string, number> = {};
  for (const o of counted) for (const [name, value] of Object.entries(o.report.counters!)) counters[name] = (counters[name] ?? 0) + value;
  return {
    report: {
      schema: LOAD_REPORT_SCHEMA,
      scenario: options.scenarioInfo,
      target: options.context.target,
      startedAt: startedAt.toISOString(),
      shape: options.shape,
      warmupMs: options.warmupMs,
      result,
      // The process as a whole (every worker's CPU is in it); each worker's loop is in `workers`.
      resources,
      generator: { trusted: reasons.length === 0, reasons },
      thresholds,
      passed: thresholds.every((t) => t.passed),
      workers,
      ...(counted.length > 0 ? { counters } : {}),
    },
    encoded,
    workers,
  };
}

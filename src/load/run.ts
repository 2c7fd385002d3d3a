import { StreamedFile } from '../files/atomic.js';
import { runEngine, type EngineResult, type SeriesPoint } from './engine.js';
import { judgeGenerator, ResourceMonitor, type ResourceSummary } from './monitor.js';
import { ArrivalSchedule, type Stage } from './patterns.js';
import { countedBetween, LOAD_REPORT_SCHEMA, type LoadReport, type LoadShape, type LoadTestOutcome } from './load-report.js';
import type { Scenario, ScenarioContext } from '../scenarios/types.js';
import { evaluateThresholds, type Threshold } from './thresholds.js';

export { LOAD_REPORT_SCHEMA, type LoadReport, type LoadShape, type LoadTestOutcome };

export interface LoadTestOptions {
  scenario: Scenario<unknown>;
  context: ScenarioContext;
  shape: LoadShape;
  warmupMs: number;
  iterations?: number;
  drainTimeoutMs: number;
  thresholds: readonly Threshold[];
  targetPid?: number;
  /** Every measured iteration, streamed to this CSV file. */
  csvFile?: string;
  signal?: AbortSignal;
  onSecond?: (point: SeriesPoint) => void;
  /** When measurement begins (after warmup) and ends (before teardown): see EngineOptions. */
  onMeasureStart?: () => void;
  onMeasureEnd?: () => void;
  /** After setup, before the engine starts: `load --workers` starts every worker's schedule at once. */
  beforeRun?: () => Promise<void>;
}

const CSV_HEADER = 'iteration,intended_ms,start_ms,end_ms,latency_ms,service_ms,error\n';

/**
 * One load test, in phases: set the scenario up, start the resource monitor, drive the engine,
 * stop the monitor, tear the scenario down, then judge the generator and the thresholds.
 */
export async function runLoadTest(options: LoadTestOptions): Promise<LoadTestOutcome> {
  const { scenario, shape } = options;
  const csv = options.csvFile ? await StreamedFile.open(options.csvFile) : undefined;
  csv?.write(CSV_HEADER);
  let state: unknown;
  let engineResult: EngineResult;
  let resources: ResourceSummary;
  const startedAt = new Date();
  // The scenario's own counts over the measured window.
  let countedAtStart: Record<string, number> | undefined;
  let counted: Record<string, number> | undefined;
  try {
    state = await scenario.setup(options.context);
    await options.beforeRun?.();
    const monitor = new ResourceMonitor({ targetPid: options.targetPid ?? scenario.targetPid?.(state) });
    monitor.start();
    try {
      engineResult = await runEngine((i) => scenario.run(state, i), {
        mode:
          shape.kind === 'open'
            ? { kind: 'open', schedule: new ArrivalSchedule(withWarmup(shape.stages, options.warmupMs)), maxInFlight: shape.maxInFlight }
            : { kind: 'closed', vus: shape.vus, durationMs: shape.durationMs },
        warmupMs: options.warmupMs,
        iterations: options.iterations,
        drainTimeoutMs: options.drainTimeoutMs,
        signal: options.signal,
        onSecond: options.onSecond,
        onMeasureStart: () => {
          countedAtStart = scenario.counters?.(state);
          options.onMeasureStart?.();
        },
        onMeasureEnd: () => {
          const now = scenario.counters?.(state);
          if (now) counted = countedBetween(countedAtStart ?? {}, now);
          options.onMeasureEnd?.();
        },
        onIteration: csv
          ? (row) =>
              csv.write(
                `${row.iteration},${row.intendedMs.toFixed(3)},${row.startMs.toFixed(3)},${row.endMs.toFixed(3)},${(row.endMs - row.intendedMs).toFixed(3)},${(row.endMs - row.startMs).toFixed(3)},${row.error ?? ''}\n`,
              )
          : undefined,
      });
    } finally {
      resources = monitor.stop();
    }
  } catch (error) {
    await csv?.abort();
    if (state !== undefined) await scenario.teardown(state).catch(() => {});
    throw error;
  }
  await scenario.teardown(state);
  await csv?.commit();

  const { encoded, ...result } = engineResult;
  const thresholds = evaluateThresholds(options.thresholds, result);
  return {
    report: {
      schema: LOAD_REPORT_SCHEMA,
      scenario: { name: scenario.name, description: scenario.description },
      target: options.context.target,
      startedAt: startedAt.toISOString(),
      shape,
      warmupMs: options.warmupMs,
      result,
      resources,
      generator: judgeGenerator(resources, result.latency.mean),
      thresholds,
      passed: thresholds.every((t) => t.passed),
      ...(counted ? { counters: counted } : {}),
    },
    encoded,
  };
}

/** Warmup runs before the first stage, at the rate it starts with (or ends with, from zero). */
export function withWarmup(stages: readonly Stage[], warmupMs: number): Stage[] {
  if (warmupMs <= 0) return [...stages];
  const first = stages[0];
  const rate = first.fromRate > 0 ? first.fromRate : first.toRate;
  return [{ durationMs: warmupMs, fromRate: rate, toRate: rate }, ...stages];
}

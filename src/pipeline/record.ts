// The record of one `agentperf run` (run.json): its types and the constants the reports read.
// Types and constants only: the report modules import this, never the runners.
import type { HdrSnapshot } from '../stats/hdr.js';
import type { MetricVerdict } from '../gate/verdict.js';
import type { OverheadMeasurement } from '../measure/slices.js';
import type { Fingerprint } from '../gate/fingerprint.js';
import type { GateResult } from '../gate/run.js';
import type { LoadReport } from '../load/run.js';
import type { SeriesPoint } from '../load/engine.js';
import type { Bottlenecks } from '../profiling/analyze.js';
import type { LeakReport } from '../profiling/leak.js';
import type { CacheCounts } from './cache-timeline.js';
import type { phaseWindows } from './plan.js';

export const RUN_SCHEMA = 'agentperf.run/v4';

/**
 * The observability overhead as the run measured it: the gate's verdict on it (against the
 * baseline's overhead and the limit), or without a baseline the candidate's own figure against
 * the limit (never a FAIL: a limit is judged against the base); and the CPU it added per
 * iteration, from paired slices.
 */
export interface OverheadSummary extends MetricVerdict {
  pairs: number;
  sliceIterations: number;
  /** Throughput lost with instrumentation on, in %, with its 95% interval (negative: gained). */
  throughputLostPct: number;
  throughputLostLowPct: number;
  throughputLostHighPct: number;
  /** Process CPU and main-thread CPU added per iteration, in %, with 95% intervals. */
  cpuAddedPct: number;
  cpuLowPct: number;
  cpuHighPct: number;
  mainThreadAddedPct: number;
  mainThreadLowPct: number;
  mainThreadHighPct: number;
  mainThreadUsPerIterationOff: number;
  mainThreadUsPerIterationOn: number;
  /** The policy's limit on main-thread CPU added per iteration, in % (`overhead.cpuMaxPct`). */
  cpuLimitPct: number;
  /** What "on" exported while it was measured (OTLP spans to a local receiver, /metrics scrapes). */
  telemetry: OverheadMeasurement['telemetry'];
}

export type Verdict = 'PASS' | 'FAIL' | 'INCONCLUSIVE' | 'NO BASELINE' | 'NOT GATED';

/** The JSON record of one run (`run.json`): everything the reports are rendered from. */
export interface RunRecord {
  schema: typeof RUN_SCHEMA;
  startedAt: string;
  elapsedMs: number;
  command: string;
  fingerprint: Fingerprint;
  fingerprintId: string;
  scenario: string;
  settings: Record<string, string>;
  target: string;
  metricsUrl: string | undefined;
  phases: ReturnType<typeof phaseWindows>;
  load: Omit<LoadReport['result'], 'series'> & { generator: LoadReport['generator']; counters?: LoadReport['counters'] };
  series: Array<SeriesPoint & { cache: CacheCounts }>;
  /** Latency by percentile, HDR style: `percentiles[i]` of the corrected and the service-time histogram, in ms. */
  distribution: { percentiles: number[]; latencyMs: number[]; serviceMs: number[] };
  cache: { totals: CacheCounts; hitRate: number | undefined };
  /** The instrumentation's in-process HDR histograms over the load (ms): agent calls, queue wait, cache gets by tier. */
  hdr: HdrSnapshot;
  profile: { phase: string; cpuprofile: string; flamegraph?: string; flamegraphError?: string; bottlenecks: Bottlenecks };
  /** The same check as `agentperf leak` with its defaults; `command` reproduces it. */
  leak: Pick<LeakReport, 'verdict' | 'note' | 'slope' | 'thresholdBytesPerIteration' | 'points' | 'leakedClasses'> & {
    rounds: number;
    iterationsPerRound: number;
    command: string;
  };
  overhead: OverheadSummary;
  gate: { status: 'judged'; result: GateResult } | { status: 'no-baseline'; message: string } | { status: 'skipped' };
  verdict: Verdict;
  /** What the command exits with, from `verdict` alone: 1 on FAIL, else 0 (`run` is a report; `agentperf gate` is the CI gate, with 3 for INCONCLUSIVE). */
  exitCode: 0 | 1;
  /** Everything a reader must not miss, shown alike by the terminal, Markdown and HTML reports. */
  warnings: string[];
}

/** The percentiles the distribution is drawn at: dense where HDR plots look (the tail). */
export const DISTRIBUTION_PERCENTILES = [
  0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 92.5, 95, 96, 97, 97.5, 98, 98.5, 99, 99.25, 99.5, 99.75, 99.9, 99.95, 99.99, 100,
];

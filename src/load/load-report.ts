// A load run's report: what `load --json` writes and every consumer of a load run reads.
import type { EngineResult } from './engine.js';
import type { ResourceSummary, TrustVerdict } from './monitor.js';
import type { Stage } from './patterns.js';
import type { ScenarioContext } from '../scenarios/types.js';
import type { ThresholdOutcome } from './thresholds.js';

export const LOAD_REPORT_SCHEMA = 'agentperf.load/v1';

export type LoadShape = { kind: 'open'; pattern: string; stages: Stage[]; maxInFlight: number } | { kind: 'closed'; vus: number; durationMs: number };

/** How each worker kept up: its own event loop (each worker thread has one). */
export interface WorkerSaturation {
  index: number;
  completed: number;
  mainThreadBusyMeanPct: number;
  eventLoopDelayP99: number;
  trusted: boolean;
  reasons: string[];
}

/** A load run, as JSON (`--json FILE`): versioned, everything needed to compare runs. */
export interface LoadReport {
  schema: typeof LOAD_REPORT_SCHEMA;
  scenario: { name: string; description: string };
  target: ScenarioContext['target'];
  startedAt: string;
  shape: LoadShape;
  warmupMs: number;
  result: Omit<EngineResult, 'encoded'>;
  resources: ResourceSummary;
  generator: TrustVerdict;
  thresholds: ThresholdOutcome[];
  /** True when every threshold passed (and there were no thresholds to fail otherwise). */
  passed: boolean;
  /** With `--workers N`: how each worker thread kept up. */
  workers?: WorkerSaturation[];
  /** What the scenario counted while measuring (its `counters`), summed over workers; absent when it counts nothing. */
  counters?: Record<string, number>;
}

/** `after - before`, per name (a name first counted while measuring starts from 0). */
export function countedBetween(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([name, value]) => [name, value - (before[name] ?? 0)]));
}

export interface LoadTestOutcome {
  report: LoadReport;
  /** The histograms, encoded, for `--hdr FILE`. */
  encoded: EngineResult['encoded'];
}

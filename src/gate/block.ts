import { runNodeForJson } from '../runtime/json-child.js';
import { cliNodeArgs } from '../runtime/self.js';
import { runLoadTest } from '../load/run.js';
import { resolveScenario } from '../load/scenarios/index.js';
import { rootLogger } from '../logger.js';
import { ErrorCode } from '../errors.js';

/** One gate block: a scenario run closed-loop in a fresh process, after a warmup. */
export interface BlockSpec {
  scenario: string;
  settings: Record<string, string>;
  vus: number;
  warmupMs: number;
  durationMs: number;
  /** Instrumentation fully on (spans to a no-op exporter, metrics, HDR): for the overhead metric. */
  instrumented: boolean;
  seed: number;
}

export interface BlockResult {
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  throughput: number;
  completed: number;
  errors: number;
  peakRssBytes: number;
  /** Heap used after a forced GC at the end of the block. */
  heapAfterGcBytes: number;
}

/** Runs one block in this process (the child side of `runBlockProcess`). */
export async function runBlockHere(spec: BlockSpec): Promise<BlockResult> {
  let instrumentation: { stop(): Promise<void> } | undefined;
  if (spec.instrumented) {
    const { startInstrumentation, NOOP_SPAN_EXPORTER } = await import('../../instrumentation/start.js');
    instrumentation = await startInstrumentation({ prometheus: false, spanExporter: NOOP_SPAN_EXPORTER });
  }
  const scenario = await resolveScenario(spec.scenario);
  const { report } = await runLoadTest({
    scenario,
    context: { target: { kind: 'in-process' }, settings: spec.settings, seed: spec.seed, log: rootLogger },
    shape: { kind: 'closed', vus: spec.vus, durationMs: spec.durationMs },
    warmupMs: spec.warmupMs,
    drainTimeoutMs: 30_000,
    thresholds: [],
  });
  await instrumentation?.stop();
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const r = report.result;
  return {
    p50Ms: r.latency.p50,
    p95Ms: r.latency.p95,
    p99Ms: r.latency.p99,
    throughput: r.throughput,
    completed: r.completed,
    errors: r.errors,
    peakRssBytes: report.resources.generator.rssMaxBytes,
    heapAfterGcBytes: process.memoryUsage().heapUsed,
  };
}

/**
 * Runs one block in a fresh Node process, in the project at `root` (the user's, or the same
 * project in a worktree of another git ref): the scenario is looked up there, with that side's
 * config and code. Both sides run the same agentperf, this one, so only the user's code differs.
 */
export function runBlockProcess(root: string, spec: BlockSpec): Promise<BlockResult> {
  return runNodeForJson<BlockResult>(['--expose-gc', ...cliNodeArgs(), 'gate', 'block', JSON.stringify(spec)], { cwd: root, code: ErrorCode.GATE_BLOCK, what: `a gate block of ${spec.scenario} in ${root}` });
}

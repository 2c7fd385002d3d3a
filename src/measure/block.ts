/**
 * One block: the unit every comparison rests on (the gate, baselines, the self-test, `run`). A
 * scenario runs closed-loop for a set time after a warmup, in a fresh process of its own (two
 * code versions are compared block against block) or in this one, and reports what it measured.
 */
import { runNodeForJson } from '../runtime/json-child.js';
import { cliNodeArgs } from '../runtime/self.js';
import { runLoadTest, type LoadTestOptions } from '../load/run.js';
import type { Scenario } from '../scenarios/types.js';
import { resolveScenario } from '../scenarios/index.js';
import { rootLogger } from '../logger.js';
import { ErrorCode } from '../errors.js';
import { cpuSince, MAIN_THREAD_SOURCE, readCpu, type BusySource, type CpuReading } from '../runtime/cpu.js';

export interface BlockSpec {
  /** A scenario's name (the project's or a built-in one), looked up in the project the block runs in. */
  scenario: string;
  settings: Record<string, string>;
  vus: number;
  warmupMs: number;
  durationMs: number;
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
  /** Process CPU time (user + system, every thread) per completed iteration, in µs. */
  cpuUsPerIteration: number;
  /** The main thread's busy time per completed iteration, in µs (see `busySource`). */
  busyUsPerIteration: number;
  /** Where the main thread's time came from: the kernel's count for the thread, or the event loop's busy time. */
  busySource: BusySource;
  /** A scenario that streams: the corrected time to first chunk's p95, in ms, and the median output tokens per second of its generated streams. */
  ttfcP95Ms?: number;
  outputTokensPerSecond?: number;
}

/** A block's load, in process: its scenario with its settings, users, warmup and duration (a block, and the gate's profile of one). */
export function blockLoad(scenario: Scenario<unknown>, spec: BlockSpec): LoadTestOptions {
  return {
    scenario,
    context: { target: { kind: 'in-process' }, settings: spec.settings, seed: spec.seed, log: rootLogger },
    shape: { kind: 'closed', vus: spec.vus, durationMs: spec.durationMs },
    warmupMs: spec.warmupMs,
    drainTimeoutMs: 30_000,
    thresholds: [],
  };
}

/** Runs one block in this process (the child side of `runBlockProcess`). */
export async function runBlockHere(spec: BlockSpec): Promise<BlockResult> {
  const scenario = await resolveScenario(spec.scenario);
  let start: CpuReading | undefined;
  let used: CpuReading | undefined;
  const { report } = await runLoadTest({
    ...blockLoad(scenario, spec),
    onMeasureStart: () => (start = readCpu()),
    onMeasureEnd: () => (used = start && cpuSince(start)),
  });
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const r = report.result;
  const per = (micros: number | undefined) => (r.completed > 0 && micros !== undefined ? micros / r.completed : NaN);
  return {
    p50Ms: r.latency.p50,
    p95Ms: r.latency.p95,
    p99Ms: r.latency.p99,
    throughput: r.throughput,
    completed: r.completed,
    errors: r.errors,
    peakRssBytes: report.resources.generator.rssMaxBytes,
    heapAfterGcBytes: process.memoryUsage().heapUsed,
    cpuUsPerIteration: per(used?.process),
    busyUsPerIteration: per(used?.mainThread),
    busySource: MAIN_THREAD_SOURCE,
    ...(r.stream && {
      ttfcP95Ms: r.stream.timeToFirstChunk.p95,
      // Absent when every stream was a cache replay (nothing generated).
      ...(r.stream.outputTokensPerSecond.count > 0 && { outputTokensPerSecond: r.stream.outputTokensPerSecond.p50 }),
    }),
  };
}

/**
 * The version of what `gate block` and `gate overhead` take and print (BlockSpec, BlockResult,
 * OverheadSpec, OverheadMeasurement). A side of a paired gate is measured by its own agentperf
 * only when that one speaks this version (see gate/side.ts).
 */
// 4: a block of a streaming scenario reports its time to first chunk and output rate.
export const BLOCK_PROTOCOL = 4;

/**
 * Runs one block in a fresh Node process, in the project at `root` (the user's, or the same
 * project in a worktree of another git ref): the scenario is looked up there, with that side's
 * config and code, by the agentperf `cli` names (the side's own, or this one).
 */
export function runBlockProcess(root: string, spec: BlockSpec, cli: readonly string[] = cliNodeArgs()): Promise<BlockResult> {
  return runNodeForJson<BlockResult>(['--expose-gc', ...cli, 'gate', 'block', JSON.stringify(spec)], {
    cwd: root,
    code: ErrorCode.GATE_BLOCK,
    what: `a gate block of ${spec.scenario} in ${root}`,
  });
}

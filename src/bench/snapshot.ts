/**
 * `agentperf bench snapshot`: the leak report's snapshot analysis on a heap of a real service's
 * size. A child process builds a heap of the given size (records a service keeps, and a small
 * leak growing between three snapshots); another, fresh, analyses the three snapshots as
 * `agentperf leak` does, and reports its time and its peak memory against the heap's size.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '../errors.js';
import { runNodeForJson } from '../runtime/json-child.js';
import { nodeArgsForModule, siblingModule } from '../runtime/self.js';

export interface SnapshotBenchOptions {
  /** The live heap to build, in MiB. */
  heapMiB: number;
}

export const DEFAULT_SNAPSHOT_BENCH: SnapshotBenchOptions = { heapMiB: 1024 };

export interface SnapshotBenchResult {
  options: SnapshotBenchOptions;
  heap: { heapUsedBytes: number; records: number; leaked: number; fileBytes: number[]; writeMs: number };
  analysis: {
    elapsedMs: number;
    peakRssBytes: number;
    leakedClasses: Array<{ className: string; count: number; bytes: number; retainerPath: string[] }>;
    programBytes: number[];
  };
}

export async function benchSnapshot(options: SnapshotBenchOptions = DEFAULT_SNAPSHOT_BENCH): Promise<SnapshotBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'agentperf-bench-snapshot-'));
  const child = nodeArgsForModule(siblingModule(import.meta.url, 'snapshot-child'));
  try {
    // The heap's process needs room for the heap and for V8 to write its snapshot.
    const heap = await runNodeForJson<SnapshotBenchResult['heap']>(
      [`--max-old-space-size=${Math.ceil(options.heapMiB * 3 + 512)}`, ...child, 'make', dir, String(options.heapMiB)],
      { code: ErrorCode.BENCH_BLOCK, what: 'the heap to snapshot' },
    );
    const analysis = await runNodeForJson<SnapshotBenchResult['analysis']>([...child, 'analyze', dir], {
      code: ErrorCode.BENCH_BLOCK,
      what: 'the snapshot analysis',
    });
    return { options, heap, analysis };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

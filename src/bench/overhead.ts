import { runNodeForJson } from '../runtime/json-child.js';
import { openStack } from '../stack.js';
import { median } from '../stats/percentiles.js';
import { mulberry32 } from '../random.js';
import { nodeArgsForModule, siblingModule } from '../runtime/self.js';
import { percentChangeInterval, type Interval } from '../stats/bootstrap.js';
import type { BlockResult, BlockSpec } from './overhead-block.js';
import { ErrorCode } from '../errors.js';

export interface OverheadBenchOptions {
  /** On/off pairs per workload; each block is its own process. */
  pairs: number;
  warmupMs: number;
  durationMs: number;
  concurrency: number;
  workloads: Array<BlockSpec['workload']>;
}

export const DEFAULT_OVERHEAD_BENCH: OverheadBenchOptions = { pairs: 4, warmupMs: 500, durationMs: 1_000, concurrency: 32, workloads: ['standard', 'memory-hits'] };

export interface WorkloadOverhead {
  workload: BlockSpec['workload'];
  /** Throughput lost with instrumentation on, in %: 100 * (1 - on/off), median of pairs. */
  throughputPct: Interval;
  /** p50 and p99 latency added, in %: 100 * (on/off - 1), median of pairs. */
  p50Pct: Interval;
  p99Pct: Interval;
  /** Main-thread CPU per call added, in %: what latency hides from the figures above. */
  busyPct: Interval;
  /** Calls per CPU second lost, in %: the cost with other tenants' load taken out. */
  cpuThroughputPct: Interval;
  blocks: BlockResult[];
  target: number;
}

/** The memory-hit path in one process: steadier than fresh processes can be, per hit. */
export interface InProcessHitCost {
  rounds: number;
  hitsPerBlock: number;
  offNsPerHit: number;
  onNsPerHit: number;
  /** Time per hit added, in %: 100 * (on/off - 1), median of rounds. */
  addedPct: Interval;
}

export interface OverheadBenchResult {
  options: OverheadBenchOptions;
  workloads: WorkloadOverhead[];
  inProcessMemoryHits: InProcessHitCost;
  elapsedMs: number;
}

export const OVERHEAD_TARGETS: Record<BlockSpec['workload'], number> = { standard: 2, 'memory-hits': 5 };

/** Runs one block in a fresh Node process and returns what it measured. */
export function runBlockProcess(spec: BlockSpec): Promise<BlockResult> {
  return runNodeForJson<BlockResult>([...nodeArgsForModule(siblingModule(import.meta.url, 'overhead-block')), JSON.stringify(spec)], { code: ErrorCode.BENCH_BLOCK, what: 'an overhead block' });
}

/** Pairs of interval estimates for on/off, from adjacent blocks (ABBA order). */
export function pairRatios(blocks: readonly BlockResult[], pick: (b: BlockResult) => number): number[] {
  const on = blocks.filter((b) => b.spec.instrumented);
  const off = blocks.filter((b) => !b.spec.instrumented);
  return on.map((b, i) => pick(b) / pick(off[i]!));
}

/**
 * The observability overhead: the same workload with instrumentation fully on and fully off,
 * in alternating blocks (on-off, off-on, ...), each in a fresh process, judged on the paired
 * ratios with a bootstrap interval of their median.
 */
export async function benchOverhead(options: OverheadBenchOptions = DEFAULT_OVERHEAD_BENCH, onBlock?: (b: BlockResult) => void): Promise<OverheadBenchResult> {
  const startedAt = performance.now();
  const workloads: WorkloadOverhead[] = [];
  const random = mulberry32(42);
  for (const workload of options.workloads) {
    const blocks: BlockResult[] = [];
    for (let pair = 0; pair < options.pairs; pair++) {
      const order = pair % 2 === 0 ? [true, false] : [false, true];
      for (const instrumented of order) {
        const block = await runBlockProcess({ workload, instrumented, warmupMs: options.warmupMs, durationMs: options.durationMs, concurrency: options.concurrency });
        blocks.push(block);
        onBlock?.(block);
      }
    }
    const pct = (ratios: number[], sign: 1 | -1) => percentChangeInterval(ratios, sign, random);
    workloads.push({
      workload,
      throughputPct: pct(pairRatios(blocks, (b) => b.callsPerSec), -1),
      p50Pct: pct(pairRatios(blocks, (b) => b.p50Us), 1),
      p99Pct: pct(pairRatios(blocks, (b) => b.p99Us), 1),
      busyPct: pct(pairRatios(blocks, (b) => b.busyUsPerCall), 1),
      cpuThroughputPct: pct(pairRatios(blocks, (b) => b.callsPerCpuSec), -1),
      blocks,
      target: OVERHEAD_TARGETS[workload],
    });
  }
  const inProcessMemoryHits = await measureInProcessMemoryHits(6, 200_000, random);
  return { options, workloads, inProcessMemoryHits, elapsedMs: performance.now() - startedAt };
}

/**
 * Sequential memory hits through the orchestrator in this process, instrumentation off and on
 * in alternating order each round (on means started before the block and stopped after).
 */
export async function measureInProcessMemoryHits(rounds: number, hitsPerBlock: number, random: () => number): Promise<InProcessHitCost> {
  const { startInstrumentation, NOOP_SPAN_EXPORTER } = await import('../../instrumentation/start.js');
  const agent = { name: 'overhead-agent', model: 'claude-haiku-5-5', systemPrompt: 'You answer briefly.', maxTokens: 256, temperature: 0, cacheable: true, version: 1 };
  const stack = await openStack({ agents: [agent], provider: { kind: 'in-process' } });
  const { orchestrator } = stack;
  for (let i = 0; i < 256; i++) await orchestrator.executeAgent(agent.name, `question ${i}`);
  const block = async () => {
    const start = performance.now();
    for (let i = 0; i < hitsPerBlock; i++) await orchestrator.executeAgent(agent.name, `question ${i & 255}`);
    return ((performance.now() - start) * 1e6) / hitsPerBlock;
  };
  await block(); // warm the JIT on the uninstrumented path
  const off: number[] = [];
  const on: number[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const instrumented of round % 2 === 0 ? [false, true] : [true, false]) {
      if (!instrumented) {
        off.push(await block());
        continue;
      }
      const instrumentation = await startInstrumentation({ prometheus: false, spanExporter: NOOP_SPAN_EXPORTER });
      on.push(await block());
      await instrumentation.stop();
    }
  }
  await stack.close();
  return { rounds, hitsPerBlock, offNsPerHit: median(off), onNsPerHit: median(on), addedPct: percentChangeInterval(on.map((x, i) => x / off[i]!), 1, random) };
}

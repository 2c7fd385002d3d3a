import { runEngine } from '../load/engine.js';
import { mixedScenario } from '../scenarios/agent.js';
import { rootLogger } from '../logger.js';
import type { Interval } from '../stats/bootstrap.js';
import { changePctOf, pairedLogRatios } from '../stats/compare.js';
import { CpuProfiler } from '../profiling/cpu.js';
import { runInterleaved } from '../measure/interleave.js';

export interface ProfilingBenchOptions {
  rounds: number;
  blockMs: number;
  vus: number;
  /**
   * The simulator's latency. Fixed at the log-normal's median by default: with a random draw
   * per request, blocks differed by up to ±8% from the latency draws alone, which buried the
   * profiler's cost.
   */
  latency: string;
}

export const DEFAULT_PROFILING_BENCH: ProfilingBenchOptions = { rounds: 18, blockMs: 2_000, vus: 50, latency: 'fixed:40' };

export interface ProfilingVariant {
  name: string;
  intervalUs: number | undefined;
  /** Median iterations/s over the rounds. */
  throughput: number;
  /** Process CPU µs per iteration, all threads (the profiler's sampling thread included), median. */
  cpuUsPerIteration: number;
  /** Throughput lost against the profiler off, in %: 100 * (1 - on/off), median of per-round ratios. */
  overheadPct: Interval;
  cpuAddedPct: Interval;
}

export interface ProfilingBenchResult {
  options: ProfilingBenchOptions;
  variants: ProfilingVariant[];
  elapsedMs: number;
}

/**
 * The CPU profiler's cost on the mixed scenario (the standard workload: realistic simulator
 * latency, 2 calls in 5 cache hits), closed loop: off, 10 ms and 1 ms sampling in
 * interleaved blocks of one process, every ordering in turn.
 */
export async function benchProfiling(options: ProfilingBenchOptions = DEFAULT_PROFILING_BENCH): Promise<ProfilingBenchResult> {
  const startedAt = performance.now();
  const state = await mixedScenario.setup({ target: { kind: 'in-process' }, settings: { latency: options.latency }, seed: 1, log: rootLogger });
  let iteration = 0;
  const cpu = new Map<string, number[]>();
  const block = (name: string, intervalUs: number | undefined) => async () => {
    const profiler = intervalUs === undefined ? undefined : new CpuProfiler();
    await profiler?.start({ intervalUs });
    const before = process.cpuUsage();
    const result = await runEngine(() => mixedScenario.run(state, iteration++), {
      mode: { kind: 'closed', vus: options.vus, durationMs: options.blockMs },
      warmupMs: 0,
      drainTimeoutMs: 10_000,
    });
    const used = process.cpuUsage(before);
    await profiler?.stop();
    cpu.set(name, [...(cpu.get(name) ?? []), (used.user + used.system) / Math.max(1, result.completed)]);
    return result.throughput;
  };
  try {
    // One block of each first, unmeasured: JIT warmup and the cache's warm questions.
    await block('warm', undefined)();
    await block('warm', 1000)();
    cpu.delete('warm');
    const variants = [
      { name: 'off', intervalUs: undefined },
      { name: '10 ms', intervalUs: 10_000 },
      { name: '1 ms', intervalUs: 1_000 },
    ];
    const result = await runInterleaved(
      variants.map((v) => ({ name: v.name, block: block(v.name, v.intervalUs) })),
      options.rounds,
    );
    // Paired t intervals of the per-round log-ratios (src/stats/compare.ts), as a change in %.
    const pct = (ratios: number[], sign: 1 | -1): Interval => changePctOf(pairedLogRatios(ratios.map(Math.log)), sign);
    const offCpu = cpu.get('off')!;
    return {
      options,
      variants: variants.map((v) => {
        const samples = cpu.get(v.name)!;
        return {
          name: v.name,
          intervalUs: v.intervalUs,
          throughput: result.medians[v.name],
          cpuUsPerIteration: [...samples].sort((a, b) => a - b)[samples.length >> 1],
          overheadPct: pct(result.ratios[v.name].perRound, -1),
          cpuAddedPct: pct(
            samples.map((x, i) => x / offCpu[i]),
            1,
          ),
        };
      }),
      elapsedMs: performance.now() - startedAt,
    };
  } finally {
    await mixedScenario.teardown(state);
  }
}

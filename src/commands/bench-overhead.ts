import { Command } from 'commander';
import { benchOverhead, DEFAULT_OVERHEAD_BENCH } from '../bench/overhead.js';
import { UsageError } from '../errors.js';
import { formatOverheadBench } from '../report/bench.js';
import { parseIntegerOption, parseDurationMs } from '../units.js';
import { collect, print } from './options.js';

/** `agentperf bench overhead`: instrumentation fully on against fully off, interleaved. */
export { benchOverhead as run };

export const command = new Command('overhead')
  .description('instrumentation fully on against fully off, alternating blocks in fresh processes')
  .option('--pairs <n>', 'on/off pairs per workload', String(DEFAULT_OVERHEAD_BENCH.pairs))
  .option('--duration <duration>', 'measured time per block', `${DEFAULT_OVERHEAD_BENCH.durationMs}ms`)
  .option('--warmup <duration>', 'unmeasured time per block before it (the JIT warming up)', `${DEFAULT_OVERHEAD_BENCH.warmupMs}ms`)
  .option('--workload <name>', 'standard | memory-hits, repeatable (default both)', collect, [])
  .option('--json', 'print the result as JSON')
  .action(async (opts) => {
    const workloads = (opts.workload as string[]).length ? (opts.workload as string[]) : DEFAULT_OVERHEAD_BENCH.workloads;
    for (const w of workloads) if (w !== 'standard' && w !== 'memory-hits') throw new UsageError('workload', `workload must be standard or memory-hits, got ${JSON.stringify(w)}`);
    const result = await benchOverhead(
      {
        ...DEFAULT_OVERHEAD_BENCH,
        pairs: parseIntegerOption('pairs', opts.pairs, 1, 1_000),
        durationMs: parseDurationMs('duration', opts.duration),
        warmupMs: parseDurationMs('warmup', opts.warmup),
        workloads: workloads as typeof DEFAULT_OVERHEAD_BENCH.workloads,
      },
      (block) => process.stderr.write(`  ${block.spec.workload} ${block.spec.instrumented ? 'on ' : 'off'}: ${Math.round(block.callsPerSec)} calls/s\n`),
    );
    print(opts.json ? JSON.stringify(result, null, 2) : formatOverheadBench(result));
  });

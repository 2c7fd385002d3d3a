import { Command } from 'commander';
import { benchOverhead, DEFAULT_OVERHEAD_BENCH } from '../bench/overhead.js';
import { UsageError } from '../errors.js';
import { formatOverheadBench } from '../report/bench.js';
import { parseIntegerOption } from '../units.js';
import { collect, print } from './options.js';

/** `agentperf bench overhead`: instrumentation fully on against fully off, interleaved. */
export { benchOverhead as run };

/** The flags as commander parses them (its action's options are untyped). */
interface BenchOverheadFlags {
  breakdown: boolean;
  json?: boolean;
  pairs: string;
  vus: string;
  warmupPairs: string;
  workload: string[];
}

export const command = new Command('overhead')
  .description('instrumentation fully on against fully off, in alternating slices of one process per workload')
  .option('--pairs <n>', 'measured on/off pairs of slices per workload', String(DEFAULT_OVERHEAD_BENCH.pairs))
  .option('--warmup-pairs <n>', 'pairs run first, not measured (the JIT compiling both paths)', String(DEFAULT_OVERHEAD_BENCH.warmupPairs))
  .option('--vus <n>', 'closed-loop users', String(DEFAULT_OVERHEAD_BENCH.vus))
  .option('--workload <name>', 'standard | memory-hits | sdk-app | own-cost, repeatable (default all four)', collect, [])
  .option('--no-breakdown', 'the standard workload in on/off pairs only, without the per-part rounds')
  .option('--json', 'print the result as JSON')
  .action(async (opts: BenchOverheadFlags) => {
    const workloads = opts.workload.length ? opts.workload : DEFAULT_OVERHEAD_BENCH.workloads;
    for (const w of workloads)
      if (!DEFAULT_OVERHEAD_BENCH.workloads.includes(w as never))
        throw new UsageError('workload', `workload must be one of ${DEFAULT_OVERHEAD_BENCH.workloads.join(', ')}, got ${JSON.stringify(w)}`);
    const result = await benchOverhead(
      {
        pairs: parseIntegerOption('pairs', opts.pairs, 2, 1_000),
        warmupPairs: parseIntegerOption('warmup-pairs', opts.warmupPairs, 0, 100),
        vus: parseIntegerOption('vus', opts.vus, 1, 10_000),
        workloads: workloads as typeof DEFAULT_OVERHEAD_BENCH.workloads,
        breakdown: opts.breakdown !== false,
      },
      (workload, m) =>
        process.stderr.write(`  ${workload}: ${m.spec.pairs} ${m.spec.breakdown ? 'rounds' : 'pairs'} in ${(m.elapsedMs / 1000).toFixed(1)} s\n`),
    );
    print(opts.json ? JSON.stringify(result, null, 2) : formatOverheadBench(result));
  });

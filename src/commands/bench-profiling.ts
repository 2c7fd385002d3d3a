import { Command } from 'commander';
import { benchProfiling, DEFAULT_PROFILING_BENCH } from '../bench/profiling.js';
import { formatProfilingBench } from '../report/bench.js';
import { parseIntegerOption, parseDurationMs } from '../units.js';
import { print } from './options.js';

/** `agentperf bench profiling`: the CPU profiler's cost on the mixed scenario, interleaved. */
export { benchProfiling as run };

/** The flags as commander parses them (its action's options are untyped). */
interface BenchProfilingFlags {
  block: string;
  json?: boolean;
  latency: string;
  rounds: string;
  vus: string;
}

export const command = new Command('profiling')
  .description('the CPU profiler on the mixed scenario: off, 10 ms and 1 ms sampling, interleaved')
  .option('--rounds <n>', 'interleaved rounds', String(DEFAULT_PROFILING_BENCH.rounds))
  .option('--block <duration>', 'length of each block', `${DEFAULT_PROFILING_BENCH.blockMs}ms`)
  .option('--vus <n>', 'closed-loop users', String(DEFAULT_PROFILING_BENCH.vus))
  .option('--latency <spec>', 'simulator latency', DEFAULT_PROFILING_BENCH.latency)
  .option('--json', 'print the result as JSON')
  .action(async (opts: BenchProfilingFlags) => {
    const result = await benchProfiling({
      rounds: parseIntegerOption('rounds', opts.rounds, 1, 1_000),
      blockMs: parseDurationMs('block', opts.block),
      vus: parseIntegerOption('vus', opts.vus, 1, 100_000),
      latency: opts.latency,
    });
    print(opts.json ? JSON.stringify(result, null, 2) : formatProfilingBench(result));
  });

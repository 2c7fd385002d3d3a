import { Command } from 'commander';
import { benchIntervals, DEFAULT_INTERVALS_BENCH } from '../bench/intervals.js';
import { formatIntervalsBench } from '../report/bench.js';
import { parseIntegerOption } from '../units.js';
import { print } from './options.js';

/** `agentperf bench intervals`: how often each interval method covers a known change, by simulation. */
export { benchIntervals as run };

/** The flags as commander parses them (its action's options are untyped). */
interface BenchIntervalsFlags {
  json?: boolean;
  seed: string;
  trials: string;
}

export const command = new Command('intervals')
  .description('coverage of each interval method (paired t, Mann-Whitney, the bootstraps) at each sample count against known noise, by simulation')
  .option('--trials <n>', 'simulated comparisons per cell', String(DEFAULT_INTERVALS_BENCH.trials))
  .option('--seed <n>', 'seed of the simulation', String(DEFAULT_INTERVALS_BENCH.seed))
  .option('--json', 'print the result as JSON')
  .action((opts: BenchIntervalsFlags) => {
    const result = benchIntervals({
      trials: parseIntegerOption('trials', opts.trials, 100, 1_000_000),
      seed: parseIntegerOption('seed', opts.seed, 0, 2 ** 31),
    });
    print(opts.json ? JSON.stringify(result, null, 2) : formatIntervalsBench(result));
  });

import { Command } from 'commander';
import { benchStartup, DEFAULT_STARTUP_BENCH } from '../bench/startup.js';
import { formatStartupBench } from '../report/bench.js';
import { parseIntegerOption } from '../units.js';
import { print } from './options.js';

/** `agentperf bench startup`: cold start of `npx agentperf --help` beside Node's and npx's own. */
export { benchStartup as run };

/** The flags as commander parses them (its action's options are untyped). */
interface BenchStartupFlags {
  json?: boolean;
  rounds: string;
}

export const command = new Command('startup')
  .description("cold start: npx agentperf --help beside node's and npx's own start-up, interleaved")
  .option('--rounds <n>', 'rounds (medians are reported)', String(DEFAULT_STARTUP_BENCH.rounds))
  .option('--json', 'print the result as JSON')
  .action(async (opts: BenchStartupFlags) => {
    const result = await benchStartup({ rounds: parseIntegerOption('rounds', opts.rounds, 1, 1_000) });
    print(opts.json ? JSON.stringify(result, null, 2) : formatStartupBench(result));
  });

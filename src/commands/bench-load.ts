import { Command } from 'commander';
import { benchLoad, DEFAULT_LOAD_BENCH } from '../bench/load.js';
import { formatLoadBench } from '../report/bench.js';
import { parseIntegerOption, parseDurationMs } from '../units.js';
import { print } from './options.js';

/** `agentperf bench load`: the load generator against a no-op target and side by side with autocannon. */
export { benchLoad as run };

/** The flags as commander parses them (its action's options are untyped). */
interface BenchLoadFlags {
  connections: string;
  json?: boolean;
  rate: string;
  rounds: string;
  runs: string;
  soak: string;
  soakRate: string;
}

export const command = new Command('load')
  .description('the load generator: in-process rate and lag against a no-op target; HTTP side by side with autocannon; an optional soak')
  .option('--rate <n>', 'in-process scheduled rate', String(DEFAULT_LOAD_BENCH.rate))
  .option('--runs <n>', 'in-process runs (medians are reported)', String(DEFAULT_LOAD_BENCH.runs))
  .option('--rounds <n>', 'HTTP rounds against autocannon', String(DEFAULT_LOAD_BENCH.rounds))
  .option('--connections <list>', 'HTTP connections for both tools, comma-separated', DEFAULT_LOAD_BENCH.connections.join(','))
  .option('--soak <duration>', 'also run a steady-rate soak this long (e.g. 10m) and report RSS growth', '0s')
  .option('--soak-rate <n>', 'the soak rate', String(DEFAULT_LOAD_BENCH.soakRate))
  .option('--json', 'print the result as JSON')
  .action(async (opts: BenchLoadFlags) => {
    const result = await benchLoad({
      ...DEFAULT_LOAD_BENCH,
      rate: parseIntegerOption('rate', opts.rate, 1, 10_000_000),
      runs: parseIntegerOption('runs', opts.runs, 1, 100),
      rounds: parseIntegerOption('rounds', opts.rounds, 1, 100),
      connections: String(opts.connections)
        .split(',')
        .map((c) => parseIntegerOption('connections', c.trim(), 1, 10_000)),
      soakMs: parseDurationMs('soak', opts.soak),
      soakRate: parseIntegerOption('soak-rate', opts.soakRate, 1, 1_000_000),
    });
    print(opts.json ? JSON.stringify(result, null, 2) : formatLoadBench(result));
  });

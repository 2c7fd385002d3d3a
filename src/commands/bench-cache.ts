import { Command } from 'commander';
import { benchCache, DEFAULT_CACHE_BENCH } from '../bench/cache.js';
import { formatCacheBench } from '../report/bench.js';
import { parseIntegerOption } from '../units.js';
import { print } from './options.js';

/** `agentperf bench cache`: memory and disk hits, sets, and opening a large cache. */
export { benchCache as run };

/** The flags as commander parses them (its action's options are untyped). */
interface BenchCacheFlags {
  diskIterations: string;
  json?: boolean;
  memoryIterations: string;
  openEntries: string;
}

export const command = new Command('cache')
  .description('memory and disk hit latency, set latency, and opening a 100,000-entry cache')
  .option('--memory-iterations <n>', 'timed memory hits', String(DEFAULT_CACHE_BENCH.memoryIterations))
  .option('--disk-iterations <n>', 'timed disk hits', String(DEFAULT_CACHE_BENCH.diskIterations))
  .option('--open-entries <n>', 'entries in the cache that is reopened', String(DEFAULT_CACHE_BENCH.openEntries))
  .option('--json', 'print the result as JSON')
  .action(async (opts: BenchCacheFlags) => {
    const result = await benchCache({
      ...DEFAULT_CACHE_BENCH,
      memoryIterations: parseIntegerOption('memory-iterations', opts.memoryIterations, 10_000, 100_000_000),
      diskIterations: parseIntegerOption('disk-iterations', opts.diskIterations, 1, 10_000_000),
      openEntries: parseIntegerOption('open-entries', opts.openEntries, 1, 10_000_000),
    });
    print(opts.json ? JSON.stringify(result, null, 2) : formatCacheBench(result));
  });

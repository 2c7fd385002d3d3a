import { Command } from 'commander';
import { benchCache, DEFAULT_CACHE_BENCH } from '../bench/cache.js';
import { benchCacheRedis, DEFAULT_REDIS_CACHE_BENCH } from '../bench/cache-redis.js';
import { currentProject, redisSettings } from '../config/project.js';
import { UsageError } from '../errors.js';
import { validateRedisOptions } from '../redis/link.js';
import { formatCacheBench, formatRedisCacheBench } from '../report/bench.js';
import { parseIntegerOption } from '../units.js';
import { print } from './options.js';

/** `agentperf bench cache`: memory and disk hits, sets, and opening a large cache; with `--redis`, the Redis tier. */
export { benchCache as run };

/** The flags as commander parses them (its action's options are untyped). */
interface BenchCacheFlags {
  diskIterations: string;
  json?: boolean;
  memoryIterations: string;
  openEntries: string;
  redis?: string | true;
}

export const command = new Command('cache')
  .description('memory and disk hit latency, set latency, and opening a 100,000-entry cache; --redis: the shared Redis tier instead')
  .option('--memory-iterations <n>', 'timed memory hits', String(DEFAULT_CACHE_BENCH.memoryIterations))
  .option('--disk-iterations <n>', 'timed disk hits', String(DEFAULT_CACHE_BENCH.diskIterations))
  .option('--open-entries <n>', 'entries in the cache that is reopened', String(DEFAULT_CACHE_BENCH.openEntries))
  .option(
    '--redis [url]',
    "the Redis tier: a verified hit, what it adds to a miss, and three instances against one (the Redis at URL, else AGENTPERF_REDIS_URL, else the project config's redis.url)",
  )
  .option('--json', 'print the result as JSON')
  .action(async (opts: BenchCacheFlags) => {
    if (opts.redis !== undefined) {
      const spec = redisSettings(await currentProject(), { redis: opts.redis === true ? undefined : opts.redis });
      if (!spec)
        throw new UsageError(
          'redis',
          'bench cache --redis needs a Redis to measure: give its URL (--redis redis://127.0.0.1:6379), or set AGENTPERF_REDIS_URL',
        );
      validateRedisOptions(spec);
      const result = await benchCacheRedis({ url: spec.url, ...DEFAULT_REDIS_CACHE_BENCH });
      print(opts.json ? JSON.stringify(result, null, 2) : formatRedisCacheBench(result));
      return;
    }
    const result = await benchCache({
      ...DEFAULT_CACHE_BENCH,
      memoryIterations: parseIntegerOption('memory-iterations', opts.memoryIterations, 10_000, 100_000_000),
      diskIterations: parseIntegerOption('disk-iterations', opts.diskIterations, 1, 10_000_000),
      openEntries: parseIntegerOption('open-entries', opts.openEntries, 1, 10_000_000),
    });
    print(opts.json ? JSON.stringify(result, null, 2) : formatCacheBench(result));
  });

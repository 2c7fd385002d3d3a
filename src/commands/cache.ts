import { Command } from 'commander';
import { UsageError } from '../errors.js';
import { rootLogger } from '../logger.js';
import { formatCacheReport, type CacheReport } from '../report/cache.js';
import { openCache } from '../stack.js';
import { currentProject, redisSettings } from '../config/project.js';
import { print, withStackFlags } from './options.js';

export interface CacheCliOptions {
  cacheDir?: string;
  requireSecret?: boolean;
  /** `--redis`: the shared tier's URL (else AGENTPERF_REDIS_URL, else the project config's). */
  redis?: string;
  env?: NodeJS.ProcessEnv;
}

export type { CacheReport };

export const CACHE_ACTIONS = ['stats', 'verify', 'clear', 'prune'] as const;
export type CacheAction = (typeof CACHE_ACTIONS)[number];

/** `agentperf cache <action>` on the signed cache's shared tiers: the disk tier (from `--cache-dir`), and Redis when configured. */
export async function run(action: CacheAction, options: CacheCliOptions): Promise<CacheReport> {
  const env = options.env ?? process.env;
  const redis = redisSettings(await currentProject(), options, env);
  const cache = (await openCache({ kind: 'disk', dir: options.cacheDir, requireSecret: options.requireSecret, redis, env }, rootLogger))!;
  try {
    await cache.ready();
    switch (action) {
      case 'stats': {
        const foreignSecret = cache.foreignSecret();
        return { action, tiers: cache.stats().tiers, ...(foreignSecret ? { foreignSecret } : {}) };
      }
      case 'verify':
        return { action, ...(await cache.verify()) };
      case 'clear':
        await cache.clear();
        return { action };
      case 'prune':
        return { action, ...(await cache.prune()) };
    }
  } finally {
    await cache.close();
  }
}

/** The flags as commander parses them (its action's options are untyped). */
interface CacheFlags {
  cacheDir?: string;
  json?: boolean;
  redis?: string;
  requireSecret?: boolean;
}

export const command = withStackFlags(
  new Command('cache').description('inspect and maintain the signed response cache').argument('<action>', CACHE_ACTIONS.join(' | ')),
  { cache: true, redis: true },
)
  .option('--json', 'print the report as JSON')
  .action(async (action: string, opts: CacheFlags) => {
    if (!(CACHE_ACTIONS as readonly string[]).includes(action))
      throw new UsageError('action', `action must be one of ${CACHE_ACTIONS.join(', ')}, got ${JSON.stringify(action)}`);
    const report = await run(action as CacheAction, { cacheDir: opts.cacheDir, requireSecret: opts.requireSecret, redis: opts.redis });
    print(opts.json ? JSON.stringify(report, null, 2) : formatCacheReport(report));
    // verify: 1 when an entry fails or the secret is not the cache's (nothing could be verified).
    if (report.action === 'verify' && (report.failures.length > 0 || report.foreignSecret)) process.exitCode = 1;
  });

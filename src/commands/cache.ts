import { Command } from 'commander';
import { UsageError } from '../errors.js';
import { rootLogger } from '../logger.js';
import { formatCacheReport, type CacheReport } from '../report/cache.js';
import { openCache } from '../stack.js';
import { print, withStackFlags } from './options.js';

export interface CacheCliOptions {
  cacheDir?: string;
  requireSecret?: boolean;
  env?: NodeJS.ProcessEnv;
}

export type { CacheReport };

export const CACHE_ACTIONS = ['stats', 'verify', 'clear', 'prune'] as const;
export type CacheAction = (typeof CACHE_ACTIONS)[number];

/** `agentperf cache <action>` on the signed cache's shared tiers (the disk tier, from `--cache-dir`). */
export async function run(action: CacheAction, options: CacheCliOptions): Promise<CacheReport> {
  const cache = (await openCache({ kind: 'disk', dir: options.cacheDir, requireSecret: options.requireSecret, env: options.env }, rootLogger))!;
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
  requireSecret?: boolean;
}

export const command = withStackFlags(
  new Command('cache').description('inspect and maintain the signed response cache').argument('<action>', CACHE_ACTIONS.join(' | ')),
  { cache: true },
)
  .option('--json', 'print the report as JSON')
  .action(async (action: string, opts: CacheFlags) => {
    if (!(CACHE_ACTIONS as readonly string[]).includes(action))
      throw new UsageError('action', `action must be one of ${CACHE_ACTIONS.join(', ')}, got ${JSON.stringify(action)}`);
    const report = await run(action as CacheAction, { cacheDir: opts.cacheDir, requireSecret: opts.requireSecret });
    print(opts.json ? JSON.stringify(report, null, 2) : formatCacheReport(report));
    // verify: 1 when an entry fails or the secret is not the cache's (nothing could be verified).
    if (report.action === 'verify' && (report.failures.length > 0 || report.foreignSecret)) process.exitCode = 1;
  });

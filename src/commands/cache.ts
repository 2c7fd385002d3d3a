import { delimiter } from 'node:path';
import { DEFAULT_CACHE_DIR, DEFAULT_CACHE_ROOT } from '../cache/path-safety.js';
import { ResponseCache } from '../cache/response-cache.js';
import type { VerifyFailure } from '../cache/disk-tier.js';
import { rootLogger } from '../logger.js';

export interface CacheCliOptions {
  cacheDir?: string;
  requireSecret?: boolean;
  env?: NodeJS.ProcessEnv;
}

/**
 * The roots a cache directory may lie under: ~/.cache/agentperf, plus any listed in
 * AGENTPERF_CACHE_ROOTS (separated like PATH).
 */
export function allowedCacheRoots(env: NodeJS.ProcessEnv = process.env): string[] {
  return [DEFAULT_CACHE_ROOT, ...(env.AGENTPERF_CACHE_ROOTS ?? '').split(delimiter).filter(Boolean)];
}

/** The cache the CLI uses: memory in front of the signed disk tier in `--cache-dir`. */
export function openCliCache(options: CacheCliOptions): Promise<ResponseCache> {
  const env = options.env ?? process.env;
  return ResponseCache.open({
    logger: rootLogger,
    disk: { dir: options.cacheDir ?? DEFAULT_CACHE_DIR, allowedRoots: allowedCacheRoots(env), requireSecret: options.requireSecret, env },
  });
}

export type CacheAction = 'stats' | 'verify' | 'clear' | 'prune';

export type CacheReport =
  | { action: 'stats'; entries: number; bytes: number }
  | { action: 'verify'; checked: number; failures: VerifyFailure[] }
  | { action: 'clear' }
  | { action: 'prune'; removed: number };

export async function cacheCommand(action: CacheAction, options: CacheCliOptions): Promise<CacheReport> {
  const cache = await openCliCache(options);
  try {
    await cache.ready();
    switch (action) {
      case 'stats': {
        const disk = cache.stats().disk!;
        return { action, entries: disk.entries, bytes: disk.bytes };
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

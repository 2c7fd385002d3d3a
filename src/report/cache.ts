import type { ForeignSecret, VerifyFailure } from '../cache/disk-tier.js';
import type { TierStats } from '../cache/tier.js';

/** What `agentperf cache <action>` found or did. */
export type CacheReport =
  | { action: 'stats'; tiers: Array<TierStats & { name: string }>; foreignSecret?: ForeignSecret }
  | { action: 'verify'; checked: number; failures: VerifyFailure[]; foreignSecret?: ForeignSecret }
  | { action: 'clear' }
  | { action: 'prune'; removed: number; left: VerifyFailure[] };

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

const foreign = (f: ForeignSecret) =>
  `WRONG SECRET: this cache was written under another secret (id ${f.cacheSecretId}; the secret given has id ${f.givenSecretId}). Its entries are not served, replaced or deleted. Give the secret that wrote it (AGENTPERF_CACHE_SECRET), or \`agentperf cache clear\` to start it over.`;

/** A shared store's connection: up, or down (not reachable, or stopped being tried) with its counts. */
const linkState = (link: NonNullable<TierStats['link']>) =>
  `${link.connected && link.state === 'up' ? 'connected' : link.connected ? 'connected, but DOWN after failures' : 'NOT REACHABLE'} (${link.ok} operations answered, ${link.errors} failed, ${link.timeouts} over budget, ${link.skipped} not tried, ${link.outages} outages)`;

/** What `agentperf cache ...` prints (pure: data in, text out). */
export function formatCacheReport(report: CacheReport): string {
  switch (report.action) {
    case 'stats':
      return report.foreignSecret
        ? foreign(report.foreignSecret)
        : report.tiers
            .map((tier) => `${tier.name} tier: ${tier.entries} entries, ${kib(tier.bytes)}${tier.link ? `, ${linkState(tier.link)}` : ''}`)
            .join('\n');
    case 'verify': {
      if (report.foreignSecret)
        return `${foreign(report.foreignSecret)}\n${report.checked} entries not verified: under this secret every one would fail, which says nothing about them`;
      if (report.failures.length === 0) return `verified ${report.checked} entries: all signatures valid`;
      // One or a few failures under the cache's own secret: those entries were tampered with or torn.
      return [
        `verified ${report.checked} entries: ${report.failures.length} FAILED (signed with this cache's own secret: tampered with or torn)`,
        ...report.failures.map((f) => `  ${f.reason.padEnd(12)} ${f.file}${f.detail ? ` (${f.detail})` : ''}`),
      ].join('\n');
    }
    case 'clear':
      return 'cleared every entry';
    case 'prune': {
      const left = report.left.map(
        (f) =>
          `  left in place: ${f.file} (${f.detail ?? f.reason}): ${f.reason === 'too-large' ? 'over the entry limit, valid under a larger one' : 'not an entry; look at it and remove it by hand'}`,
      );
      return [`pruned ${report.removed} expired or invalid entries`, ...left].join('\n');
    }
  }
}

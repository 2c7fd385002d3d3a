import type { CacheReport } from '../commands/cache.js';

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

/** What `agentperf cache ...` prints (pure: data in, text out). */
export function formatCacheReport(report: CacheReport): string {
  switch (report.action) {
    case 'stats':
      return `disk tier: ${report.entries} entries, ${kib(report.bytes)}`;
    case 'verify':
      if (report.failures.length === 0) return `verified ${report.checked} entries: all signatures valid`;
      return [`verified ${report.checked} entries: ${report.failures.length} FAILED`, ...report.failures.map((f) => `  ${f.reason.padEnd(12)} ${f.file}`)].join('\n');
    case 'clear':
      return 'cleared every entry';
    case 'prune':
      return `pruned ${report.removed} expired or invalid entries`;
  }
}

import Table from 'cli-table3';
import type { CacheStats } from '../cache/response-cache.js';
import type { OrchestratorCounters } from '../orchestrator/orchestrator.js';
import { hdrRows, type HdrSnapshot } from '../stats/hdr.js';
import type { LatencySummary } from '../stats/percentiles.js';

/** What `agentperf demo` measured. */
export interface DemoSummary {
  target: string;
  calls: number;
  concurrency: number;
  durationMs: number;
  throughputPerSec: number;
  latencyMs: LatencySummary;
  queueMs: LatencySummary;
  counters: OrchestratorCounters;
  cache: CacheStats;
  /** In-process HDR histograms (milliseconds). */
  hdr: HdrSnapshot;
  metricsUrl: string | undefined;
  errorsByType: Record<string, number>;
  totalCostUsd: number;
}

const ms = (value: number) => (Number.isFinite(value) ? `${value < 1 ? value.toFixed(3) : value.toFixed(1)} ms` : '-');

/** The console table `agentperf demo` prints (pure: data in, text out). */
export function formatDemoSummary(summary: DemoSummary): string {
  const latency = new Table({ head: ['', 'p50', 'p90', 'p95', 'p99', 'max', 'mean'], style: { head: [], border: [] } });
  for (const [label, s] of [
    ['latency', summary.latencyMs],
    ['queue wait', summary.queueMs],
  ] as const) {
    latency.push([label, ms(s.p50), ms(s.p90), ms(s.p95), ms(s.p99), ms(s.max), ms(s.mean)]);
  }
  const totals = new Table({ style: { head: [], border: [] } });
  const c = summary.counters;
  totals.push(
    { target: summary.target },
    { calls: `${summary.calls} at concurrency ${summary.concurrency}` },
    { succeeded: String(c.succeeded) },
    { failed: String(c.failed) },
    { throughput: `${summary.throughputPerSec.toFixed(1)} calls/s over ${(summary.durationMs / 1000).toFixed(2)} s` },
    { 'upstream attempts': String(c.upstreamAttempts) },
    { retries: String(c.retries) },
    { coalesced: String(c.coalesced) },
    { 'cache hits': `${Object.values(summary.cache.hits).reduce((sum, n) => sum + n, 0)} (hit rate ${(summary.cache.hitRate * 100).toFixed(1)}%)` },
    {
      'errors by type':
        Object.entries(summary.errorsByType)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ') || 'none',
    },
    { 'estimated cost': `$${summary.totalCostUsd.toFixed(4)}` },
  );
  const hdr = new Table({ head: ['HDR (in-process)', 'count', 'p50', 'p90', 'p99', 'p99.9', 'max'], style: { head: [], border: [] } });
  for (const [label, h] of hdrRows(summary.hdr)) {
    hdr.push([label.replace(/^HDR /, ''), h.count, ms(h.p50), ms(h.p90), ms(h.p99), ms(h.p999), ms(h.max)]);
  }
  const metrics = summary.metricsUrl ? `Prometheus metrics were served at ${summary.metricsUrl} during the run.\n` : '';
  return `${totals.toString()}\n${latency.toString()}\n${hdr.toString()}\n${metrics}`;
}

import { startInstrumentation } from '../../instrumentation/start.js';
import type { PercentileSnapshot } from '../../instrumentation/hdr-registry.js';
import { ResponseCache, type CacheStats } from '../cache/response-cache.js';
import { loadAgents } from '../config/agents.js';
import { errorType } from '../errors.js';
import { rootLogger } from '../logger.js';
import { Orchestrator, type OrchestratorCounters } from '../orchestrator/orchestrator.js';
import { parseFaults } from '../providers/simulator/faults.js';
import { parseLatency } from '../providers/simulator/latency.js';
import { setupProvider } from '../providers/setup.js';
import { summarize, type LatencySummary } from '../stats/percentiles.js';

export interface RunOptions {
  calls: number;
  concurrency: number;
  agentsFile?: string;
  live?: boolean;
  /** Simulator latency spec (see parseLatency). */
  latency: string;
  /** Simulator faults spec (see parseFaults). */
  faults: string;
  seed: number;
  /** Port of the Prometheus /metrics endpoint during the run; 0 picks a free one. */
  metricsPort: number;
}

export const DEFAULT_RUN_OPTIONS: RunOptions = {
  calls: 300,
  concurrency: 10,
  latency: 'lognormal:40,250+0.05/token',
  faults: '429:0.02,529:0.02,500:0.01',
  seed: 7,
  metricsPort: 9464,
};

export interface RunSummary {
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
  hdr: Record<'agentLatency' | 'queueWait' | 'cacheGetMemory' | 'cacheGetDisk', PercentileSnapshot>;
  metricsUrl: string | undefined;
  errorsByType: Record<string, number>;
  totalCostUsd: number;
}

/**
 * The main job, for now a short demo: a few hundred calls through the orchestrator against the
 * simulator (with realistic latency and a few faults to retry), summarised.
 */
export async function runDemo(options: RunOptions): Promise<RunSummary> {
  const agents = await loadAgents(options.agentsFile);
  const instrumentation = await startInstrumentation({ prometheus: { port: options.metricsPort } });
  const setup = await setupProvider({
    live: options.live,
    simulator: { latency: parseLatency(options.latency), faults: parseFaults(options.faults), seed: options.seed },
    simulatorInWorker: true,
    logger: rootLogger,
  });
  // Memory only: the demo leaves nothing on disk and needs no secret.
  const cache = await ResponseCache.open({ logger: rootLogger });
  instrumentation.observeCache(cache);
  const orchestrator = new Orchestrator({ agents, provider: setup.provider, maxConcurrent: options.concurrency, maxQueued: options.calls, cache });
  const names = agents.map((a) => a.name);
  // Each task appears twice: a first pass of distinct tasks, then a pass of repeats, which
  // the response cache answers (submitted together, a repeat would share its original's
  // in-flight call instead).
  const distinct = Math.ceil(options.calls / 2);
  const items = Array.from({ length: options.calls }, (_, i) => {
    const n = i % distinct;
    return { agent: names[n % names.length]!, task: `Task ${n}: explain the trade-offs of approach ${n % 7}` };
  });
  const startedAt = performance.now();
  try {
    const settled = [...(await orchestrator.executeMany(items.slice(0, distinct))), ...(await orchestrator.executeMany(items.slice(distinct)))];
    const durationMs = performance.now() - startedAt;
    const latencies: number[] = [];
    const queueWaits: number[] = [];
    const errorsByType: Record<string, number> = {};
    let totalCostUsd = 0;
    for (const outcome of settled) {
      if (outcome.status === 'fulfilled') {
        latencies.push(outcome.value.latencyMs);
        queueWaits.push(outcome.value.queueMs);
        totalCostUsd += outcome.value.estimatedCostUsd;
      } else {
        const type = errorType(outcome.reason);
        errorsByType[type] = (errorsByType[type] ?? 0) + 1;
      }
    }
    return {
      target: setup.target,
      calls: options.calls,
      concurrency: options.concurrency,
      durationMs,
      throughputPerSec: (latencies.length / durationMs) * 1000,
      latencyMs: summarize(latencies),
      queueMs: summarize(queueWaits),
      counters: orchestrator.stats(),
      cache: cache.stats(),
      hdr: instrumentation.hdr.snapshot(),
      metricsUrl: instrumentation.metricsUrl,
      errorsByType,
      totalCostUsd,
    };
  } finally {
    await orchestrator.close();
    await setup.stop();
    await cache.close();
    await instrumentation.stop();
  }
}

import { startInstrumentation } from '../../instrumentation/start.js';
import { Command } from 'commander';
import { errorType } from '../errors.js';
import { formatDemoSummary, type DemoSummary } from '../report/demo.js';
import { providerFor } from '../stack.js';
import { summarize } from '../stats/percentiles.js';
import { parseIntegerOption } from '../units.js';
import { openCommandStack } from './command-stack.js';
import { parseSeed, print, withStackFlags } from './options.js';

export interface DemoOptions {
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

export const DEFAULT_DEMO_OPTIONS: DemoOptions = {
  calls: 300,
  concurrency: 10,
  latency: 'lognormal:40,250+0.05/token',
  faults: '429:0.02,529:0.02,500:0.01',
  seed: 7,
  metricsPort: 9464,
};

/**
 * `agentperf demo`: a few hundred calls through the orchestrator against the simulator (with
 * realistic latency and a few faults to retry), summarised.
 */
export async function run(options: DemoOptions): Promise<DemoSummary> {
  const opened = await openCommandStack({
    agentsFile: options.agentsFile,
    instrumentation: () => startInstrumentation({ prometheus: { port: options.metricsPort } }),
    // Memory-only cache (the default): the demo leaves nothing on disk and needs no secret.
    stack: (project) => ({
      provider: providerFor(options.live, { latency: options.latency, faults: options.faults, seed: options.seed }),
      orchestrator: { maxConcurrent: options.concurrency, maxQueued: options.calls, modelPrices: project.config.models },
    }),
  });
  const { stack, instrumentation, agents } = opened;
  const { orchestrator } = stack;
  const names = agents.map((a) => a.name);
  // Each task appears twice: a first pass of distinct tasks, then a pass of repeats, which
  // the response cache answers (submitted together, a repeat would share its original's
  // in-flight call instead).
  const distinct = Math.ceil(options.calls / 2);
  const items = Array.from({ length: options.calls }, (_, i) => {
    const n = i % distinct;
    return { agent: names[n % names.length], task: `Task ${n}: explain the trade-offs of approach ${n % 7}` };
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
      target: stack.target,
      calls: options.calls,
      concurrency: options.concurrency,
      durationMs,
      throughputPerSec: (latencies.length / durationMs) * 1000,
      latencyMs: summarize(latencies),
      queueMs: summarize(queueWaits),
      counters: orchestrator.stats(),
      cache: stack.cache!.stats(),
      hdr: instrumentation.hdr.snapshot(),
      metricsUrl: instrumentation.metricsUrl,
      errorsByType,
      totalCostUsd,
    };
  } finally {
    await opened.close();
  }
}

/** The flags as commander parses them (its action's options are untyped). */
interface DemoFlags {
  agents?: string;
  calls: string;
  concurrency: string;
  faults: string;
  json?: boolean;
  latency: string;
  live?: boolean;
  metricsPort: string;
  seed: string;
}

export const command = withStackFlags(
  new Command('demo').description('a short demo: a few hundred calls through the orchestrator against the simulator, with faults to retry, summarised'),
  {
    agents: true,
    latency: { value: DEFAULT_DEMO_OPTIONS.latency },
    faults: { value: DEFAULT_DEMO_OPTIONS.faults },
    seed: { value: String(DEFAULT_DEMO_OPTIONS.seed) },
    live: true,
  },
)
  .option('--calls <n>', 'number of calls', String(DEFAULT_DEMO_OPTIONS.calls))
  .option('--concurrency <n>', 'calls in flight at once', String(DEFAULT_DEMO_OPTIONS.concurrency))
  .option('--metrics-port <n>', 'port of the Prometheus /metrics endpoint during the run (0: any free port)', String(DEFAULT_DEMO_OPTIONS.metricsPort))
  .option('--json', 'print the summary as JSON')
  .action(async (opts: DemoFlags) => {
    const summary = await run({
      metricsPort: parseIntegerOption('metrics-port', opts.metricsPort, 0, 65_535),
      calls: parseIntegerOption('calls', opts.calls, 1, 1_000_000),
      concurrency: parseIntegerOption('concurrency', opts.concurrency, 1, 10_000),
      agentsFile: opts.agents,
      live: opts.live,
      latency: opts.latency,
      faults: opts.faults,
      seed: parseSeed(opts.seed),
    });
    print(opts.json ? JSON.stringify(summary, null, 2) : formatDemoSummary(summary));
    if (summary.counters.succeeded === 0) process.exitCode = 1;
  });

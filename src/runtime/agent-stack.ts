import { ResponseCache } from '../cache/response-cache.js';
import type { AgentConfig } from '../config/agents.js';
import type { Logger } from '../logger.js';
import { Orchestrator } from '../orchestrator/orchestrator.js';
import { parseFaults } from '../providers/simulator/faults.js';
import { parseLatency } from '../providers/simulator/latency.js';
import { setupProvider } from '../providers/setup.js';

export interface AgentStackOptions {
  agents: readonly AgentConfig[];
  /** Simulator latency and faults specs (see parseLatency, parseFaults). */
  latency: string;
  faults?: string;
  seed: number;
  live?: boolean;
  maxConcurrent: number;
  maxQueued: number;
  /** The memory cache's bound. Default the cache's own (64 MiB). */
  cacheMaxBytes?: number;
  logger: Logger;
}

/** An orchestrator on a memory cache and a provider: what `load` and `serve` run on. */
export interface AgentStack {
  orchestrator: Orchestrator;
  cache: ResponseCache;
  /** The simulator's URL or the API's. */
  target: string;
  close(): Promise<void>;
}

/**
 * Builds the stack with the simulator in a worker thread (it must not steal the event loop of
 * whatever drives the orchestrator), or the real API with `live`. The cache is memory-only:
 * nothing is left on disk and no secret is needed.
 */
export async function openAgentStack(options: AgentStackOptions): Promise<AgentStack> {
  const setup = await setupProvider({
    live: options.live,
    simulator: { latency: parseLatency(options.latency), faults: options.faults ? parseFaults(options.faults) : undefined, seed: options.seed, latencyFrom: 'request' },
    simulatorInWorker: true,
    connections: Math.min(1024, Math.max(16, options.maxConcurrent)),
    logger: options.logger,
  });
  const cache = await ResponseCache.open({ logger: options.logger, memoryMaxBytes: options.cacheMaxBytes });
  const orchestrator = new Orchestrator({ agents: options.agents, provider: setup.provider, cache, maxConcurrent: options.maxConcurrent, maxQueued: options.maxQueued });
  return {
    orchestrator,
    cache,
    target: setup.target,
    async close() {
      await orchestrator.close();
      await cache.close();
      await setup.stop();
    },
  };
}

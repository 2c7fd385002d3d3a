import Anthropic from '@anthropic-ai/sdk';
import { Agent, fetch as undiciFetch } from 'undici';
import type { AgentConfig } from '../config/agents.ts';
import { Orchestrator } from '../orchestrator/orchestrator.ts';
import { createAnthropicProvider } from '../providers/anthropic.ts';
import { createInProcessProvider } from '../providers/in-process.ts';
import { startSimulatorInWorker } from '../providers/simulator/worker.ts';
import { closedLoop, runInterleaved } from './interleave.ts';

export interface OrchestratorBenchOptions {
  concurrencies: number[];
  /** Calls per block. */
  callsPerBlock: number;
  rounds: number;
  /** Calls for the in-process throughput figure. */
  inProcessCalls: number;
}

export const DEFAULT_ORCHESTRATOR_BENCH: OrchestratorBenchOptions = { concurrencies: [1, 10, 100], callsPerBlock: 2_000, rounds: 9, inProcessCalls: 200_000 };

export interface OrchestratorBenchResult {
  overhead: Array<{ concurrency: number; bareSdkUsPerCall: number; orchestratorUsPerCall: number; overheadPct: number; roundRatios: number[] }>;
  inProcess: { calls: number; callsPerSec: number; runsCallsPerSec: number[] };
}

const BENCH_AGENT: AgentConfig = {
  name: 'bench-agent',
  model: 'claude-haiku-5-5',
  systemPrompt: 'You answer briefly.',
  maxTokens: 256,
  temperature: 0,
  cacheable: false,
  version: 1,
};

/**
 * Per-call cost of executeAgent against the bare SDK call on the same simulator (a worker
 * thread, zero latency, so the difference is all client-side), interleaved in one run; then
 * calls/s through the orchestrator with the in-process zero-latency provider.
 */
export async function benchOrchestrator(options: OrchestratorBenchOptions = DEFAULT_ORCHESTRATOR_BENCH): Promise<OrchestratorBenchResult> {
  const simulator = await startSimulatorInWorker({ seed: 1 });
  // Both sides use the same HTTP stack (undici fetch, an Agent of the same size).
  const bareDispatcher = new Agent({ connections: 128, keepAliveTimeout: 30_000 });
  const bare = new Anthropic({
    apiKey: 'simulator-key',
    baseURL: simulator.url,
    maxRetries: 0,
    fetch: ((url: string, init: RequestInit) => undiciFetch(url, { ...(init as object), dispatcher: bareDispatcher } as never)) as never,
  });
  const overhead: OrchestratorBenchResult['overhead'] = [];
  let unique = 0; // every task differs, so coalescing never gives the orchestrator an edge
  try {
    for (const concurrency of options.concurrencies) {
      const orchestrator = new Orchestrator({
        agents: [BENCH_AGENT],
        provider: createAnthropicProvider({ apiKey: 'simulator-key', baseURL: simulator.url, name: 'simulator' }),
        maxConcurrent: concurrency,
        maxQueued: options.callsPerBlock,
      });
      const perCallUs = (elapsedMs: number) => (elapsedMs * 1000) / options.callsPerBlock;
      const bareCall = () => bare.messages.create({ model: BENCH_AGENT.model, max_tokens: BENCH_AGENT.maxTokens, system: BENCH_AGENT.systemPrompt, messages: [{ role: 'user', content: `question ${unique++}` }] });
      const orchestratorCall = () => orchestrator.executeAgent(BENCH_AGENT.name, `question ${unique++}`);
      // Warm both connection pools and the JIT before anything is timed.
      await closedLoop(options.callsPerBlock, concurrency, bareCall);
      await closedLoop(options.callsPerBlock, concurrency, orchestratorCall);
      const result = await runInterleaved(
        [
          { name: 'bare-sdk', block: async () => perCallUs(await closedLoop(options.callsPerBlock, concurrency, bareCall)) },
          { name: 'orchestrator', block: async () => perCallUs(await closedLoop(options.callsPerBlock, concurrency, orchestratorCall)) },
        ],
        options.rounds,
      );
      await orchestrator.close();
      overhead.push({
        concurrency,
        bareSdkUsPerCall: result.medians['bare-sdk']!,
        orchestratorUsPerCall: result.medians.orchestrator!,
        overheadPct: (result.ratios.orchestrator!.median - 1) * 100,
        roundRatios: result.ratios.orchestrator!.perRound,
      });
    }
  } finally {
    await bareDispatcher.close();
    await simulator.close();
  }

  const inProcess = new Orchestrator({ agents: [BENCH_AGENT], provider: createInProcessProvider(), maxConcurrent: 100, maxQueued: 1_000 });
  const runsCallsPerSec: number[] = [];
  for (let run = 0; run < 3; run++) {
    const elapsedMs = await closedLoop(options.inProcessCalls, 100, () => inProcess.executeAgent(BENCH_AGENT.name, `question ${unique++}`));
    runsCallsPerSec.push((options.inProcessCalls / elapsedMs) * 1000);
  }
  await inProcess.close();
  const sorted = [...runsCallsPerSec].sort((a, b) => a - b);
  return { overhead, inProcess: { calls: options.inProcessCalls, callsPerSec: sorted[1]!, runsCallsPerSec } };
}

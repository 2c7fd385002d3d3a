import Anthropic from '@anthropic-ai/sdk';
import { Agent } from 'undici';
import type { AgentConfig } from '../config/agents.js';
import { createAnthropicProvider, fetchWith } from '../providers/anthropic.js';
import { openStack } from '../stack.js';
import { startSimulatorInWorker } from '../providers/simulator/worker.js';
import { median } from '../stats/percentiles.js';
import { closedLoop, measureBlock, runInterleaved, type BlockCost } from '../measure/interleave.js';

export interface OrchestratorBenchOptions {
  concurrencies: number[];
  /** Calls per block. */
  callsPerBlock: number;
  rounds: number;
  /** Calls for the in-process throughput figure. */
  inProcessCalls: number;
}

export const DEFAULT_ORCHESTRATOR_BENCH: OrchestratorBenchOptions = { concurrencies: [1, 10, 100], callsPerBlock: 500, rounds: 42, inProcessCalls: 200_000 };

export interface OverheadRow {
  concurrency: number;
  bareSdkUsPerCall: number;
  orchestratorUsPerCall: number;
  /** Median of the per-round ratios of wall time per call, minus one. */
  overheadPct: number;
  /** The same for main-thread busy time per call. */
  bareSdkBusyUsPerCall: number;
  orchestratorBusyUsPerCall: number;
  busyOverheadPct: number;
  /** The bare SDK against itself in the same rotation: the noise floor of these ratios. */
  controlPct: number;
  roundRatios: number[];
}

export interface OrchestratorBenchResult {
  options: OrchestratorBenchOptions;
  overhead: OverheadRow[];
  inProcess: { calls: number; callsPerSec: number; runsCallsPerSec: number[] };
}

/** The agent the orchestrator benches call (the streaming bench too). */
export const BENCH_AGENT: AgentConfig = {
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
 * thread, zero latency, so the difference is all client-side: the strictest setting), in one
 * run, sharing one connection pool. Each round runs bare SDK, orchestrator and bare SDK again
 * (the A/A control that shows the noise floor), in alternating order. Then calls/s through
 * the orchestrator with the in-process zero-latency provider.
 */
export async function benchOrchestrator(options: OrchestratorBenchOptions = DEFAULT_ORCHESTRATOR_BENCH): Promise<OrchestratorBenchResult> {
  const simulator = await startSimulatorInWorker({ seed: 1 });
  const dispatcher = new Agent({ connections: 128, keepAliveTimeout: 30_000 });
  const bare = new Anthropic({ apiKey: 'simulator-key', baseURL: simulator.url, maxRetries: 0, fetch: fetchWith(dispatcher) });
  const overhead: OverheadRow[] = [];
  let unique = 0; // every task differs, so coalescing never gives the orchestrator an edge
  try {
    for (const concurrency of options.concurrencies) {
      const stack = await openStack({
        agents: [BENCH_AGENT],
        provider: {
          kind: 'given',
          provider: createAnthropicProvider({ apiKey: 'simulator-key', baseURL: simulator.url, name: 'simulator', dispatcher, ephemeralPort: true }),
        },
        cache: { kind: 'none' },
        orchestrator: { maxConcurrent: concurrency, maxQueued: options.callsPerBlock },
      });
      const { orchestrator } = stack;
      const bareCall = () =>
        bare.messages.create({
          model: BENCH_AGENT.model,
          max_tokens: BENCH_AGENT.maxTokens,
          system: BENCH_AGENT.systemPrompt,
          messages: [{ role: 'user', content: `question ${unique++}` }],
        });
      const orchestratorCall = () => orchestrator.executeAgent(BENCH_AGENT.name, `question ${unique++}`);
      // Warm the connection pool and the JIT on both paths before anything is timed.
      for (let i = 0; i < 2; i++) {
        await closedLoop(options.callsPerBlock, concurrency, bareCall);
        await closedLoop(options.callsPerBlock, concurrency, orchestratorCall);
      }
      const costs: Record<string, BlockCost[]> = { 'bare-sdk': [], orchestrator: [], 'bare-sdk-control': [] };
      const block = (name: string, op: () => Promise<unknown>) => async () => {
        const cost = await measureBlock(options.callsPerBlock, concurrency, op);
        costs[name].push(cost);
        return cost.wallUsPerCall;
      };
      const result = await runInterleaved(
        [
          { name: 'bare-sdk', block: block('bare-sdk', bareCall) },
          { name: 'orchestrator', block: block('orchestrator', orchestratorCall) },
          { name: 'bare-sdk-control', block: block('bare-sdk-control', bareCall) },
        ],
        options.rounds,
      );
      await stack.close();
      const busyRatios = costs.orchestrator.map((c, i) => c.busyUsPerCall / costs['bare-sdk'][i].busyUsPerCall);
      overhead.push({
        concurrency,
        bareSdkUsPerCall: result.medians['bare-sdk'],
        orchestratorUsPerCall: result.medians.orchestrator,
        overheadPct: (result.ratios.orchestrator.median - 1) * 100,
        bareSdkBusyUsPerCall: median(costs['bare-sdk'].map((c) => c.busyUsPerCall)),
        orchestratorBusyUsPerCall: median(costs.orchestrator.map((c) => c.busyUsPerCall)),
        busyOverheadPct: (median(busyRatios) - 1) * 100,
        controlPct: (result.ratios['bare-sdk-control'].median - 1) * 100,
        roundRatios: result.ratios.orchestrator.perRound,
      });
    }
  } finally {
    await dispatcher.close();
    await simulator.close();
  }

  const inProcessStack = await openStack({
    agents: [BENCH_AGENT],
    provider: { kind: 'in-process' },
    cache: { kind: 'none' },
    orchestrator: { maxConcurrent: 100, maxQueued: 1_000 },
  });
  const inProcess = inProcessStack.orchestrator;
  const runsCallsPerSec: number[] = [];
  for (let run = 0; run < 3; run++) {
    const elapsedMs = await closedLoop(options.inProcessCalls, 100, () => inProcess.executeAgent(BENCH_AGENT.name, `question ${unique++}`));
    runsCallsPerSec.push((options.inProcessCalls / elapsedMs) * 1000);
  }
  await inProcessStack.close();
  return { options, overhead, inProcess: { calls: options.inProcessCalls, callsPerSec: median(runsCallsPerSec), runsCallsPerSec } };
}

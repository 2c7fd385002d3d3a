import { loadAgents, type AgentConfig } from '../config/agents.js';
import { currentProject, simulatorSettings } from '../config/project.js';
import { UsageError } from '../errors.js';
import { openStack, providerFor } from '../stack.js';
import type { OrchestratorCounters } from '../orchestrator/orchestrator.js';
import { busyWait } from '../runtime/cpu.js';
import { parseLatency, scaleLatency } from '../providers/simulator/latency.js';
import { parseBytes, parseIntegerOption, parseNumberOption } from '../units.js';
import { Agent } from 'undici';
import { LoadHttpClient } from '../load/http-client.js';
import { postForEvents } from '../load/sse.js';
import { parseTokensPerSecond, parseTtft } from '../providers/simulator/stream.js';
import { timeStream, type StreamedIteration } from './stream-timing.js';
import { defineScenario, type Scenario, type ScenarioContext } from './types.js';

/** The realistic simulator latency of the standard workload: log-normal, median 40 ms, p99 250 ms. */
export const STANDARD_LATENCY = 'lognormal:40,250';

type CachePolicy = 'default' | 'bypass' | 'refresh';

interface AgentState {
  agent: string;
  /** One agent call: in-process through the orchestrator, or POSTed to `agentperf serve`. */
  call: (task: string, cache: CachePolicy) => Promise<unknown>;
  /** The same call streamed (executeAgentStream, or serve's stream route), timed for the engine. */
  stream: (task: string, cache: CachePolicy) => Promise<StreamedIteration>;
  warm: number;
  /**
   * `--set cycle=N`: iteration i asks what iteration i mod N asked, so every N iterations repeat
   * the same work (the same questions, hence the same simulated latencies). The overhead
   * measurement compares slices of whole cycles; 0 (the default) never repeats.
   */
  cycle: number;
  /** In-process: the orchestrator's upstream attempts and retries by reason (what a limited provider does to it). */
  counters?: () => Record<string, number>;
  close(): Promise<void>;
}

/** The iteration whose work iteration `i` repeats. */
const workOf = (state: AgentState, i: number) => (state.cycle > 0 ? i % state.cycle : i);

async function openAgentState(context: ScenarioContext, defaultLatency: string): Promise<AgentState> {
  const { settings } = context;
  const warm = parseIntegerOption('set warm', settings.warm ?? '256', 1, 1_000_000);
  // Streamed cache hits: at once, or as the answer arrived when it was streamed (the in-process orchestrator's; serve replays at once).
  const replay = settings.replay ?? 'immediate';
  if (replay !== 'immediate' && replay !== 'paced') throw new UsageError('set replay', `replay must be immediate or paced, got ${JSON.stringify(replay)}`);
  const cycle = parseIntegerOption('set cycle', settings.cycle ?? '0', 0, 100_000_000);
  if (context.target.kind === 'http') {
    const base = new URL(context.target.url);
    const agent = settings.agent ?? 'python-expert';
    const connections = parseIntegerOption('set connections', settings.connections ?? '128', 1, 10_000);
    const client = new LoadHttpClient(base.href, { connections });
    const prefix = `${base.pathname.replace(/\/$/, '')}/v1/agents/${encodeURIComponent(agent)}`;
    // Streams read their bodies as they arrive (the load client discards them): a pool of their own.
    const streams = new Agent({ connections, keepAliveTimeout: 30_000 });
    return {
      agent,
      warm,
      cycle,
      call: (task, cache) =>
        client.request(`${prefix}/execute`, { method: 'POST', body: JSON.stringify({ task, cache }), headers: { 'content-type': 'application/json' } }),
      stream: (task, cache) => timeStream(postForEvents(new URL(`${prefix}/stream`, base.origin).href, { task, cache }, streams)),
      close: async () => {
        await client.close();
        await streams.close();
      },
    };
  }
  const project = await currentProject();
  const agents: AgentConfig[] = await loadAgents(settings.agents ?? project.agentsFile);
  const simulator = simulatorSettings(
    project,
    {
      latency: settings.latency,
      faults: settings.faults,
      limits: settings.limits,
      capacity: settings.capacity === undefined ? undefined : parseIntegerOption('set capacity', settings.capacity, 1, 1_000_000),
    },
    { latency: defaultLatency, seed: context.seed },
  );
  const agent = settings.agent ?? agents[0].name;
  if (!agents.some((a) => a.name === agent))
    throw new UsageError('set agent', `agent must be one of ${agents.map((a) => a.name).join(', ')}, got ${JSON.stringify(agent)}`);
  // The self-test's stand-ins for regressions: every upstream call slower (latencyScale), or
  // costing more CPU on this side (upstreamCpuUs of busy work before each one).
  const latencyScale = parseNumberOption('set latencyScale', settings.latencyScale ?? '1', 0.01, 100);
  const upstreamCpuUs = parseNumberOption('set upstreamCpuUs', settings.upstreamCpuUs ?? '0', 0, 1_000_000);
  const stack = await openStack({
    agents,
    // Latency drawn per request: the same questions take the same time in every block.
    provider: providerFor(settings.live === 'true', {
      latency: latencyScale === 1 ? simulator.latency : scaleLatency(parseLatency(simulator.latency), latencyScale),
      faults: simulator.faults,
      limits: simulator.limits,
      capacity: simulator.capacity,
      seed: context.seed,
      latencyFrom: 'request',
      // Streamed answers: the first token after the latency model's draw (or --set ttft), then
      // the rest at --set tokensPerSecond (500 by default: a few hundred ms per answer).
      streaming: {
        ttft: settings.ttft === undefined ? undefined : parseTtft(settings.ttft),
        tokensPerSecond: parseTokensPerSecond(settings.tokensPerSecond ?? '500'),
      },
    }),
    decorateProvider:
      upstreamCpuUs > 0
        ? (provider) => ({ ...provider, createMessage: (params, options) => (busyWait(upstreamCpuUs), provider.createMessage(params, options)) })
        : undefined,
    cache: {
      kind: 'memory',
      maxBytes: settings.cacheMaxBytes === undefined ? undefined : parseBytes('set cacheMaxBytes', settings.cacheMaxBytes, 1024, 2 ** 34),
    },
    orchestrator: {
      maxConcurrent: parseIntegerOption('set maxConcurrent', settings.maxConcurrent ?? '1000', 1, 100_000),
      maxQueued: parseIntegerOption('set maxQueued', settings.maxQueued ?? '100000', 0, 10_000_000),
      modelPrices: project.config.models,
    },
    logger: context.log,
  });
  return {
    agent,
    warm,
    cycle,
    call: (task, cache) => stack.orchestrator.executeAgent(agent, task, { cache }),
    counters: () => upstreamCounters(stack.orchestrator.stats()),
    stream: (task, cache) => timeStream(stack.orchestrator.executeAgentStream(agent, task, { cache, replay })),
    close: () => stack.close(),
  };
}

/** What the load report shows of the orchestrator: its attempts upstream, retries by reason, failed calls. */
function upstreamCounters(stats: OrchestratorCounters): Record<string, number> {
  return {
    'upstream attempts': stats.upstreamAttempts,
    retries: stats.retries,
    ...Object.fromEntries(Object.entries(stats.retriesByReason).map(([reason, n]) => [`retries after ${reason}`, n])),
    'failed calls': stats.failed,
  };
}

const counters = (state: AgentState) => state.counters?.() ?? {};

const warmQuestion = (i: number) => `warm question ${i}`;

/** Asks every warm question once, all at once, so that repeats of them are memory hits (streamed: they are stored with their pacing). */
async function warmUp(state: AgentState, streamed: boolean): Promise<void> {
  if (!streamed) {
    await Promise.all(Array.from({ length: state.warm }, (_, i) => state.call(warmQuestion(i), 'default')));
    return;
  }
  // Streamed 16 at a time: the pacing stored with each answer is replayed by `replay=paced`, and
  // hundreds of streams at once would record the warm-up's own contention instead.
  let next = 0;
  const streamOne = async () => {
    while (next < state.warm) await state.stream(warmQuestion(next++), 'default');
  };
  await Promise.all(Array.from({ length: Math.min(16, state.warm) }, streamOne));
}

/**
 * Opens the stack and warms it up. A warm-up that fails (an upstream error, a fault the
 * simulator was told to inject) closes what was opened, the simulator's worker thread among
 * it: a setup that fails must let the process exit.
 */
async function openWarmed(context: ScenarioContext, defaultLatency: string, streamed = false): Promise<AgentState> {
  const state = await openAgentState(context, defaultLatency);
  try {
    await warmUp(state, streamed);
  } catch (error) {
    await state.close().catch(() => {});
    throw error;
  }
  return state;
}

export const cacheHitScenario: Scenario<AgentState> = defineScenario({
  name: 'cache-hit',
  description: 'every call a memory-cache hit (the warm questions, asked again and again)',
  setup: (context) => openWarmed(context, 'fixed:0'),
  run: (state, i) => state.call(warmQuestion(i % state.warm), 'default'),
  teardown: (state) => state.close(),
  counters,
});

export const cacheMissScenario: Scenario<AgentState> = defineScenario({
  name: 'cache-miss',
  description: 'every call reaches the simulator (cache bypassed), with realistic latency',
  setup: (context) => openAgentState(context, STANDARD_LATENCY),
  run: (state, i) => state.call(`question ${workOf(state, i)}`, 'bypass'),
  teardown: (state) => state.close(),
  counters,
});

/**
 * The standard workload. 2 calls in 5 repeat a warm question (about half, as the seeds
 * describe it): at exactly half, the median falls on the boundary between memory hits
 * (microseconds) and simulator calls (tens of milliseconds) and jumps between them from run
 * to run (measured: 43% block-to-block noise on p50 at 1:1, which no gate can judge).
 */
/** The standard mix: 2 calls in 5 repeat a warm question, the rest are new ones, whole or streamed. */
function mixedCall(state: AgentState, i: number, send: (task: string, cache: CachePolicy) => Promise<unknown>): Promise<unknown> {
  const j = workOf(state, i);
  if (j % 5 < 2) return send(warmQuestion(j % state.warm), 'default');
  // Repeating a cycle, a new question must still reach the simulator: it is stored, never read.
  return send(`new question ${j}`, state.cycle > 0 ? 'refresh' : 'default');
}

export const mixedScenario: Scenario<AgentState> = defineScenario({
  name: 'mixed',
  description: 'the standard workload: realistic simulator latency, 2 calls in 5 repeat a warm question',
  setup: (context) => openWarmed(context, STANDARD_LATENCY),
  run: (state, i) => mixedCall(state, i, state.call),
  teardown: (state) => state.close(),
  counters,
});

/**
 * The standard workload streamed: the same mix, each call through executeAgentStream (or
 * serve's stream route over HTTP), so the run reports time to first chunk (corrected, like
 * latency) and time per output chunk. Warm questions are replayed from the cache as streams:
 * at once, or with `--set replay=paced` as they arrived when the warm-up streamed them.
 */
export const mixedStreamScenario: Scenario<AgentState> = defineScenario({
  name: 'mixed-stream',
  description: 'the standard workload streamed: time to first chunk and per output chunk, 2 calls in 5 replayed from the cache',
  setup: (context) => openWarmed(context, STANDARD_LATENCY, true),
  run: (state, i) => mixedCall(state, i, state.stream),
  teardown: (state) => state.close(),
  counters,
});

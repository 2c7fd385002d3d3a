import { loadAgents, type AgentConfig } from '../../config/agents.js';
import { currentProject, simulatorSettings } from '../../config/project.js';
import { UsageError } from '../../errors.js';
import { openStack, providerFor } from '../../stack.js';
import { parseBytes, parseIntegerOption } from '../../units.js';
import { LoadHttpClient } from './http-client.js';
import { defineScenario, type Scenario, type ScenarioContext } from './types.js';

/** The realistic simulator latency of the standard workload: log-normal, median 40 ms, p99 250 ms. */
export const STANDARD_LATENCY = 'lognormal:40,250';

type CachePolicy = 'default' | 'bypass';

interface AgentState {
  agent: string;
  /** One agent call: in-process through the orchestrator, or POSTed to `agentperf serve`. */
  call(task: string, cache: CachePolicy): Promise<unknown>;
  warm: number;
  close(): Promise<void>;
}

async function openAgentState(context: ScenarioContext, defaultLatency: string): Promise<AgentState> {
  const { settings } = context;
  const warm = parseIntegerOption('set warm', settings.warm ?? '256', 1, 1_000_000);
  if (context.target.kind === 'http') {
    const base = new URL(context.target.url);
    const agent = settings.agent ?? 'python-expert';
    const client = new LoadHttpClient(base.href, { connections: parseIntegerOption('set connections', settings.connections ?? '128', 1, 10_000) });
    const path = `${base.pathname.replace(/\/$/, '')}/v1/agents/${encodeURIComponent(agent)}/execute`;
    return {
      agent,
      warm,
      call: (task, cache) => client.request(path, { method: 'POST', body: JSON.stringify({ task, cache }), headers: { 'content-type': 'application/json' } }),
      close: () => client.close(),
    };
  }
  const project = await currentProject();
  const agents: AgentConfig[] = await loadAgents(settings.agents ?? project.agentsFile);
  const simulator = simulatorSettings(project, { latency: settings.latency, faults: settings.faults }, { latency: defaultLatency, seed: context.seed });
  const agent = settings.agent ?? agents[0]!.name;
  if (!agents.some((a) => a.name === agent)) throw new UsageError('set agent', `agent must be one of ${agents.map((a) => a.name).join(', ')}, got ${JSON.stringify(agent)}`);
  const stack = await openStack({
    agents,
    // Latency drawn per request: the same questions take the same time in every block.
    provider: providerFor(settings.live === 'true', { latency: simulator.latency, faults: simulator.faults, seed: context.seed, latencyFrom: 'request' }),
    cache: { kind: 'memory', maxBytes: settings.cacheMaxBytes === undefined ? undefined : parseBytes('set cacheMaxBytes', settings.cacheMaxBytes, 1024, 2 ** 34) },
    orchestrator: {
      maxConcurrent: parseIntegerOption('set maxConcurrent', settings.maxConcurrent ?? '1000', 1, 100_000),
      maxQueued: parseIntegerOption('set maxQueued', settings.maxQueued ?? '100000', 0, 10_000_000),
    },
    logger: context.log,
  });
  return { agent, warm, call: (task, cache) => stack.orchestrator.executeAgent(agent, task, { cache }), close: () => stack.close() };
}

const warmQuestion = (i: number) => `warm question ${i}`;

/** Asks every warm question once, so that repeats of them are memory hits. */
async function warmUp(state: AgentState): Promise<void> {
  for (let i = 0; i < state.warm; i += 64) {
    await Promise.all(Array.from({ length: Math.min(64, state.warm - i) }, (_, j) => state.call(warmQuestion(i + j), 'default')));
  }
}

export const cacheHitScenario: Scenario<AgentState> = defineScenario({
  name: 'cache-hit',
  description: 'every call a memory-cache hit (the warm questions, asked again and again)',
  async setup(context) {
    const state = await openAgentState(context, 'fixed:0');
    await warmUp(state);
    return state;
  },
  run: (state, i) => state.call(warmQuestion(i % state.warm), 'default'),
  teardown: (state) => state.close(),
});

export const cacheMissScenario: Scenario<AgentState> = defineScenario({
  name: 'cache-miss',
  description: 'every call reaches the simulator (cache bypassed), with realistic latency',
  setup: (context) => openAgentState(context, STANDARD_LATENCY),
  run: (state, i) => state.call(`question ${i}`, 'bypass'),
  teardown: (state) => state.close(),
});

/**
 * The standard workload. 2 calls in 5 repeat a warm question (about half, as the seeds
 * describe it): at exactly half, the median falls on the boundary between memory hits
 * (microseconds) and simulator calls (tens of milliseconds) and jumps between them from run
 * to run (measured: 43% block-to-block noise on p50 at 1:1, which no gate can judge).
 */
export const mixedScenario: Scenario<AgentState> = defineScenario({
  name: 'mixed',
  description: 'the standard workload: realistic simulator latency, 2 calls in 5 repeat a warm question',
  async setup(context) {
    const state = await openAgentState(context, STANDARD_LATENCY);
    await warmUp(state);
    return state;
  },
  run: (state, i) => state.call(i % 5 < 2 ? warmQuestion(i % state.warm) : `new question ${i}`, 'default'),
  teardown: (state) => state.close(),
});

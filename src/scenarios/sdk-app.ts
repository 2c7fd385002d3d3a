import Anthropic from '@anthropic-ai/sdk';
import { parseLatency } from '../providers/simulator/latency.js';
import { startSimulatorInWorker, type WorkerSimulator } from '../providers/simulator/worker.js';
import { parseIntegerOption } from '../units.js';
import { STANDARD_LATENCY } from './agent.js';
import { defineScenario } from './types.js';

interface SdkAppState {
  client: Anthropic;
  simulator: WorkerSimulator;
  model: string;
  cycle: number;
}

/**
 * A plain Anthropic SDK application, as a team runs one under `node --import agentperf/register`:
 * each iteration is one `client.messages.create()` from a client built with the SDK's defaults
 * (its own tracing on), no orchestrator and no cache, against the simulator in a worker thread
 * (the standard workload's latency). With it the overhead measurement prices the zero-code path:
 * the SDK's spans, agentperf's client metrics read from them, and their export. `--set cycle=N`
 * repeats the same N questions (the same latencies: the simulator draws them from the request).
 */
export const sdkAppScenario = defineScenario<SdkAppState>({
  name: 'sdk-app',
  description: 'a plain SDK app (what --import agentperf/register instruments): one messages.create() per iteration, SDK tracing on',
  async setup({ settings, seed }) {
    const cycle = parseIntegerOption('set cycle', settings.cycle ?? '0', 0, 100_000_000);
    const simulator = await startSimulatorInWorker({ latency: parseLatency(settings.latency ?? STANDARD_LATENCY), seed, latencyFrom: 'request' });
    // What an app writes: the defaults, a key and where to send.
    const client = new Anthropic({ apiKey: 'sk-ant-simulator', baseURL: simulator.url });
    return { client, simulator, model: settings.model ?? 'claude-sonnet-5-5', cycle };
  },
  run: (state, i) =>
    state.client.messages.create({
      model: state.model,
      max_tokens: 256,
      messages: [{ role: 'user', content: `question ${state.cycle > 0 ? i % state.cycle : i}` }],
    }),
  teardown: (state) => state.simulator.close(),
});

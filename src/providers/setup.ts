import { UsageError } from '../errors.js';
import type { Logger } from '../logger.js';
import { createAnthropicProvider } from './anthropic.js';
import { startSimulator, type SimulatorOptions } from './simulator/server.js';
import { startSimulatorInWorker } from './simulator/worker.js';
import type { MessagesProvider } from './types.js';

export interface ProviderChoice {
  /** Use the real API; needs ANTHROPIC_API_KEY. */
  live?: boolean;
  /** Settings for the embedded simulator (ignored with live). */
  simulator?: SimulatorOptions;
  /** Run the simulator in a worker thread so it does not share the caller's event loop. */
  simulatorInWorker?: boolean;
  connections?: number;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

export interface ProviderSetup {
  provider: MessagesProvider;
  /** Where requests go: the simulator's URL or the API's. */
  target: string;
  /** Stops the simulator if one was started (the provider is closed by its owner). */
  stop(): Promise<void>;
}

/**
 * The embedded simulator unless `live` is asked for; the real API needs both `--live` and a
 * key, so a load test never spends money by accident.
 */
export async function setupProvider(choice: ProviderChoice = {}): Promise<ProviderSetup> {
  const env = choice.env ?? process.env;
  const apiKey = env.ANTHROPIC_API_KEY;
  if (choice.live) {
    if (!apiKey) throw new UsageError('live', '--live needs ANTHROPIC_API_KEY to be set');
    const provider = createAnthropicProvider({ apiKey, baseURL: env.ANTHROPIC_BASE_URL, connections: choice.connections });
    return { provider, target: env.ANTHROPIC_BASE_URL ?? 'https://api.anthropic.com', stop: async () => {} };
  }
  if (apiKey) choice.logger?.info('ANTHROPIC_API_KEY is set but --live is not: using the embedded simulator');
  const simulator = choice.simulatorInWorker ? await startSimulatorInWorker(choice.simulator) : await startSimulator(choice.simulator);
  const provider = createAnthropicProvider({
    apiKey: 'simulator-key',
    baseURL: simulator.url,
    connections: choice.connections,
    name: 'simulator',
    ephemeralPort: true,
  });
  return { provider, target: simulator.url, stop: () => simulator.close() };
}

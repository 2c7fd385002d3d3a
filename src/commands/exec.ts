import { loadAgents } from '../config/agents.js';
import { Orchestrator, type AgentResult, type ExecuteOptions } from '../orchestrator/orchestrator.js';
import { rootLogger } from '../logger.js';
import { setupProvider } from '../providers/setup.js';
import { openCliCache } from './cache.js';

export interface ExecCommandOptions extends ExecuteOptions {
  agentsFile?: string;
  live?: boolean;
  /** False disables the response cache. */
  useCache?: boolean;
  cacheDir?: string;
  requireSecret?: boolean;
}

/** One call through the orchestrator, on the simulator unless live. */
export async function execCommand(agent: string, task: string, options: ExecCommandOptions): Promise<AgentResult> {
  const agents = await loadAgents(options.agentsFile);
  const cache = options.useCache === false ? undefined : await openCliCache(options);
  const setup = await setupProvider({ live: options.live, logger: rootLogger });
  const orchestrator = new Orchestrator({ agents, provider: setup.provider, cache });
  try {
    return await orchestrator.executeAgent(agent, task, options);
  } finally {
    await orchestrator.close();
    await setup.stop();
    await cache?.close();
  }
}

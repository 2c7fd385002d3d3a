import { Command } from 'commander';
import { startInstrumentationIfConfigured } from '../../instrumentation/start.js';
import { loadAgents } from '../config/agents.js';
import { currentProject, givenOr, simulatorSettings } from '../config/project.js';
import type { AgentResult, ExecuteOptions } from '../orchestrator/orchestrator.js';
import { rootLogger } from '../logger.js';
import { openStack, providerFor } from '../stack.js';
import { parseDurationMs } from '../units.js';
import { print } from './options.js';

export interface ExecCommandOptions extends ExecuteOptions {
  agentsFile?: string;
  live?: boolean;
  /** False disables the response cache. */
  useCache?: boolean;
  cacheDir?: string;
  requireSecret?: boolean;
}

/** One call through the orchestrator, on the simulator (in this thread) unless live; the disk cache unless told not to. */
export async function run(agent: string, task: string, options: ExecCommandOptions): Promise<AgentResult> {
  const project = await currentProject();
  const agents = await loadAgents(givenOr(options.agentsFile, project.agentsFile));
  // Traced when telemetry is configured (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_TRACES_EXPORTER);
  // stopped at the end, which flushes the call's spans before the process exits.
  const instrumentation = await startInstrumentationIfConfigured({ prometheus: false, spanProcessor: 'simple', logger: rootLogger });
  const stack = await openStack({
    instrumentation,
    agents,
    provider: providerFor(options.live, { ...simulatorSettings(project, {}, { latency: 'fixed:0', seed: 1 }), thread: 'main' }),
    orchestrator: { modelPrices: project.config.models },
    cache: options.useCache === false ? { kind: 'none' } : { kind: 'disk', dir: options.cacheDir, requireSecret: options.requireSecret },
    logger: rootLogger,
  }).catch(async (error: unknown) => {
    await instrumentation?.stop();
    throw error;
  });
  try {
    return await stack.orchestrator.executeAgent(agent, task, options);
  } finally {
    await stack.close();
    await instrumentation?.stop();
  }
}

export const command = new Command('exec')
  .description('run one agent on one task and print the answer')
  .argument('<agent>', 'agent name from the agents file')
  .argument('<task>', 'the task, sent as user content')
  .option('--json', 'print the whole result object as JSON')
  .option('--agents <file>', "agents config file (default: the project's, else the shipped agents.json)")
  .option('--temperature <t>', 'override the agent temperature (0 to 1)')
  .option('--max-tokens <n>', "override the agent's maxTokens")
  .option('--timeout <duration>', 'overall deadline, e.g. 30s')
  .option('--cache-dir <dir>', 'response cache directory (default ~/.cache/agentperf/responses)')
  .option('--no-cache', 'neither read nor write the response cache')
  .option('--refresh', 'skip the cache read, store the fresh answer')
  .option('--require-secret', 'refuse to start without AGENTPERF_CACHE_SECRET')
  .option('--live', 'call the real API (needs ANTHROPIC_API_KEY)')
  .action(async (agent: string, task: string, opts) => {
    const result = await run(agent, task, {
      agentsFile: opts.agents,
      live: opts.live,
      useCache: opts.cache,
      cacheDir: opts.cacheDir,
      requireSecret: opts.requireSecret,
      cache: opts.refresh ? 'refresh' : undefined,
      temperature: opts.temperature === undefined ? undefined : Number(opts.temperature),
      maxTokens: opts.maxTokens === undefined ? undefined : Number(opts.maxTokens),
      deadlineMs: opts.timeout === undefined ? undefined : parseDurationMs('timeout', opts.timeout),
    });
    print(opts.json ? JSON.stringify(result, null, 2) : result.output);
  });

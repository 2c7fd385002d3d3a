import { Command } from 'commander';
import { startInstrumentationIfConfigured } from '../../instrumentation/start.js';
import { redisSettings, simulatorSettings } from '../config/project.js';
import type { AgentResult, ExecuteOptions } from '../orchestrator/orchestrator.js';
import { rootLogger } from '../logger.js';
import { providerFor } from '../stack.js';
import { openCommandStack } from './command-stack.js';
import { parseDurationMs } from '../units.js';
import { print, withStackFlags } from './options.js';

export interface ExecCommandOptions extends ExecuteOptions {
  agentsFile?: string;
  live?: boolean;
  /** False disables the response cache. */
  useCache?: boolean;
  cacheDir?: string;
  requireSecret?: boolean;
  /** `--redis`: the shared tier's URL (else AGENTPERF_REDIS_URL, else the project config's). */
  redis?: string;
}

/** One call through the orchestrator, on the simulator (in this thread) unless live; the disk cache unless told not to. */
export async function run(agent: string, task: string, options: ExecCommandOptions): Promise<AgentResult> {
  const opened = await openCommandStack({
    agentsFile: options.agentsFile,
    // Traced when telemetry is configured (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_TRACES_EXPORTER);
    // stopped at the end, which flushes the call's spans before the process exits.
    instrumentation: () => startInstrumentationIfConfigured({ prometheus: false, spanProcessor: 'simple', logger: rootLogger }),
    stack: (project) => ({
      provider: providerFor(options.live, { ...simulatorSettings(project, {}, { latency: 'fixed:0', seed: 1 }), thread: 'main' }),
      orchestrator: { modelPrices: project.config.models, rateLimits: project.config.rateLimits },
      cache:
        options.useCache === false
          ? { kind: 'none' }
          : { kind: 'disk', dir: options.cacheDir, requireSecret: options.requireSecret, redis: redisSettings(project, options) },
      logger: rootLogger,
    }),
  });
  try {
    return await opened.stack.orchestrator.executeAgent(agent, task, options);
  } finally {
    await opened.close();
  }
}

/** The flags as commander parses them (its action's options are untyped). */
interface ExecFlags {
  agents?: string;
  cache: boolean;
  cacheDir?: string;
  json?: boolean;
  live?: boolean;
  maxTokens?: string;
  redis?: string;
  refresh?: boolean;
  requireSecret?: boolean;
  temperature?: string;
  timeout?: string;
}

export const command = withStackFlags(
  new Command('exec')
    .description('run one agent on one task and print the answer')
    .argument('<agent>', 'agent name from the agents file')
    .argument('<task>', 'the task, sent as user content'),
  { agents: true, cache: true, redis: true, live: true },
)
  .option('--json', 'print the whole result object as JSON')
  .option('--temperature <t>', 'override the agent temperature (0 to 1)')
  .option('--max-tokens <n>', "override the agent's maxTokens")
  .option('--timeout <duration>', 'overall deadline, e.g. 30s')
  .option('--no-cache', 'neither read nor write the response cache')
  .option('--refresh', 'skip the cache read, store the fresh answer')
  .action(async (agent: string, task: string, opts: ExecFlags) => {
    const result = await run(agent, task, {
      agentsFile: opts.agents,
      live: opts.live,
      useCache: opts.cache,
      cacheDir: opts.cacheDir,
      requireSecret: opts.requireSecret,
      redis: opts.redis,
      cache: opts.refresh ? 'refresh' : undefined,
      temperature: opts.temperature === undefined ? undefined : Number(opts.temperature),
      maxTokens: opts.maxTokens === undefined ? undefined : Number(opts.maxTokens),
      deadlineMs: opts.timeout === undefined ? undefined : parseDurationMs('timeout', opts.timeout),
    });
    print(opts.json ? JSON.stringify(result, null, 2) : result.output);
  });

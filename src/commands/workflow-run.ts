import { Command } from 'commander';
import { startInstrumentationIfConfigured } from '../../instrumentation/start.js';
import { simulatorSettings } from '../config/project.js';
import { UsageError } from '../errors.js';
import { STANDARD_LATENCY } from '../scenarios/agent.js';
import { rootLogger } from '../logger.js';
import { providerFor } from '../stack.js';
import { parseIntegerOption } from '../units.js';
import { executeWorkflow, orchestratorRunner, type WorkflowRun } from '../workflow/execute.js';
import { formatWorkflowRun } from '../report/workflow.js';
import { openCommandStack } from './command-stack.js';
import { parseSeed, print, withStackFlags } from './options.js';
import { run as planWorkflowFile } from './plan.js';

export interface WorkflowRunOptions {
  input?: string;
  maxParallel: number;
  onError: 'fail-fast' | 'continue';
  agentsFile?: string;
  /** Default from the project's config. */
  latency?: string;
  seed?: number;
  live?: boolean;
}

/** `agentperf workflow run`: executes a workflow file through the orchestrator (simulator unless --live). */
export async function run(file: string, options: WorkflowRunOptions): Promise<WorkflowRun> {
  const { workflow } = await planWorkflowFile(file);
  const opened = await openCommandStack({
    agentsFile: options.agentsFile,
    // Traced when telemetry is configured, as `exec` is; stopped (and flushed) at the end.
    instrumentation: () => startInstrumentationIfConfigured({ prometheus: false, logger: rootLogger }),
    stack: (project) => ({
      provider: providerFor(options.live, { ...simulatorSettings(project, options, { latency: STANDARD_LATENCY, seed: 1 }), latencyFrom: 'request' }),
      orchestrator: { maxConcurrent: Math.max(1, options.maxParallel), maxQueued: 10_000, modelPrices: project.config.models },
      logger: rootLogger.child({ component: 'workflow' }),
    }),
  });
  const controller = new AbortController();
  const interrupt = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', interrupt);
  try {
    return await executeWorkflow(workflow, orchestratorRunner(opened.stack.orchestrator), {
      workflowId: workflow.name ?? file,
      maxParallel: options.maxParallel,
      onError: options.onError,
      input: options.input,
      signal: controller.signal,
    });
  } finally {
    process.removeListener('SIGINT', interrupt);
    await opened.close();
  }
}

/** The flags as commander parses them (its action's options are untyped). */
interface WorkflowRunFlags {
  agents?: string;
  input?: string;
  json?: boolean;
  latency?: string;
  live?: boolean;
  maxParallel: string;
  onError: string;
  seed?: string;
}

export const command = withStackFlags(
  new Command('run').description('execute a workflow through the orchestrator (the simulator unless --live)').argument('<workflow>', 'workflow JSON file'),
  {
    agents: true,
    latency: { project: STANDARD_LATENCY },
    seed: { project: '1' },
    live: true,
  },
)
  .option('--input <text>', 'what {{input}} stands for in the tasks')
  .option('--max-parallel <n>', 'steps running at once', '4')
  .option('--on-error <policy>', 'fail-fast | continue', 'fail-fast')
  .option('--json', 'print the run (every step, its output and timings) as JSON')
  .action(async (file: string, opts: WorkflowRunFlags) => {
    if (opts.onError !== 'fail-fast' && opts.onError !== 'continue')
      throw new UsageError('on-error', `on-error must be fail-fast or continue, got ${JSON.stringify(opts.onError)}`);
    const result = await run(file, {
      input: opts.input,
      maxParallel: parseIntegerOption('max-parallel', opts.maxParallel, 1, 10_000),
      onError: opts.onError,
      agentsFile: opts.agents,
      latency: opts.latency,
      seed: opts.seed === undefined ? undefined : parseSeed(opts.seed),
      live: opts.live,
    });
    print(opts.json ? JSON.stringify(result, null, 2) : formatWorkflowRun(result));
    if (result.status !== 'completed') process.exitCode = 1;
  });

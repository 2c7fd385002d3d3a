import { readFile } from 'node:fs/promises';
import { describeIssue } from '../config/agents.js';
import { ConfigError } from '../errors.js';
import { loadAgents } from '../config/agents.js';
import { rootLogger } from '../logger.js';
import { openAgentStack } from '../runtime/agent-stack.js';
import { executeWorkflow, orchestratorRunner, type WorkflowRun } from '../workflow/execute.js';
import { planWorkflow, type Plan, type Workflow } from '../workflow/plan.js';
import { WorkflowSchema } from '../workflow/schema.js';

/** Reads and validates a workflow file, then plans it. */
export async function planCommand(file: string): Promise<{ workflow: Workflow; plan: Plan }> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new ConfigError('workflow', `cannot read the workflow as JSON: ${(error as Error).message}`, file);
  }
  const parsed = WorkflowSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = describeIssue(parsed.error, raw);
    throw new ConfigError(issue.field, issue.message, file);
  }
  return { workflow: parsed.data, plan: planWorkflow(parsed.data) };
}

export function formatPlan(name: string, plan: Plan): string {
  const lines = [
    `${name}: ${plan.steps} steps, ${plan.edges} dependencies, ${plan.levels.length} levels`,
    `critical path (${plan.criticalPath.lengthMs} ms of ${plan.totalWorkMs} ms total work): ${plan.criticalPath.steps.join(' -> ')}`,
    `parallelism: max width ${plan.maxWidth}, average ${plan.averageWidth.toFixed(2)}, speedup bound ${plan.speedupBound.toFixed(2)}x`,
    ...plan.levels.slice(0, 50).map((level, k) => `  level ${k}: ${level.length <= 12 ? level.join(', ') : `${level.slice(0, 12).join(', ')} and ${level.length - 12} more`}`),
  ];
  if (plan.levels.length > 50) lines.push(`  ... ${plan.levels.length - 50} more levels`);
  return `${lines.join('\n')}\n`;
}

export interface WorkflowRunOptions {
  input?: string;
  maxParallel: number;
  onError: 'fail-fast' | 'continue';
  agentsFile?: string;
  latency: string;
  seed: number;
  live?: boolean;
}

/** `agentperf workflow run`: executes a workflow file through the orchestrator (simulator unless --live). */
export async function workflowRunCommand(file: string, options: WorkflowRunOptions): Promise<WorkflowRun> {
  const { workflow } = await planCommand(file);
  const agents = await loadAgents(options.agentsFile);
  const stack = await openAgentStack({ agents, latency: options.latency, seed: options.seed, live: options.live, maxConcurrent: Math.max(1, options.maxParallel), maxQueued: 10_000, logger: rootLogger.child({ component: 'workflow' }) });
  const controller = new AbortController();
  const interrupt = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', interrupt);
  try {
    return await executeWorkflow(workflow, orchestratorRunner(stack.orchestrator), { workflowId: workflow.name ?? file, maxParallel: options.maxParallel, onError: options.onError, input: options.input, signal: controller.signal });
  } finally {
    process.removeListener('SIGINT', interrupt);
    await stack.close();
  }
}

export function formatWorkflowRun(run: WorkflowRun): string {
  const lines = [`${run.workflowId}: ${run.status.toUpperCase()} in ${(run.durationMs / 1000).toFixed(2)} s`];
  for (const step of Object.values(run.steps)) {
    const timing = step.startedAt === undefined ? '' : ` (started at ${step.startedAt.toFixed(0)} ms, took ${step.latencyMs?.toFixed(0)} ms)`;
    lines.push(`  ${step.id.padEnd(16)} ${step.status.padEnd(8)}${timing}${step.error ? `: ${step.error}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

import type { WorkflowRun } from '../workflow/execute.js';
import type { Plan } from '../workflow/plan.js';

/** What `agentperf plan` prints (pure: data in, text out). */
export function formatPlan(name: string, plan: Plan): string {
  const lines = [
    `${name}: ${plan.steps} steps, ${plan.edges} dependencies, ${plan.levels.length} levels`,
    `critical path (${plan.criticalPath.lengthMs} ms of ${plan.totalWorkMs} ms total work): ${plan.criticalPath.steps.join(' -> ')}`,
    `parallelism: max width ${plan.maxWidth}, average ${plan.averageWidth.toFixed(2)}, speedup bound ${plan.speedupBound.toFixed(2)}x`,
    ...plan.levels
      .slice(0, 50)
      .map((level, k) => `  level ${k}: ${level.length <= 12 ? level.join(', ') : `${level.slice(0, 12).join(', ')} and ${level.length - 12} more`}`),
  ];
  if (plan.levels.length > 50) lines.push(`  ... ${plan.levels.length - 50} more levels`);
  return `${lines.join('\n')}\n`;
}

/** What `agentperf workflow run` prints. */
export function formatWorkflowRun(run: WorkflowRun): string {
  const lines = [`${run.workflowId}: ${run.status.toUpperCase()} in ${(run.durationMs / 1000).toFixed(2)} s`];
  for (const step of Object.values(run.steps)) {
    const timing = step.startedAt === undefined ? '' : ` (started at ${step.startedAt.toFixed(0)} ms, took ${step.latencyMs?.toFixed(0)} ms)`;
    lines.push(`  ${step.id.padEnd(16)} ${step.status.padEnd(8)}${timing}${step.error ? `: ${step.error}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

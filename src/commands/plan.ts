import { Command } from 'commander';
import { readJsonConfig } from '../config/read.js';
import { UsageError } from '../errors.js';
import { parseIntegerOption } from '../units.js';
import { generateWorkflow } from '../workflow/generate.js';
import { planWorkflow, type Plan, type Workflow } from '../workflow/plan.js';
import { WorkflowSchema } from '../config/workflow.js';
import { formatPlan } from '../report/workflow.js';
import { parseSeed, print } from './options.js';

/** `agentperf plan`: reads and validates a workflow file, then plans it. */
export async function run(file: string): Promise<{ workflow: Workflow; plan: Plan }> {
  const workflow = await readJsonConfig(file, WorkflowSchema, 'workflow');
  return { workflow, plan: planWorkflow(workflow) };
}

/** The flags as commander parses them (its action's options are untyped). */
interface PlanFlags {
  edges: string;
  generate?: string;
  json?: boolean;
  seed: string;
}

export const command = new Command('plan')
  .description('plan a workflow (levels, critical path, parallelism), or generate a random one')
  .argument('[workflow]', 'workflow JSON file')
  .option('--json', 'print the plan as JSON')
  .option('--generate <n>', 'print a random workflow of n steps instead (for benchmarks)')
  .option('--edges <m>', 'with --generate: dependencies per step', '3')
  .option('--seed <n>', 'with --generate: random seed', '1')
  .action(async (file: string | undefined, opts: PlanFlags) => {
    if (opts.generate !== undefined) {
      print(
        JSON.stringify(
          generateWorkflow(
            parseIntegerOption('generate', opts.generate, 1, 10_000_000),
            parseIntegerOption('edges', opts.edges, 0, 1000),
            parseSeed(opts.seed),
          ),
        ),
      );
      return;
    }
    if (!file) throw new UsageError('workflow', 'give a workflow file, or --generate N');
    const { workflow, plan } = await run(file);
    print(opts.json ? JSON.stringify(plan, null, 2) : formatPlan(workflow.name ?? file, plan));
  });

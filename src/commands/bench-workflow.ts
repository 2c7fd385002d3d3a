import { Command } from 'commander';
import { benchWorkflow, DEFAULT_WORKFLOW_BENCH } from '../bench/workflow.js';
import { formatWorkflowBench } from '../report/bench.js';
import { parseIntegerOption } from '../units.js';
import { print } from './options.js';

/** `agentperf bench workflow`: planning time by workflow size, and event-bus throughput. */
export { benchWorkflow as run };

/** The flags as commander parses them (its action's options are untyped). */
interface BenchWorkflowFlags {
  edges: string;
  json?: boolean;
  sizes: string;
}

export const command = new Command('workflow')
  .description('workflow planning time from 1,000 to 1,000,000 steps, and event-bus throughput')
  .option('--sizes <list>', 'workflow sizes', DEFAULT_WORKFLOW_BENCH.sizes.join(','))
  .option('--edges <m>', 'dependencies per step', String(DEFAULT_WORKFLOW_BENCH.edges))
  .option('--json', 'print the result as JSON')
  .action(async (opts: BenchWorkflowFlags) => {
    const result = await benchWorkflow({
      sizes: String(opts.sizes)
        .split(',')
        .map((v) => parseIntegerOption('sizes', v.trim(), 1, 10_000_000)),
      edges: parseIntegerOption('edges', opts.edges, 0, 100),
    });
    print(opts.json ? JSON.stringify(result, null, 2) : formatWorkflowBench(result));
  });

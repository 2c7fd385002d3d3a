import { Command } from 'commander';
import { benchOrchestrator, DEFAULT_ORCHESTRATOR_BENCH } from '../bench/orchestrator.js';
import { formatOrchestratorBench } from '../report/bench.js';
import { parseIntegerOption } from '../units.js';
import { print } from './options.js';

/** `agentperf bench orchestrator`: executeAgent against the bare SDK call on the same simulator, side by side. */
export { benchOrchestrator as run };

/** The flags as commander parses them (its action's options are untyped). */
interface BenchOrchestratorFlags {
  calls: string;
  concurrency: string;
  inProcessCalls: string;
  json?: boolean;
  rounds: string;
}

export const command = new Command('orchestrator')
  .description('executeAgent against the bare SDK call on the same simulator, and calls/s in-process')
  .option('--rounds <n>', 'interleaved rounds (medians are reported)', String(DEFAULT_ORCHESTRATOR_BENCH.rounds))
  .option('--calls <n>', 'calls per block', String(DEFAULT_ORCHESTRATOR_BENCH.callsPerBlock))
  .option('--concurrency <list>', 'comma-separated concurrencies', DEFAULT_ORCHESTRATOR_BENCH.concurrencies.join(','))
  .option('--in-process-calls <n>', 'calls for the in-process throughput figure', String(DEFAULT_ORCHESTRATOR_BENCH.inProcessCalls))
  .option('--json', 'print the result as JSON')
  .action(async (opts: BenchOrchestratorFlags) => {
    const result = await benchOrchestrator({
      rounds: parseIntegerOption('rounds', opts.rounds, 1, 1_000),
      callsPerBlock: parseIntegerOption('calls', opts.calls, 1, 10_000_000),
      concurrencies: String(opts.concurrency)
        .split(',')
        .map((c) => parseIntegerOption('concurrency', c, 1, 10_000)),
      inProcessCalls: parseIntegerOption('in-process-calls', opts.inProcessCalls, 1, 100_000_000),
    });
    print(opts.json ? JSON.stringify(result, null, 2) : formatOrchestratorBench(result));
  });

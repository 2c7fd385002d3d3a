import { Command } from 'commander';
import { benchSnapshot, DEFAULT_SNAPSHOT_BENCH } from '../bench/snapshot.js';
import { formatSnapshotBench } from '../report/bench.js';
import { parseIntegerOption } from '../units.js';
import { print } from './options.js';

/** `agentperf bench snapshot`: the leak report's heap-snapshot analysis on a heap of a real service's size. */
export { benchSnapshot as run };

/** The flags as commander parses them (its action's options are untyped). */
interface BenchSnapshotFlags {
  heap: string;
  json?: boolean;
}

export const command = new Command('snapshot')
  .description("the leak report's snapshot analysis on a large heap: its time and its peak memory against the heap's size")
  .option('--heap <MiB>', 'the live heap to build and snapshot, in MiB', String(DEFAULT_SNAPSHOT_BENCH.heapMiB))
  .option('--json', 'print the result as JSON')
  .action(async (opts: BenchSnapshotFlags) => {
    const result = await benchSnapshot({ heapMiB: parseIntegerOption('heap', opts.heap, 16, 16_384) });
    print(opts.json ? JSON.stringify(result, null, 2) : formatSnapshotBench(result));
  });

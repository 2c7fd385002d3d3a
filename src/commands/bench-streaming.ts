import { Command } from 'commander';
import { benchStreaming, DEFAULT_STREAMING_BENCH } from '../bench/streaming.js';
import { formatStreamingBench } from '../report/bench.js';
import { parseIntegerOption } from '../units.js';
import { print } from './options.js';

/** `agentperf bench streaming`: streamed calls through the orchestrator against the bare SDK stream, side by side. */
export { benchStreaming as run };

/** The flags as commander parses them (its action's options are untyped). */
interface BenchStreamingFlags {
  rounds: string;
  streams: string;
  concurrent: string;
  json?: boolean;
}

export const command = new Command('streaming')
  .description('streamed calls: time to first chunk added over the bare SDK stream, CPU per relayed chunk, concurrent streams, cached replay')
  .option('--rounds <n>', 'interleaved rounds (medians are reported)', String(DEFAULT_STREAMING_BENCH.rounds))
  .option('--streams <n>', 'sequential streams per block for time to first chunk', String(DEFAULT_STREAMING_BENCH.streamsPerBlock))
  .option('--concurrent <n>', 'concurrent streams from one process', String(DEFAULT_STREAMING_BENCH.concurrentStreams))
  .option('--json', 'print the result as JSON')
  .action(async (opts: BenchStreamingFlags) => {
    const result = await benchStreaming({
      ...DEFAULT_STREAMING_BENCH,
      rounds: parseIntegerOption('rounds', opts.rounds, 1, 1_000),
      streamsPerBlock: parseIntegerOption('streams', opts.streams, 1, 1_000_000),
      concurrentStreams: parseIntegerOption('concurrent', opts.concurrent, 1, 100_000),
    });
    print(opts.json ? JSON.stringify(result, null, 2) : formatStreamingBench(result));
  });

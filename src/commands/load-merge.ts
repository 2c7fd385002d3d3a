import { Command } from 'commander';
import { mergeHdrLogs, type MergedHdr } from '../load/hdr-log.js';
import { formatMergedHdr } from '../report/load.js';
import { print } from './options.js';

/** `agentperf load merge`: HDR logs from several generators, merged exactly into one latency table. */
export function run(files: string[]): Promise<MergedHdr> {
  return mergeHdrLogs(files);
}

/** The flags as commander parses them (its action's options are untyped). */
interface LoadMergeFlags {
  json?: boolean;
}

export const command = new Command('merge')
  .description('merge HDR logs written by `load --hdr` (e.g. from several generators) into one latency table')
  .argument('<files...>', 'HDR log files')
  .option('--json', 'print the merged percentiles as JSON')
  .action(async (files: string[], opts: LoadMergeFlags) => {
    const merged = await run(files);
    print(opts.json ? JSON.stringify(merged, null, 2) : formatMergedHdr(merged));
  });

import { Command } from 'commander';
import { resolve } from 'node:path';
import { listBaselines } from '../gate/baseline.js';
import { formatBaselines } from '../report/gate.js';
import { print } from './options.js';

/** `agentperf baseline show`: the stored baselines, as a table. */
export async function run(baselineDir: string): Promise<string> {
  return formatBaselines(await listBaselines(resolve(baselineDir)));
}

export const command = new Command('show')
  .description('print the stored baselines')
  .option('--baselines <dir>', 'where baselines are stored', 'baselines')
  .action(async (opts) => {
    print(await run(opts.baselines));
  });

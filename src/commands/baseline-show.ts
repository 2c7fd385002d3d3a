import { Command } from 'commander';
import { currentProject, givenOr } from '../config/project.js';
import { listBaselines } from '../gate/baseline.js';
import { formatBaselines } from '../report/gate.js';
import { print } from './options.js';

/** `agentperf baseline show`: the stored baselines, as a table. */
export async function run(baselineDir?: string): Promise<string> {
  return formatBaselines(await listBaselines(givenOr(baselineDir, (await currentProject()).baselineDir)));
}

/** The flags as commander parses them (its action's options are untyped). */
interface BaselineShowFlags {
  baselines?: string;
}

export const command = new Command('show')
  .description('print the stored baselines')
  .option('--baselines <dir>', "where baselines are stored (default: the project's baselines/)")
  .action(async (opts: BaselineShowFlags) => {
    print(await run(opts.baselines));
  });

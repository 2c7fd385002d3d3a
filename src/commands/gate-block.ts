import { Command } from 'commander';
import { runBlockHere, type BlockResult, type BlockSpec } from '../measure/block.js';
import { print } from './options.js';

/** `agentperf gate block <spec>`: one gate block in this process; the gate runs it in fresh ones. */
export function run(spec: BlockSpec): Promise<BlockResult> {
  return runBlockHere(spec);
}

export const command = new Command('block')
  .description('one gate block in this process (the gate runs it in fresh processes)')
  .argument('<spec>', 'the block spec as JSON')
  .action(async (spec: string) => {
    print(JSON.stringify(await run(JSON.parse(spec) as BlockSpec)));
  });

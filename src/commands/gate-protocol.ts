import { Command } from 'commander';
import { BLOCK_PROTOCOL } from '../measure/block.js';
import { VERSION } from '../runtime/self.js';
import { print } from './options.js';

/** `agentperf gate protocol`: which block protocol this agentperf speaks (a paired gate asks each side's agentperf). */
export function run(): { protocol: number; version: string } {
  return { protocol: BLOCK_PROTOCOL, version: VERSION };
}

export const command = new Command('protocol').description('the block protocol this agentperf speaks (a paired gate asks each side)').action(() => {
  print(JSON.stringify(run()));
});

import { Command } from 'commander';
import { resolve } from 'node:path';
import { loadPolicy } from '../config/policy.js';
import { gatedScenarios, updateBaseline } from '../gate/run.js';
import { parseIntegerOption } from '../units.js';
import { collect, print, progressToStderr } from './options.js';

export interface BaselineUpdateOptions {
  policyFile?: string;
  scenarios?: string[];
  blocks: number;
  baselineDir: string;
}

/** `agentperf baseline update`: measures each gated scenario and stores its baseline; returns the files written. */
export async function run(options: BaselineUpdateOptions): Promise<string[]> {
  const policy = await loadPolicy(options.policyFile);
  const names = gatedScenarios(policy, options.scenarios).map((s) => s.name);
  const files: string[] = [];
  for (const name of names) files.push(await updateBaseline(resolve(options.baselineDir), policy, name, options.blocks, progressToStderr));
  return files;
}

export const command = new Command('update')
  .description('measure the gated scenarios in fresh-process blocks and store the distribution')
  .option('--scenario <name>', 'only this scenario, repeatable', collect, [])
  .option('--blocks <n>', 'blocks to store', '9')
  .option('--policy <file>', 'gate policy JSON')
  .option('--baselines <dir>', 'where baselines are stored', 'baselines')
  .action(async (opts) => {
    const files = await run({ policyFile: opts.policy, scenarios: opts.scenario.length ? opts.scenario : undefined, blocks: parseIntegerOption('blocks', opts.blocks, 3, 1_000), baselineDir: opts.baselines });
    print(files.map((f) => `wrote ${f}`).join('\n'));
  });

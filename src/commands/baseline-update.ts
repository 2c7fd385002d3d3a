import { Command } from 'commander';
import { join } from 'node:path';
import { MAX_BASELINE_BLOCKS } from '../config/baseline.js';
import { assertWritable } from '../files/atomic.js';
import { CONFIG_FILES, currentProject, givenOr } from '../config/project.js';
import { UsageError } from '../errors.js';
import { loadPolicy } from '../config/policy.js';
import { gatedScenarios, updateBaseline } from '../gate/run.js';
import { scenarioNames } from '../scenarios/index.js';
import { parseIntegerOption } from '../units.js';
import { collect, print, progressToStderr, sayWhenNoConfig } from './options.js';

export interface BaselineUpdateOptions {
  policyFile?: string;
  scenarios?: string[];
  blocks: number;
  /** Default: the project's baselines directory. */
  baselineDir?: string;
}

/** `agentperf baseline update`: measures each gated scenario and stores its baseline; returns the files written. */
export async function run(options: BaselineUpdateOptions): Promise<string[]> {
  const project = await currentProject();
  // Outside a project the default policy gates agentperf's own demo: stored silently, it would
  // become this directory's baseline for a project that has nothing to do with it.
  if (project.configFile === undefined && !options.scenarios?.length) {
    throw new UsageError(
      'scenario',
      `no agentperf config was found from ${project.root} upward (${CONFIG_FILES.join(', ')}, or an "agentperf" key in package.json): baseline update would store agentperf's built-in demo scenario as this directory's baseline. Run it in your project, write a config (npx agentperf init), or name the scenario to store (--scenario mixed)`,
    );
  }
  sayWhenNoConfig(project, `storing the baseline of ${options.scenarios?.join(', ')} as named`);
  const policy = await loadPolicy(options.policyFile, project.policy);
  const names = gatedScenarios(policy, options.scenarios, scenarioNames(project)).map((s) => s.name);
  const dir = givenOr(options.baselineDir, project.baselineDir);
  // Before any block runs: a directory that cannot be written fails in a second.
  await assertWritable(join(dir, 'baseline.json'), 'baselines');
  const files: string[] = [];
  for (const name of names) files.push(await updateBaseline(project.root, dir, policy, name, options.blocks, progressToStderr));
  return files;
}

/** The flags as commander parses them (its action's options are untyped). */
interface BaselineUpdateFlags {
  baselines?: string;
  blocks: string;
  policy?: string;
  scenario: string[];
}

export const command = new Command('update')
  .description('measure the gated scenarios in fresh-process blocks and store the distribution')
  .option('--scenario <name>', 'only this scenario, repeatable', collect, [])
  .option('--blocks <n>', 'blocks to store', '9')
  .option('--policy <file>', 'gate policy JSON')
  .option('--baselines <dir>', "where baselines are stored (default: the project's baselines/)")
  .action(async (opts: BaselineUpdateFlags) => {
    const files = await run({
      policyFile: opts.policy,
      scenarios: opts.scenario.length ? opts.scenario : undefined,
      blocks: parseIntegerOption('blocks', opts.blocks, 3, MAX_BASELINE_BLOCKS),
      baselineDir: opts.baselines,
    });
    print(files.map((f) => `wrote ${f}`).join('\n'));
  });

import { Command } from 'commander';
import { currentProject, givenOr } from '../config/project.js';
import { defaultProfileDir } from '../profiling/profile-run.js';
import { flameAround } from '../profiling/tools.js';
import { print } from './options.js';

/** `agentperf flame -- <command>`: 0x around any Node command; the flamegraph lands under profiles/. */
export async function run(command: string[], outDir?: string): Promise<{ exitCode: number; dir: string }> {
  const dir = givenOr(outDir, defaultProfileDir((await currentProject()).profileDir, 'flame'));
  return { exitCode: await flameAround(command, dir), dir };
}

/** The flags as commander parses them (its action's options are untyped). */
interface FlameFlags {
  out?: string;
}

export const command = new Command('flame')
  .description('0x around any Node command: a flamegraph under profiles/flame/<time>/')
  .argument('<command...>', 'the command after --, e.g. -- node server.js')
  .option('--out <dir>', 'output directory')
  .action(async (args: string[], opts: FlameFlags) => {
    const result = await run(args, opts.out);
    print(`flamegraph written under ${result.dir}`);
    process.exitCode = result.exitCode;
  });

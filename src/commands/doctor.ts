import { Command } from 'commander';
import { currentProject, givenOr } from '../config/project.js';
import { defaultProfileDir } from '../profiling/profile-run.js';
import { doctorAround } from '../profiling/tools.js';
import { print } from './options.js';

/** `agentperf doctor -- <command>`: clinic doctor around any Node command, into profiles/doctor/. */
export async function run(command: string[], outDir?: string): Promise<{ exitCode: number; dir: string }> {
  const dir = givenOr(outDir, defaultProfileDir((await currentProject()).profileDir, 'doctor'));
  return { exitCode: await doctorAround(command, dir), dir };
}

/** The flags as commander parses them (its action's options are untyped). */
interface DoctorFlags {
  out?: string;
}

export const command = new Command('doctor')
  .description('clinic doctor around any Node command (Node 20; broken upstream on Node 21.7+)')
  .argument('<command...>', 'the command after --, e.g. -- node server.js')
  .option('--out <dir>', 'output directory')
  .action(async (args: string[], opts: DoctorFlags) => {
    const result = await run(args, opts.out);
    print(`clinic doctor report written under ${result.dir}`);
    process.exitCode = result.exitCode;
  });

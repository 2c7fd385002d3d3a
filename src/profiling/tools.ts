// Whole-process profilers around any Node command: 0x (flamegraphs) and clinic doctor. Both
// run from agentperf's own dependencies, whatever the user's project has installed.
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { UsageError } from '../errors.js';

/** A file inside one of agentperf's dependencies (its CLI script, say). */
export function dependencyFile(pkg: string, file: string): string {
  const require = createRequire(import.meta.url);
  return join(require.resolve(`${pkg}/package.json`), '..', file);
}

/** Runs a whole-process tool around the user's command, passing its exit code through. */
function runTool(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { stdio: 'inherit', env });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolvePromise(code ?? (signal ? 1 : 0)));
  });
}

function checkCommand(command: readonly string[], tool: string): void {
  if (command.length === 0) throw new UsageError('command', `give the command to profile after --, e.g. agentperf ${tool} -- node server.js`);
}

/** 0x around a command; its flamegraph lands in `dir`. */
export async function flameAround(command: string[], dir: string): Promise<number> {
  checkCommand(command, 'flame');
  await mkdir(dir, { recursive: true });
  return runTool([dependencyFile('0x', 'cmd.js'), '--output-dir', dir, '--', ...command], process.env);
}

/**
 * clinic doctor around a command. NO_INSIGHT=1 because without it clinic asks for consent on a
 * terminal and silently exits when there is none. Works on Node 20; known broken upstream on
 * Node 21.7 and later, where the in-process profilers are the way.
 */
export async function doctorAround(command: string[], dir: string): Promise<number> {
  checkCommand(command, 'doctor');
  await mkdir(dir, { recursive: true });
  return runTool([dependencyFile('clinic', 'bin.js'), 'doctor', '--open=false', '--dest', dir, '--', ...command], { ...process.env, NO_INSIGHT: '1' });
}

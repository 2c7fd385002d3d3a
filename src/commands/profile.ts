import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { resolveScenario } from '../load/scenarios/index.js';
import type { LoadShape } from '../load/run.js';
import { rootLogger } from '../logger.js';
import { detectLeak, type LeakReport } from '../profiling/leak.js';
import { defaultProfileDir, profileScenario, type ProfileIndex } from '../profiling/profile-run.js';
import { stagesOf } from '../load/patterns.js';
import type { AgentTarget } from '../load/scenarios/types.js';

export interface ProfileCommandOptions {
  scenario: string;
  cpu: boolean;
  heap: boolean;
  snapshot: boolean;
  durationMs: number;
  warmupMs: number;
  rate?: number;
  vus: number;
  cpuIntervalUs: number;
  heapIntervalBytes: number;
  outDir?: string;
  settings: Record<string, string>;
  target: AgentTarget;
  seed: number;
}

export async function profileCommand(options: ProfileCommandOptions): Promise<{ index: ProfileIndex; dir: string }> {
  const scenario = await resolveScenario(options.scenario);
  // Neither flag: both profilers, the usual first look.
  const cpu = options.cpu || !options.heap;
  const heap = options.heap || !options.cpu;
  const shape: LoadShape = options.rate
    ? { kind: 'open', pattern: `constant ${options.rate}/s`, stages: stagesOf({ kind: 'constant', rate: options.rate, durationMs: options.durationMs }), maxInFlight: 10_000 }
    : { kind: 'closed', vus: options.vus, durationMs: options.durationMs };
  const dir = options.outDir ? resolve(options.outDir) : defaultProfileDir(scenario.name);
  if (options.snapshot) process.stderr.write('agentperf: warning: the heap snapshot pauses the process while V8 walks the heap, and needs about twice the heap in memory\n');
  const index = await profileScenario({
    scenario,
    context: { target: options.target, settings: options.settings, seed: options.seed, log: rootLogger.child({ component: 'profile' }) },
    shape,
    warmupMs: options.warmupMs,
    cpu,
    heap,
    snapshot: options.snapshot,
    cpuIntervalUs: options.cpuIntervalUs,
    heapIntervalBytes: options.heapIntervalBytes,
    outDir: dir,
  });
  return { index, dir };
}

export interface LeakCommandOptions {
  scenario: string;
  rounds: number;
  iterationsPerRound: number;
  warmupRounds: number;
  concurrency: number;
  thresholdBytesPerIteration: number;
  snapshotRounds: number;
  outDir?: string;
  settings: Record<string, string>;
  target: AgentTarget;
  seed: number;
}

export async function leakCommand(options: LeakCommandOptions): Promise<LeakReport> {
  const scenario = await resolveScenario(options.scenario); // bad names fail here, with exit 2
  const outDir = options.outDir ? resolve(options.outDir) : join(defaultProfileDir(scenario.name), 'leak');
  return detectLeak({ ...options, outDir });
}

function binOf(pkg: string, file: string): string {
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

function checkCommand(command: readonly string[]): void {
  if (command.length === 0) throw new UsageError('command', 'give the command to profile after --, e.g. agentperf flame -- node server.js');
}

/** `agentperf flame -- <command>`: 0x around any Node command; the flamegraph lands under profiles/. */
export async function flameCommand(command: string[], outDir?: string): Promise<{ exitCode: number; dir: string }> {
  checkCommand(command);
  const dir = outDir ? resolve(outDir) : defaultProfileDir('flame');
  await mkdir(dir, { recursive: true });
  const exitCode = await runTool([binOf('0x', 'cmd.js'), '--output-dir', dir, '--', ...command], process.env);
  return { exitCode, dir };
}

/**
 * `agentperf doctor -- <command>`: clinic doctor. NO_INSIGHT=1 because without it clinic asks
 * for consent on a terminal and silently exits when there is none. Works on Node 20; known
 * broken upstream on Node 21.7 and later, where the in-process profilers are the way.
 */
export async function doctorCommand(command: string[], outDir?: string): Promise<{ exitCode: number; dir: string }> {
  checkCommand(command);
  const dir = outDir ? resolve(outDir) : defaultProfileDir('doctor');
  await mkdir(dir, { recursive: true });
  const exitCode = await runTool([binOf('clinic', 'bin.js'), 'doctor', '--open=false', '--dest', dir, '--', ...command], { ...process.env, NO_INSIGHT: '1' });
  return { exitCode, dir };
}

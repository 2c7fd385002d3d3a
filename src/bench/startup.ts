// `agentperf bench startup`: how long `npx agentperf --help` takes from a cold process, beside
// the floors it cannot go below (Node starting, npx starting), measured side by side.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { permutations } from '../measure/interleave.js';
import { PACKAGE_ROOT } from '../runtime/self.js';
import { median, percentile } from '../stats/percentiles.js';

export interface StartupBenchOptions {
  /** Rounds; each runs every variant once, in a rotating order. */
  rounds: number;
}

export const DEFAULT_STARTUP_BENCH: StartupBenchOptions = { rounds: 15 };

export interface StartupVariant {
  name: string;
  command: string;
  samplesMs: number[];
  medianMs: number;
  p90Ms: number;
}

export interface StartupBenchResult {
  options: StartupBenchOptions;
  variants: StartupVariant[];
  /** npx agentperf --help minus npx of a no-op bin, median of the per-round differences: agentperf's own share. */
  agentperfShareMs: number;
}

/**
 * A project as a user has it: agentperf installed (linked to this one) and a no-op bin beside
 * it, so that npx's own cost can be measured in the same place.
 */
function scratchProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'agentperf-startup-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'startup-bench', version: '1.0.0', private: true }));
  mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
  symlinkSync(PACKAGE_ROOT, join(dir, 'node_modules', 'agentperf'), 'dir');
  symlinkSync(join(PACKAGE_ROOT, 'bin', 'agentperf.js'), join(dir, 'node_modules', '.bin', 'agentperf'));
  const noop = join(dir, 'noop.js');
  writeFileSync(noop, '#!/usr/bin/env node\n');
  chmodSync(noop, 0o755);
  symlinkSync(noop, join(dir, 'node_modules', '.bin', 'noop'));
  return dir;
}

function timeOnce(argv: string[], cwd: string): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(argv[0], argv.slice(1), { cwd, stdio: 'ignore', env: { ...process.env, AGENTPERF_LOG_LEVEL: 'silent' } });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${argv.join(' ')} exited with ${result.status}`);
  return ms;
}

/**
 * Whole-process wall time of four commands, each run once per round in every order in turn:
 * Node doing nothing, agentperf's bin, npx of a no-op bin, and `npx agentperf --help`.
 */
// eslint-disable-next-line @typescript-eslint/require-await -- a bench runner returns a promise like the others, though this one measures with synchronous spawns
export async function benchStartup(options: StartupBenchOptions = DEFAULT_STARTUP_BENCH): Promise<StartupBenchResult> {
  const dir = scratchProject();
  try {
    const variants = [
      { name: 'node (nothing)', argv: [process.execPath, '-e', '0'] },
      { name: 'agentperf --help (its bin)', argv: [process.execPath, join(dir, 'node_modules', '.bin', 'agentperf'), '--help'] },
      { name: 'npx noop (npx alone)', argv: ['npx', '--no-install', 'noop'] },
      { name: 'npx agentperf --help', argv: ['npx', '--no-install', 'agentperf', '--help'] },
    ];
    const samples = variants.map(() => [] as number[]);
    const orders = permutations(variants.map((_, i) => i));
    for (const v of variants) timeOnce(v.argv, dir); // warm the file cache once
    for (let round = 0; round < options.rounds; round++) {
      for (const i of orders[round % orders.length]) samples[i].push(timeOnce(variants[i].argv, dir));
    }
    const share = samples[3].map((ms, i) => ms - samples[2][i]);
    return {
      options,
      variants: variants.map((v, i) => ({
        name: v.name,
        command: v.argv.map((a) => (a === process.execPath ? 'node' : a.startsWith(dir) ? a.slice(dir.length + 1) : a)).join(' '),
        samplesMs: samples[i],
        medianMs: median(samples[i]),
        p90Ms: percentile(
          [...samples[i]].sort((a, b) => a - b),
          90,
        ),
      })),
      agentperfShareMs: median(share),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

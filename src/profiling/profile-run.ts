import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AgentperfError, ErrorCode } from '../errors.js';
import { runLoadTest, type LoadReport, type LoadShape } from '../load/run.js';
import type { Scenario, ScenarioContext } from '../scenarios/types.js';
import { findBottlenecks, foldedStacks, type Bottlenecks } from './analyze.js';
import { CpuProfiler } from './cpu.js';
import { dependencyFile } from './tools.js';
import { HeapSampler, topAllocationSites, writeHeapSnapshot, type AllocationSite } from './heap.js';

export interface ProfileOptions {
  scenario: Scenario<unknown>;
  context: ScenarioContext;
  shape: LoadShape;
  warmupMs: number;
  cpu: boolean;
  heap: boolean;
  snapshot: boolean;
  cpuIntervalUs: number;
  heapIntervalBytes: number;
  /** The run's directory: `profiles/<scenario>/<timestamp>/` unless given. */
  outDir: string;
  /** What source locations are relative to: the project's root (default the current directory). */
  projectRoot?: string;
}

export interface Artifact {
  kind: 'cpuprofile' | 'flamegraph' | 'folded' | 'bottlenecks' | 'heapprofile' | 'allocation-sites' | 'heapsnapshot' | 'load';
  file: string;
  description: string;
}

/** `index.json`: what a profile run wrote, and the figures worth reading first. */
export interface ProfileIndex {
  schema: 'agentperf.profile/v1';
  scenario: string;
  startedAt: string;
  shape: LoadShape;
  cpuIntervalUs?: number;
  heapIntervalBytes?: number;
  artifacts: Artifact[];
  bottlenecks?: Bottlenecks;
  allocationSites?: AllocationSite[];
  load: Pick<LoadReport['result'], 'completed' | 'errors' | 'throughput' | 'latency'>;
}

/** `<profiles>/<scenario>/<timestamp>/`: where a profile run's files go unless told otherwise. */
export function defaultProfileDir(profileRoot: string, scenario: string, at = new Date()): string {
  const stamp = at.toISOString().replace(/[:.]/g, '-');
  return join(profileRoot, scenario.replace(/[^a-zA-Z0-9_-]/g, '_'), stamp);
}

/** Renders a `.cpuprofile` as 0x's flamegraph HTML, next to it (`flamegraph.html`). */
export async function renderFlamegraph(cpuprofile: string): Promise<string> {
  const cli = dependencyFile('0x', 'cmd.js');
  await new Promise<void>((resolvePromise, reject) => {
    const child = spawn(process.execPath, [cli, '--visualize-cpu-profile', cpuprofile, '--name', 'flamegraph'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolvePromise() : reject(new AgentperfError(ErrorCode.FLAMEGRAPH, `0x could not render ${cpuprofile} (exit ${code}): ${err.slice(-300)}`)),
    );
  });
  return join(cpuprofile, '..', 'flamegraph.html');
}

/** A file-system failure while writing the run, as AP_ERR_WRITE naming what was being written. */
function writeError(what: string, error: unknown): AgentperfError {
  if (error instanceof AgentperfError) return error;
  return new AgentperfError(ErrorCode.WRITE, `could not write ${what}: ${(error as Error).message}`, { cause: error });
}

/**
 * Runs the scenario under load with the CPU profiler and/or the heap sampler on, then writes
 * the artifacts and `index.json`. Everything is written into a hidden sibling directory
 * (`.<name>.incomplete-<pid>-<random>`) that is renamed to the run's directory only when
 * complete: a run killed at any moment (kill -9 included) never leaves a directory under its
 * final name without `index.json`. A failure removes the work directory.
 */
export async function profileScenario(options: ProfileOptions): Promise<ProfileIndex> {
  const dir = options.outDir;
  const existing = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw writeError(dir, error);
  });
  if (existing.length > 0) throw new AgentperfError(ErrorCode.OUT_DIR, `output directory ${dir} must be empty`, { exitCode: 2 });
  const final = dir;
  const work = join(dirname(final), `.${basename(final)}.incomplete-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(work, { recursive: true }).catch((error: unknown) => {
    throw writeError(work, error);
  });
  try {
    const cpu = options.cpu ? new CpuProfiler() : undefined;
    const heap = options.heap ? new HeapSampler() : undefined;
    // The profilers start once the scenario is set up, so setup is not in the profile.
    let started = false;
    const startProfilers = async () => {
      if (started) return;
      started = true;
      await cpu?.start({ intervalUs: options.cpuIntervalUs });
      await heap?.start(options.heapIntervalBytes);
    };
    const scenario: Scenario<unknown> = {
      ...options.scenario,
      setup: async (context) => {
        const state = await options.scenario.setup(context);
        await startProfilers();
        return state;
      },
    };
    const startedAt = new Date().toISOString();
    const { report } = await runLoadTest({
      scenario,
      context: options.context,
      shape: options.shape,
      warmupMs: options.warmupMs,
      drainTimeoutMs: 30_000,
      thresholds: [],
    });
    const artifacts: Artifact[] = [];
    const index: ProfileIndex = {
      schema: 'agentperf.profile/v1',
      scenario: options.scenario.name,
      startedAt,
      shape: options.shape,
      artifacts,
      load: { completed: report.result.completed, errors: report.result.errors, throughput: report.result.throughput, latency: report.result.latency },
    };
    const write = async (kind: Artifact['kind'], name: string, content: string, description: string) => {
      await writeFile(join(work, name), content).catch((error: unknown) => {
        throw writeError(join(final, name), error);
      });
      artifacts.push({ kind, file: name, description });
    };
    if (cpu) {
      const profile = await cpu.stop();
      index.cpuIntervalUs = options.cpuIntervalUs;
      await write('cpuprofile', 'cpu.cpuprofile', JSON.stringify(profile), 'V8 CPU profile: open in Chrome DevTools (Performance) or speedscope');
      index.bottlenecks = findBottlenecks(profile, undefined, options.projectRoot);
      await write(
        'bottlenecks',
        'bottlenecks.json',
        `${JSON.stringify(index.bottlenecks, null, 2)}\n`,
        'top functions by self and total time, GC and idle apart',
      );
      await write('folded', 'cpu.folded', foldedStacks(profile, options.projectRoot), 'folded stacks (flamegraph.pl, inferno, speedscope)');
      await renderFlamegraph(join(work, 'cpu.cpuprofile'));
      artifacts.push({ kind: 'flamegraph', file: 'flamegraph.html', description: 'flamegraph (0x), open in a browser' });
    }
    if (heap) {
      const profile = await heap.stop();
      index.heapIntervalBytes = options.heapIntervalBytes;
      await write('heapprofile', 'heap.heapprofile', JSON.stringify(profile), 'V8 sampling heap profile: open in Chrome DevTools (Memory)');
      index.allocationSites = topAllocationSites(profile, undefined, options.projectRoot);
      await write('allocation-sites', 'allocation-sites.json', `${JSON.stringify(index.allocationSites, null, 2)}\n`, 'top allocation sites by sampled bytes');
    }
    if (options.snapshot) {
      writeHeapSnapshot(join(work, 'heap.heapsnapshot'));
      artifacts.push({ kind: 'heapsnapshot', file: 'heap.heapsnapshot', description: 'heap snapshot at the end of the run: open in Chrome DevTools (Memory)' });
    }
    await write('load', 'load.json', `${JSON.stringify(report, null, 2)}\n`, 'the load run the profile was taken under (agentperf.load/v1)');
    await writeFile(join(work, 'index.json'), `${JSON.stringify(index, null, 2)}\n`).catch((error: unknown) => {
      throw writeError(join(final, 'index.json'), error);
    });
    // An empty directory given as --out is replaced; rename(2) puts the whole run in place at once.
    await rmdir(final).catch(() => undefined);
    await rename(work, final).catch((error: unknown) => {
      throw writeError(final, error);
    });
    return index;
  } catch (error) {
    await rm(work, { recursive: true, force: true });
    throw error;
  }
}

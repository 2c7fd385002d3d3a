// The child processes of `agentperf bench snapshot`, each printing one JSON line:
//   make <dir> <MB>   a heap of about MB megabytes of live objects, then the baseline, target and
//                     final snapshots, a leak of 0.1% of it growing between them;
//   analyze <dir>     the three snapshots read as streams (what `agentperf leak` does), with the
//                     time taken and the process's peak memory.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import v8 from 'node:v8';
import { analyzeSnapshots } from '../profiling/snapshot-diff.js';

/** A record like a service keeps: a few fields, a string, a small array. About 200 bytes with its parts. */
class SessionRecord {
  constructor(
    readonly id: number,
    readonly user: string,
    readonly tags: number[],
  ) {}
}

class LeakedEntry {
  constructor(readonly payload: number[]) {}
}

function make(dir: string, megabytes: number): unknown {
  const live: SessionRecord[] = [];
  const perRecord = 200;
  for (let i = 0; i < (megabytes * 2 ** 20) / perRecord; i++) live.push(new SessionRecord(i, `user-${i}-${'x'.repeat(i % 40)}`, [i, i + 1, i + 2]));
  const leaked: LeakedEntry[] = [];
  const leak = () => {
    for (let i = 0; i < (megabytes * 2 ** 20) / 1000 / 100; i++) leaked.push(new LeakedEntry(Array.from({ length: 20 }, (_, k) => i + k)));
  };
  const files: string[] = [];
  const started = performance.now();
  for (const name of ['baseline', 'target', 'final']) {
    if (name !== 'baseline') leak();
    files.push(v8.writeHeapSnapshot(join(dir, `${name}.heapsnapshot`)));
  }
  return {
    heapUsedBytes: process.memoryUsage().heapUsed,
    records: live.length,
    leaked: leaked.length,
    fileBytes: files.map((f) => statSync(f).size),
    writeMs: performance.now() - started,
  };
}

async function analyze(dir: string): Promise<unknown> {
  const started = performance.now();
  const files = ['baseline', 'target', 'final'].map((n) => join(dir, `${n}.heapsnapshot`)) as [string, string, string];
  const analysis = await analyzeSnapshots(files);
  return {
    elapsedMs: performance.now() - started,
    // ru_maxrss, in KiB on Linux: the most this process ever held in memory.
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    leakedClasses: analysis.leakedClasses.map((c) => ({ className: c.className, count: c.count, bytes: c.bytes, retainerPath: c.retainerPath })),
    programBytes: analysis.programBytes,
  };
}

const [mode, dir, size] = process.argv.slice(2);
const result = mode === 'make' ? make(dir, Number(size)) : await analyze(dir);
process.stdout.write(`${JSON.stringify(result)}\n`);

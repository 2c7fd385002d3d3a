// The leak detector's validation (npm run test:slow): the verdicts hold run after run.
import test from 'ava';
import { detectLeak, DEFAULT_LEAK_OPTIONS, type LeakReport } from '../../src/profiling/leak.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RUNS = 5;

async function leakRuns(scenario: string, settings: Record<string, string> = {}, tuning: Partial<typeof DEFAULT_LEAK_OPTIONS> = {}): Promise<LeakReport[]> {
  const reports: LeakReport[] = [];
  for (let i = 0; i < RUNS; i++) {
    reports.push(await detectLeak({ ...DEFAULT_LEAK_OPTIONS, ...tuning, scenario, settings, target: { kind: 'in-process' }, seed: i + 1, outDir: join(mkdtempSync(join(tmpdir(), 'agentperf-leak-')), 'snapshots') }));
  }
  return reports;
}

test.serial('a 1 KiB-per-iteration leak is found within 300 iterations, and named, in 5 of 5 runs', async (t) => {
  const reports = await leakRuns('test/fixtures/scenarios/leaky.ts');
  for (const r of reports) {
    t.is(r.verdict, 'LEAK');
    t.is(r.points.at(-1)!.iterations, 300);
    t.true(r.leakedClasses!.some((c) => c.className === 'LeakyRecord'));
    t.true(r.programBytesPerIteration! > 900, String(r.programBytesPerIteration));
  }
});

test.serial('the cache-hit scenario is CLEAN in 5 of 5 runs', async (t) => {
  for (const r of await leakRuns('cache-hit')) t.is(r.verdict, 'CLEAN', JSON.stringify(r.slope));
});

test.serial('the mixed scenario, its cache bounded at 16 KiB, is CLEAN in 5 of 5 runs', async (t) => {
  // The bound fills during the warmup rounds; after that every new answer evicts an old one.
  // Calls that go upstream keep the JIT compiling for several hundred iterations: when the
  // slope is above the threshold, the snapshots show only V8's code and metadata growing.
  for (const r of await leakRuns('mixed', { cacheMaxBytes: '16kb' }, { concurrency: 10 })) {
    t.is(r.verdict, 'CLEAN', JSON.stringify({ slope: r.slope, kept: r.programBytesPerIteration, classes: r.leakedClasses?.map((c) => [c.className, c.count, c.bytes]) }));
  }
});

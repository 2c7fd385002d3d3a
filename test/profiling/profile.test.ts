import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenarioModule } from '../../src/scenarios/index.ts';
import { rootLogger } from '../../src/logger.ts';
import { findBottlenecks, foldedStacks, sampleDurationsUs, sourceLocation } from '../../src/profiling/analyze.ts';
import { withCpuProfile, type CpuProfile } from '../../src/profiling/cpu.ts';
import { profileScenario } from '../../src/profiling/profile-run.ts';
import { burnCpu } from '../fixtures/scenarios/hot.ts';
import type { ProfileIndex } from '../../src/profiling/profile-run.ts';

const HOT = 'test/fixtures/scenarios/hot.ts';

test('a profiled scenario names its hot function with the TypeScript file and line, and writes every artifact', async (t) => {
  const dir = join(mkdtempSync(join(tmpdir(), 'agentperf-profile-')), 'run');
  const scenario = await loadScenarioModule(HOT);
  const index = await profileScenario({
    scenario,
    context: { target: { kind: 'in-process' }, settings: {}, seed: 1, log: rootLogger },
    shape: { kind: 'closed', vus: 1, durationMs: 1500 },
    warmupMs: 0,
    cpu: true,
    heap: true,
    snapshot: false,
    cpuIntervalUs: 500,
    heapIntervalBytes: 32 * 1024,
    outDir: dir,
  });
  // The hot loop is line 6 of the fixture; the function starts on line 4.
  const top3 = index.bottlenecks!.bySelf.slice(0, 3);
  const hot = top3.find((f) => f.name === 'burnCpu');
  t.truthy(hot, JSON.stringify(top3));
  t.regex(hot!.location, /^test\/fixtures\/scenarios\/hot\.ts:[4-7]$/);
  t.true(hot!.selfPct > 20, `${hot!.selfPct}%`);

  const files = (await readdir(dir)).sort();
  t.deepEqual(files, [
    'allocation-sites.json',
    'bottlenecks.json',
    'cpu.cpuprofile',
    'cpu.folded',
    'flamegraph.html',
    'heap.heapprofile',
    'index.json',
    'load.json',
  ]);
  const profile = JSON.parse(await readFile(join(dir, 'cpu.cpuprofile'), 'utf8')) as CpuProfile;
  t.true(profile.nodes.length > 10);
  t.is(profile.samples.length, profile.timeDeltas.length);
  t.true(profile.samples.length > 100);
  t.true(profile.endTime > profile.startTime);
  const html = await readFile(join(dir, 'flamegraph.html'), 'utf8');
  t.regex(html, /<html/i);
  t.true(html.includes('burnCpu'));
  t.regex(await readFile(join(dir, 'cpu.folded'), 'utf8'), /burnCpu test\/fixtures\/scenarios\/hot\.ts:\d+ \d+\n/);

  // The allocation site is named too.
  const site = index.allocationSites!.find((s) => s.name === 'allocateRecords');
  t.truthy(site, JSON.stringify(index.allocationSites!.slice(0, 5)));
  t.regex(site!.location, /^test\/fixtures\/scenarios\/hot\.ts:1[0-3]$/);
  const written = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as ProfileIndex;
  t.is(written.schema, 'agentperf.profile/v1');
  t.deepEqual(
    written.artifacts.map((a: { file: string }) => a.file).sort(),
    files.filter((f) => f !== 'index.json'),
  );
});

test('withCpuProfile wraps a function and returns its result with the profile', async (t) => {
  const { result, profile } = await withCpuProfile(() => burnCpu(3_000_000), { intervalUs: 200 });
  t.is(typeof result, 'number');
  const bottlenecks = findBottlenecks(profile);
  t.is(bottlenecks.bySelf[0].name, 'burnCpu');
});

// A profile small enough to work by hand: root -> main -> (a, b); samples a, a, b, main, (gc).
const handProfile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: { functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 }, children: [2, 5] },
    { id: 2, callFrame: { functionName: 'main', scriptId: '1', url: 'file:///app/main.js', lineNumber: 0, columnNumber: 0 }, children: [3, 4] },
    { id: 3, callFrame: { functionName: 'a', scriptId: '1', url: 'file:///app/main.js', lineNumber: 9, columnNumber: 0 } },
    { id: 4, callFrame: { functionName: 'b', scriptId: '1', url: 'file:///app/main.js', lineNumber: 19, columnNumber: 0 } },
    { id: 5, callFrame: { functionName: '(garbage collector)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 } },
  ],
  startTime: 0,
  endTime: 5000,
  samples: [3, 3, 4, 2, 5],
  timeDeltas: [0, 1000, 1000, 1000, 1000],
};

test('self and total time, GC apart, from a hand-worked profile', (t) => {
  t.deepEqual(sampleDurationsUs(handProfile), [1000, 1000, 1000, 1000, 1000]);
  const b = findBottlenecks(handProfile);
  t.is(b.totalMs, 5);
  t.is(b.gcMs, 1);
  const self = Object.fromEntries(b.bySelf.map((f) => [f.name, f.selfMs]));
  t.deepEqual(self, { a: 2, b: 1, main: 1 });
  const total = Object.fromEntries(b.byTotal.map((f) => [f.name, f.totalMs]));
  t.deepEqual(total, { main: 4, a: 2, b: 1 });
  t.is(b.bySelf[0].location, '/app/main.js:10');
  t.is(b.bySelf[0].selfPct, 40);
});

test('folded stacks count samples per stack', (t) => {
  const lines = foldedStacks(handProfile).trim().split('\n').sort();
  t.deepEqual(lines, ['(garbage collector) 1', 'main /app/main.js:1 1', 'main /app/main.js:1;a /app/main.js:10 2', 'main /app/main.js:1;b /app/main.js:20 1']);
});

test('a profile run killed with SIGKILL at any moment leaves no run directory without index.json; one that cannot make its directory is AP_ERR_WRITE', async (t) => {
  const { spawn } = await import('node:child_process');
  const { existsSync, readdirSync, writeFileSync } = await import('node:fs');
  const root = mkdtempSync(join(tmpdir(), 'agentperf-profile-kill-'));
  const cli = new URL('../../bin/agentperf.js', import.meta.url).pathname;
  // Killed at several moments of a 2 s run: setup, under load, while writing the artifacts.
  for (const afterMs of [700, 1_600, 2_600, 3_200]) {
    const out = join(root, `run-${afterMs}`);
    const child = spawn(process.execPath, [cli, 'profile', HOT, '--duration', '2s', '--vus', '1', '--out', out], {
      env: { ...process.env, AGENTPERF_LOG_LEVEL: 'silent' },
      stdio: 'ignore',
    });
    await new Promise((resolve) => setTimeout(resolve, afterMs));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('close', resolve));
    if (existsSync(out))
      t.true(existsSync(join(out, 'index.json')), `killed after ${afterMs} ms: ${out} exists without index.json (${readdirSync(out).join(', ')})`);
  }
  // Whatever was killed is hidden (a dot directory), never under a run's name.
  t.deepEqual(
    readdirSync(root).filter((name) => !name.startsWith('.') && !existsSync(join(root, name, 'index.json'))),
    [],
  );

  const blocker = join(root, 'a-file');
  writeFileSync(blocker, 'not a directory');
  const scenario = await loadScenarioModule(HOT);
  const error = await t.throwsAsync(
    profileScenario({
      scenario,
      context: { target: { kind: 'in-process' }, settings: {}, seed: 1, log: rootLogger },
      shape: { kind: 'closed', vus: 1, durationMs: 100 },
      warmupMs: 0,
      cpu: true,
      heap: false,
      snapshot: false,
      cpuIntervalUs: 500,
      heapIntervalBytes: 32 * 1024,
      outDir: join(blocker, 'run'),
    }),
  );
  t.is((error as { code?: string }).code, 'AP_ERR_WRITE');
  t.regex(error.message, /could not write .*a-file/);
});

test("source locations are relative to the project's root, whatever directory the command runs in", async (t) => {
  const frame = (url: string) => ({ functionName: 'handle', scriptId: '1', url, lineNumber: 29, columnNumber: 0 });
  t.is(sourceLocation(frame('file:///work/app/src/service.js'), '/work/app'), 'src/service.js:30');
  t.is(sourceLocation(frame('file:///work/app/src/service.js'), '/work/app/'), 'src/service.js:30');
  t.is(sourceLocation(frame('file:///elsewhere/lib.js'), '/work/app'), '/elsewhere/lib.js:30', 'outside the project: the whole path');
  t.is(sourceLocation(frame('node:internal/timers'), '/work/app'), 'node:internal/timers:30');

  // The CLI, run from a subdirectory of this repository (its project root holds agentperf.config.json).
  const { execFile } = await import('node:child_process');
  const cwd = new URL('../fixtures/', import.meta.url).pathname;
  const out = join(mkdtempSync(join(tmpdir(), 'agentperf-profile-root-')), 'run');
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      [
        new URL('../../bin/agentperf.js', import.meta.url).pathname,
        'profile',
        'scenarios/hot.ts',
        '--cpu',
        '--duration',
        '1s',
        '--vus',
        '1',
        '--out',
        out,
        '--json',
      ],
      { cwd, env: { ...process.env, AGENTPERF_LOG_LEVEL: 'silent' }, timeout: 60_000 },
      (error, output, stderr) => (error ? reject(new Error(stderr)) : resolve(output)),
    ),
  );
  const index = JSON.parse(stdout) as { bottlenecks: { bySelf: Array<{ name: string; location: string }> } };
  const hot = index.bottlenecks.bySelf.find((f) => f.name === 'burnCpu');
  t.regex(hot?.location ?? '', /^test\/fixtures\/scenarios\/hot\.ts:\d+$/, JSON.stringify(index.bottlenecks.bySelf.slice(0, 3)));
});

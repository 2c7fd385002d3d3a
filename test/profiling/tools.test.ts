import test from 'ava';
import { runCli } from '../helpers.ts';
import { mkdtempSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProfileIndex } from '../../src/profiling/profile-run.ts';

// A program with one hot, named function, for the whole-process tools.
const program = 'function spinHotLoop(end) { let x = 0; while (Date.now() < end) x += Math.sqrt(x + 1); return x; } spinHotLoop(Date.now() + 1500);';

const run = (args: string[], cwd?: string) => runCli(args, { cwd });

test('flame runs 0x around a command and writes a flamegraph that names its hot function', async (t) => {
  const out = join(mkdtempSync(join(tmpdir(), 'agentperf-flame-')), 'flame');
  const { code, stdout, stderr } = await run(['flame', '--out', out, '--', 'node', '-e', program]);
  t.is(code, 0, stderr);
  t.regex(stdout, /flamegraph written under/);
  const html = await readFile(join(out, 'flamegraph.html'), 'utf8');
  t.true(html.includes('spinHotLoop'));
});

test('doctor runs clinic doctor around a command and writes its report', async (t) => {
  const out = join(mkdtempSync(join(tmpdir(), 'agentperf-doctor-')), 'doctor');
  const { code, stderr } = await run(['doctor', '--out', out, '--', 'node', '-e', program]);
  t.is(code, 0, stderr);
  const files = await readdir(out);
  t.true(
    files.some((f) => f.endsWith('.clinic-doctor.html')),
    files.join(', '),
  );
});

test('profile writes into profiles/<scenario>/<timestamp>/ with an index of its artifacts', async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'agentperf-profile-cwd-'));
  const fixture = fileURLToPath(new URL('../fixtures/scenarios/hot.ts', import.meta.url));
  const { code, stdout, stderr } = await run(['profile', fixture, '--cpu', '--duration', '1s', '--vus', '1'], cwd);
  t.is(code, 0, stderr);
  t.regex(stdout, /by self time/);
  t.regex(stdout, /burnCpu/);
  const [stamp] = await readdir(join(cwd, 'profiles', 'hot'));
  const dir = join(cwd, 'profiles', 'hot', stamp);
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as ProfileIndex;
  t.is(index.schema, 'agentperf.profile/v1');
  // --cpu alone: no heap artifacts.
  t.deepEqual(index.artifacts.map((a: { kind: string }) => a.kind).sort(), ['bottlenecks', 'cpuprofile', 'flamegraph', 'folded', 'load']);
  t.deepEqual((await readdir(dir)).sort(), ['bottlenecks.json', 'cpu.cpuprofile', 'cpu.folded', 'flamegraph.html', 'index.json', 'load.json']);
});

test('bad profiling input exits 2', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['profile', 'cache-hit', '--interval', '5s'], /interval must be an interval from 10us to 1000ms/],
    [['profile', 'nope'], /scenario must be one of/],
    [['flame'], /error: missing required argument 'command'/],
  ];
  for (const [args, message] of cases) {
    const { code, stderr } = await run(args);
    t.is(code, 2, args.join(' '));
    t.regex(stderr, message, args.join(' '));
  }
});

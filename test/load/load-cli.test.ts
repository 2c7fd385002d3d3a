import test from 'ava';
import { runCli } from '../helpers.ts';
import { mkdtempSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadReport } from '../../src/load/load-report.ts';
import type { PercentileSnapshot } from '../../src/stats/hdr.ts';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/scenarios/${name}`, import.meta.url));

const run = (args: string[]) => runCli(args);

test('load runs a user scenario module at a constant rate and writes JSON, CSV and an HDR log', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'agentperf-load-'));
  const [json, csv, hdr] = ['run.json', 'run.csv', 'run.hdr'].map((f) => join(dir, f));
  const { code, stdout, stderr } = await run([
    'load',
    fixture('sleepy.ts'),
    '--rate',
    '200',
    '--duration',
    '1s',
    '--warmup',
    '200ms',
    '--json',
    json,
    '--csv',
    csv,
    '--hdr',
    hdr,
    '--threshold',
    'p99<1s',
    '--threshold',
    'error_rate<5%',
  ]);
  t.is(code, 0, stderr);
  t.regex(stdout, /scenario sleepy \(open loop, constant 200\/s for 1s\)/);
  t.regex(stdout, /corrected \(from intended start\)/);
  const report = JSON.parse(await readFile(json, 'utf8')) as LoadReport;
  t.is(report.schema, 'agentperf.load/v1');
  t.is(report.result.scheduled, 200);
  t.is(report.result.completed, 200);
  t.is(report.result.errors, 4);
  t.deepEqual(report.result.errorsByType, { E_FIFTIETH: 4 });
  t.true(report.passed);
  t.deepEqual(
    report.thresholds.map((o: { passed: boolean }) => o.passed),
    [true, true],
  );
  // The service time is at least the 2 ms the scenario waits.
  t.true(report.result.serviceTime.p50 >= 2);
  // One CSV row per measured iteration, after the header.
  const rows = (await readFile(csv, 'utf8')).trim().split('\n');
  t.is(rows[0], 'iteration,intended_ms,start_ms,end_ms,latency_ms,service_ms,error');
  t.is(rows.length, 201);
  t.is(rows.filter((r) => r.endsWith(',E_FIFTIETH')).length, 4);
  // Nothing else (no temporary files) is left in the directory.
  t.deepEqual((await readdir(dir)).sort(), ['run.csv', 'run.hdr', 'run.json']);

  // Two logs merge into one histogram with both runs' counts.
  const merged = await run(['load', 'merge', hdr, hdr, '--json']);
  t.is(merged.code, 0, merged.stderr);
  const result = JSON.parse(merged.stdout) as { latency: PercentileSnapshot; serviceTime: PercentileSnapshot };
  t.is(result.latency.count, 400);
  t.is(result.serviceTime.count, 400);
  t.true(Math.abs(result.latency.p50 - report.result.latency.p50) <= report.result.latency.p50 * 0.01);
});

test('a failed threshold exits 1 and says which', async (t) => {
  const { code, stdout } = await run([
    'load',
    fixture('sleepy.ts'),
    '--rate',
    '100',
    '--duration',
    '500ms',
    '--warmup',
    '0s',
    '--threshold',
    'throughput>100000',
    '--no-progress',
  ]);
  t.is(code, 1);
  t.regex(stdout, /throughput>100000\s*│\s*[\d.]+\s*│\s*FAIL/);
});

test('bad load input exits 2 naming the field and the rule', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['load', 'cache-hit', '--threshold', 'p95<fast'], /AP_ERR_THRESHOLD: threshold "p95<fast"/],
    [['load', 'nope'], /AP_ERR_SCENARIO: scenario must be one of (?=.*cache-hit)(?=.*mixed)(?=.*http).* or a module file/],
    [['load', 'cache-hit', '--pattern', 'zigzag', '--rate', '5'], /pattern must be one of constant, ramp, spike, step, stages/],
    [['load', 'cache-hit'], /--rate is required/],
    [['load', 'cache-hit', '--pattern', 'step', '--stages', '5->9:1s'], /step stages are constant/],
    [['load', 'cache-hit', '--rate', '5', '--duration', 'soon'], /duration must be a duration/],
    [['load', fixture('no-run.ts'), '--rate', '5'], /AP_ERR_SCENARIO: .*run must be a function/],
    [['load', 'http', '--rate', '5', '--set', 'url=ftp://x'], /url must use http or https/],
    [['load', 'cache-hit', '--rate', '5', '--target', 'not a url'], /target must be an http\(s\) URL/],
    [['load', 'merge', fixture('sleepy.ts')], /AP_ERR_HDR_LOG/],
  ];
  for (const [args, message] of cases) {
    const { code, stderr } = await run(args);
    t.is(code, 2, args.join(' '));
    t.regex(stderr, message, args.join(' '));
  }
});

test('a scenario whose setup fails leaves no half-written output behind', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'agentperf-load-'));
  const { code, stderr } = await run([
    'load',
    fixture('failing-setup.ts'),
    '--rate',
    '10',
    '--duration',
    '1s',
    '--csv',
    join(dir, 'out.csv'),
    '--json',
    join(dir, 'out.json'),
  ]);
  t.is(code, 4, 'a measurement that could not start is a tool failure, not a failed run');
  t.regex(
    stderr,
    /^agentperf: AP_ERR_SCENARIO_SETUP: the setup of scenario "failing-setup" threw: setup could not reach its target \(at .*failing-setup\.ts:\d+:\d+\)\n$/,
  );
  t.deepEqual(await readdir(dir), []);
});

test('the scaling study runs each concurrency closed-loop and prints the speedup', async (t) => {
  const { code, stdout, stderr } = await run(['load', fixture('sleepy.ts'), '--scaling', '1,4', '--duration', '500ms', '--warmup', '0s']);
  t.is(code, 0, stderr);
  t.regex(stdout, /scaling study, scenario sleepy \(closed loop\)/);
  const speedup = /│ 4\s*│[^\n]*│\s*([\d.]+)x/.exec(stdout);
  t.truthy(speedup, stdout);
  // Four users waiting 2 ms each go about four times as fast as one.
  t.true(Number(speedup![1]) > 2.5, stdout);
});

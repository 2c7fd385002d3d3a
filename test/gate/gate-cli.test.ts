import test from 'ava';
import { runCli } from '../helpers.ts';
import { mkdtempSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlockResult } from '../../src/measure/block.ts';

const run = (args: string[]) => runCli(args);

test('the gate without a baseline, or against a ref that does not exist, exits 2 and says what to do', async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'agentperf-baselines-'));
  const none = await run(['gate', '--baselines', empty]);
  t.is(none.code, 2);
  t.regex(none.stderr, /AP_ERR_NO_BASELINE: no baseline for scenario mixed .*agentperf baseline update/);
  const ref = await run(['gate', '--against', 'no-such-ref-anywhere']);
  t.is(ref.code, 2);
  t.regex(ref.stderr, /AP_ERR_GIT_REF: --against "no-such-ref-anywhere" is not a commit/);
  const shown = await run(['baseline', 'show', '--baselines', empty]);
  t.is(shown.code, 0);
  t.regex(shown.stdout, /no baselines stored/);
});

test('a gate of a scenario the policy does not measure exits 2 naming the ones it does: never an empty PASS', async (t) => {
  for (const args of [
    ['gate', '--scenario', './scenarios/answer.ts'],
    ['gate', '--scenario', 'mixd', '--json', join(mkdtempSync(join(tmpdir(), 'agentperf-gate-')), 'g.json')],
    ['baseline', 'update', '--scenario', 'nope'],
  ]) {
    const { code, stdout, stderr } = await run(args);
    t.is(code, 2, args.join(' '));
    t.regex(stderr, /AP_ERR_SCENARIO: scenario must be one the gate policy measures \(mixed\), got "/, args.join(' '));
    t.notRegex(stdout, /PASS/);
  }
  const dir = mkdtempSync(join(tmpdir(), 'agentperf-policy-'));
  await writeFile(join(dir, 'none.json'), JSON.stringify({ scenarios: [] }));
  const none = await run(['gate', '--policy', join(dir, 'none.json')]);
  t.is(none.code, 2);
  t.regex(none.stderr, /AP_ERR_CONFIG: .*scenarios/);
});

test('a bad policy file exits 2 naming the field', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'agentperf-policy-'));
  await writeFile(join(dir, 'p.json'), JSON.stringify({ alpha: 2 }));
  const { code, stderr } = await run(['gate', '--policy', join(dir, 'p.json')]);
  t.is(code, 2);
  t.regex(stderr, /AP_ERR_CONFIG: .*p\.json: alpha/);
});

test('one gate block runs in its own process and reports every metric', async (t) => {
  const { code, stdout, stderr } = await run([
    'gate',
    'block',
    JSON.stringify({ scenario: 'synthetic', settings: { work: '20000' }, vus: 1, warmupMs: 100, durationMs: 300, instrumented: false, seed: 1 }),
  ]);
  t.is(code, 0, stderr);
  const block = JSON.parse(stdout) as BlockResult & Record<string, unknown>;
  for (const key of ['p50Ms', 'p95Ms', 'p99Ms', 'throughput', 'completed', 'errors', 'peakRssBytes', 'heapAfterGcBytes'])
    t.is(typeof block[key], 'number', key);
  t.true(block.completed > 100);
  t.is(block.errors, 0);
});

import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exitCodeFor } from '../../src/commands/gate.ts';
import { findBaseline, writeBaseline, type Baseline } from '../../src/gate/baseline.ts';
import type { BlockResult } from '../../src/gate/block.ts';
import { currentFingerprint, fingerprintDifferences } from '../../src/gate/fingerprint.ts';
import { DEFAULT_POLICY, loadPolicy } from '../../src/config/policy.ts';
import type { GateResult } from '../../src/gate/run.ts';
import { judge } from '../../src/gate/verdict.ts';
import { mulberry32 } from '../../src/random.ts';
import { formatGateMarkdown } from '../../src/report/gate.ts';

/** Blocks around a center with a deterministic ±1% wiggle. */
function blocks(n: number, scale: { latency?: number; throughput?: number; errors?: number; rss?: number } = {}, seed = 1): BlockResult[] {
  const random = mulberry32(seed);
  const w = () => 1 + (random() - 0.5) * 0.02;
  return Array.from({ length: n }, () => ({
    p50Ms: 40 * (scale.latency ?? 1) * w(),
    p95Ms: 120 * (scale.latency ?? 1) * w(),
    p99Ms: 200 * (scale.latency ?? 1) * w(),
    throughput: 400 * (scale.throughput ?? 1) * w(),
    completed: 1000,
    errors: scale.errors ?? 0,
    peakRssBytes: 200 * 2 ** 20 * (scale.rss ?? 1) * w(),
    heapAfterGcBytes: 30 * 2 ** 20 * w(),
  }));
}

const policy = { ...DEFAULT_POLICY, slos: {} };
const verdictOf = (j: ReturnType<typeof judge>, metric: string) => j.metrics.find((m) => m.metric === metric)!.verdict;

test('identical distributions PASS every metric', (t) => {
  const j = judge('mixed', blocks(9, {}, 1), blocks(7, {}, 2), false, policy, mulberry32(1));
  t.is(j.overall, 'PASS', JSON.stringify(j.metrics.map((m) => [m.metric, m.verdict, m.low, m.high])));
});

test('a 30% slower candidate FAILs on latency and throughput, not on memory', (t) => {
  const j = judge('mixed', blocks(9, {}, 1), blocks(7, { latency: 1.3, throughput: 1 / 1.3 }, 2), false, policy, mulberry32(1));
  t.is(j.overall, 'FAIL');
  for (const m of ['p50', 'p95', 'p99', 'throughput']) t.is(verdictOf(j, m), 'FAIL', m);
  t.is(verdictOf(j, 'peakRss'), 'PASS');
  const p50 = j.metrics.find((m) => m.metric === 'p50')!;
  t.true(Math.abs(p50.changePct - 30) < 2, String(p50.changePct));
});

test('a regression about the size of the tolerance is INCONCLUSIVE, not a false alarm', (t) => {
  const j = judge('mixed', blocks(9, {}, 1), blocks(7, { latency: 1.1, throughput: 1 / 1.1 }, 2), false, policy, mulberry32(1));
  t.is(verdictOf(j, 'p50'), 'INCONCLUSIVE');
  t.not(j.overall, 'FAIL');
});

test('memory: a 20% rise that is under the byte floor passes; over it, fails', (t) => {
  const small = { ...policy, floors: { ...policy.floors, peakRssBytes: 64 * 2 ** 20 } };
  t.is(verdictOf(judge('mixed', blocks(9), blocks(7, { rss: 1.2 }, 2), false, small, mulberry32(1)), 'peakRss'), 'PASS');
  t.is(verdictOf(judge('mixed', blocks(9), blocks(7, { rss: 1.2 }, 2), false, policy, mulberry32(1)), 'peakRss'), 'FAIL');
});

test('error rate: 5% errors against none is a FAIL; a clean run of few iterations is not yet a PASS', (t) => {
  t.is(verdictOf(judge('mixed', blocks(9), blocks(7, { errors: 50 }, 2), false, policy, mulberry32(1)), 'errorRate'), 'FAIL');
  const few = blocks(3, {}, 2).map((b) => ({ ...b, completed: 100 }));
  t.is(verdictOf(judge('mixed', blocks(9), few, false, policy, mulberry32(1)), 'errorRate'), 'INCONCLUSIVE');
});

test('overhead is judged against an absolute limit from interleaved blocks', (t) => {
  const plain = [400, 402, 398, 401, 399, 400];
  t.is(verdictOf(judge('mixed', blocks(9), blocks(7, {}, 2), false, policy, mulberry32(1), { plain, instrumented: plain.map((v) => v * 0.99) }), 'overhead'), 'PASS');
  t.is(verdictOf(judge('mixed', blocks(9), blocks(7, {}, 2), false, policy, mulberry32(1), { plain, instrumented: plain.map((v) => v * 0.8) }), 'overhead'), 'FAIL');
});

test('SLOs are absolute limits on the candidate', (t) => {
  const withSlo = { ...policy, slos: { mixed: { p95Ms: 100, throughput: 5 } } };
  const j = judge('mixed', blocks(9), blocks(7, {}, 2), false, withSlo, mulberry32(1));
  t.is(verdictOf(j, 'slo.p95'), 'FAIL');
  t.is(verdictOf(j, 'slo.throughput'), 'PASS');
  t.is(j.overall, 'FAIL');
});

test('exit codes: 0 pass, 1 regression, 3 inconclusive unless the policy says otherwise', (t) => {
  const result = (overall: GateResult['overall']): GateResult => ({ schema: 'agentperf.gate/v1', overall, scenarios: [], elapsedMs: 0 });
  t.is(exitCodeFor(result('PASS'), policy), 0);
  t.is(exitCodeFor(result('FAIL'), policy), 1);
  t.is(exitCodeFor(result('INCONCLUSIVE'), policy), 3);
  t.is(exitCodeFor(result('INCONCLUSIVE'), { ...policy, inconclusive: 'pass' }), 0);
  t.is(exitCodeFor(result('INCONCLUSIVE'), { ...policy, inconclusive: 'fail' }), 1);
});

test('a baseline from another fingerprint is refused, with the differences and the paired mode named', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'agentperf-baselines-'));
  const other = { ...currentFingerprint(), cpuModel: 'Some Other CPU', node: 'v99.0.0' };
  const baseline: Baseline = { schema: 'agentperf.baseline/v1', scenario: 'mixed', fingerprint: other, createdAt: '2026-11-23T00:00:00.000Z', spec: { scenario: 'mixed', settings: {}, vus: 20, warmupMs: 1000, durationMs: 2000, seed: 1 }, blocks: blocks(5) };
  await writeBaseline(dir, baseline);
  const error = await t.throwsAsync(findBaseline(dir, 'mixed', currentFingerprint()));
  t.is((error as { code?: string }).code, 'AP_ERR_BASELINE_FINGERPRINT');
  t.regex(error!.message, /cpuModel: Some Other CPU → /);
  t.regex(error!.message, /gate --against <git-ref>/);
  t.deepEqual(fingerprintDifferences(other, other), []);
  // The same fingerprint is found.
  await writeBaseline(dir, { ...baseline, fingerprint: currentFingerprint() });
  t.is((await findBaseline(dir, 'mixed', currentFingerprint())).blocks.length, 5);
  const missing = await t.throwsAsync(findBaseline(dir, 'cache-hit', currentFingerprint()));
  t.is((missing as { code?: string }).code, 'AP_ERR_NO_BASELINE');
});

test('the Markdown report has a row per metric with the verdict, and the profile on FAIL', (t) => {
  const j = judge('mixed', blocks(9), blocks(7, { latency: 1.3, throughput: 1 / 1.3 }, 2), false, policy, mulberry32(1));
  const md = formatGateMarkdown({
    schema: 'agentperf.gate/v1',
    overall: j.overall,
    scenarios: [{ scenario: 'mixed', mode: 'baseline', judgement: j, baselineBlocks: 9, candidateBlocks: 7, profile: [{ name: 'slowPath', location: 'src/x.ts:12', selfMs: 10, totalMs: 10, selfPct: 30, totalPct: 30, baselineSelfPct: 10 }] }],
    elapsedMs: 1000,
  });
  t.regex(md, /^## agentperf gate: ❌ FAIL/);
  t.regex(md, /\| p50 \| 40\.\d ms \| 5\d\.\d ms \| \+\d+\.\d% \| \[\+\d+\.\d%, \+\d+\.\d%\] \(limit \+10%\) \| ❌ FAIL \| 7 \|/);
  t.regex(md, /\| `slowPath` \| src\/x\.ts:12 \| 30\.0% \| 10\.0% \(\+20\.0 points\) \|/);
});

test('a bad policy is refused naming the field', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'agentperf-policy-'));
  const file = join(dir, 'policy.json');
  await writeFile(file, JSON.stringify({ tolerances: { p95: -1 } }));
  const error = await t.throwsAsync(loadPolicy(file));
  t.is((error as { code?: string }).code, 'AP_ERR_CONFIG');
  t.regex(error!.message, /tolerances\.p95/);
  await writeFile(file, JSON.stringify({ tolerances: { p95: 0.05 } }));
  const merged = await loadPolicy(file);
  t.is(merged.tolerances.p95, 0.05);
  t.is(merged.tolerances.p50, 0.1);
});

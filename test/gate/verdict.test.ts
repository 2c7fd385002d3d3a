import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exitCodeFor } from '../../src/commands/gate.ts';
import { DEFAULT_POLICY, loadPolicy, PolicySchema } from '../../src/config/policy.ts';
import { currentFingerprint, fingerprintId, memoryClassGiB } from '../../src/gate/fingerprint.ts';
import type { GateResult } from '../../src/gate/run.ts';
import { judge, looksOf, type JudgeInput } from '../../src/gate/verdict.ts';
import type { BlockResult } from '../../src/measure/block.ts';
import type { Slice } from '../../src/measure/slices.ts';
import { policyChanges } from '../../src/gate/policy-source.ts';
import { wilsonUpper } from '../../src/stats/counts.ts';
import { mulberry32 } from '../../src/random.ts';
import { formatChange, formatChangeInterval } from '../../src/report/change.ts';
import { formatGateMarkdown } from '../../src/report/gate.ts';

interface Scale {
  latency?: number;
  throughput?: number;
  cpu?: number;
  errors?: number;
  rss?: number;
  /** Spread of each block around its center: 0.02 is ±1%. */
  wiggle?: number;
}

/** Blocks around a center with a deterministic wiggle. */
function blocks(n: number, scale: Scale = {}, seed = 1): BlockResult[] {
  const random = mulberry32(seed);
  const w = () => 1 + (random() - 0.5) * (scale.wiggle ?? 0.02);
  return Array.from({ length: n }, () => ({
    p50Ms: 40 * (scale.latency ?? 1) * w(),
    p95Ms: 120 * (scale.latency ?? 1) * w(),
    p99Ms: 200 * (scale.latency ?? 1) * w(),
    throughput: 400 * (scale.throughput ?? 1) * w(),
    completed: 1000,
    errors: scale.errors ?? 0,
    peakRssBytes: 200 * 2 ** 20 * (scale.rss ?? 1) * w(),
    heapAfterGcBytes: 30 * 2 ** 20 * w(),
    cpuUsPerIteration: 900 * (scale.cpu ?? 1) * w(),
    busyUsPerIteration: 500 * (scale.cpu ?? 1) * w(),
    busySource: 'thread-cpu' as const,
  }));
}

const policy = { ...DEFAULT_POLICY, slos: {} };
const input = (baseline: BlockResult[], candidate: BlockResult[], extra: Partial<JudgeInput> = {}): JudgeInput => ({
  scenario: 'mixed',
  baseline,
  candidate,
  paired: false,
  policy,
  looks: looksOf(policy),
  ...extra,
});
const verdictOf = (j: ReturnType<typeof judge>, metric: string) => j.metrics.find((m) => m.metric === metric)!;

test('identical distributions PASS every metric', (t) => {
  const j = judge(input(blocks(9, {}, 1), blocks(7, {}, 2)));
  t.is(j.overall, 'PASS', JSON.stringify(j.metrics.map((m) => [m.metric, m.verdict, m.reason])));
});

test('a 30% slower candidate FAILs on latency and throughput, not on memory; changes are worded in their natural direction', (t) => {
  const j = judge(input(blocks(9, {}, 1), blocks(7, { latency: 1.3, throughput: 1 / 1.3 }, 2)));
  t.is(j.overall, 'FAIL');
  for (const m of ['p50', 'p95', 'p99', 'throughput']) t.is(verdictOf(j, m).verdict, 'FAIL', m);
  t.is(verdictOf(j, 'peakRss').verdict, 'PASS');
  const p50 = verdictOf(j, 'p50');
  t.true(Math.abs(p50.changePct - 30) < 2, String(p50.changePct));
  // Throughput 1/1.3 is 23% lower: a drop, never "+30% throughput".
  const throughput = verdictOf(j, 'throughput');
  t.true(Math.abs(throughput.changePct + 23.1) < 1.5, String(throughput.changePct));
  t.regex(formatChange(throughput.changePct, throughput.direction), /^2\d% lower \(worse\)$/);
  t.regex(formatChange(p50.changePct, p50.direction), /^3\d% higher \(worse\)$/);
});

test('the wording of changes and intervals', (t) => {
  t.is(formatChange(-46, 'higher-is-better'), '46% lower (worse)');
  t.is(formatChange(-3.24, 'lower-is-better'), '3.2% lower (better)');
  t.is(formatChange(15, 'lower-is-better'), '15% higher (worse)');
  t.is(formatChange(0.01, 'lower-is-better'), 'no change');
  t.is(formatChangeInterval(12.1, 17.9), '12% to 18% higher');
  t.is(formatChangeInterval(-49.5, -42.1), '42% to 50% lower');
  t.is(formatChangeInterval(-2, 3.1), '2.0% lower to 3.1% higher');
});

test('a regression under the tolerance is never a FAIL: PASS when the interval is within it, INCONCLUSIVE when it reaches past', (t) => {
  const j = judge(input(blocks(9, {}, 1), blocks(7, { latency: 1.05, throughput: 1 / 1.05 }, 2)));
  t.is(verdictOf(j, 'p50').verdict, 'PASS');
  t.not(j.overall, 'FAIL');
  const noisy = judge(input(blocks(9, { wiggle: 0.12 }, 1), blocks(7, { latency: 1.05, throughput: 1 / 1.05, wiggle: 0.12 }, 2)));
  t.is(noisy.overall, 'INCONCLUSIVE');
});

test('a clear regression blocks: interval wholly above zero, estimate beyond the tolerance, even when the interval reaches back under the tolerance', (t) => {
  // 15% slower with ±15% block noise, paired: the interval starts under 10% but above 0.
  const base = blocks(9, { wiggle: 0.3 }, 3);
  const slower = blocks(9, { latency: 1.15, wiggle: 0.3 }, 4);
  const j = judge(input(base, slower, { paired: true, looks: 4 }));
  const p50 = verdictOf(j, 'p50');
  t.true(p50.lowPct > 0 && p50.lowPct < 10 && p50.changePct > 10, `${p50.lowPct} ${p50.changePct}`);
  t.is(p50.verdict, 'FAIL', p50.reason);
});

test('a CPU regression that latency does not show FAILs on CPU per iteration', (t) => {
  const j = judge(input(blocks(9, {}, 1), blocks(7, { cpu: 1.25 }, 2)));
  t.is(verdictOf(j, 'p50').verdict, 'PASS');
  t.is(verdictOf(j, 'cpu').verdict, 'FAIL');
  t.is(verdictOf(j, 'mainThread').verdict, 'FAIL');
  t.is(j.overall, 'FAIL');
});

test('too few blocks, or identical ones, never give a verdict: INCONCLUSIVE saying what it needs', (t) => {
  const one = judge(input(blocks(1, {}, 1), blocks(1, { latency: 2 }, 2), { paired: true }));
  t.is(verdictOf(one, 'p50').verdict, 'INCONCLUSIVE');
  t.regex(verdictOf(one, 'p50').reason, /need 1 more pair/);
  const few = judge(input(blocks(3, {}, 1), blocks(3, { latency: 2 }, 2)));
  t.regex(verdictOf(few, 'p50').reason, /need \d more candidate block/);
  // Identical pairs: a zero-width interval is never a PASS.
  const same = blocks(5, { wiggle: 0 }, 1);
  const flat = judge(input(same, same, { paired: true }));
  t.is(verdictOf(flat, 'p50').verdict, 'INCONCLUSIVE');
  t.regex(verdictOf(flat, 'p50').reason, /zero-width/);
});

test("FAIL's level shrinks with the looks the gate may take (Holm's level is alpha over the looks over the tests)", (t) => {
  const base = blocks(5, { wiggle: 0.16 }, 7);
  const slower = blocks(5, { latency: 1.2, wiggle: 0.16 }, 8);
  const once = judge(input(base, slower, { paired: true, looks: 1 }));
  const many = judge(input(base, slower, { paired: true, looks: 1000 }));
  const p = verdictOf(once, 'p50').p!;
  t.true(p > policy.alpha / 1000 / 10, `p ${p}`);
  t.is(verdictOf(many, 'p50').verdict, 'INCONCLUSIVE');
  t.is(looksOf({ ...policy, blocks: { initial: 5, step: 2, max: 11 } }), 4);
});

test('memory: a 20% rise that is under the byte floor passes; over it, fails', (t) => {
  const small = { ...policy, floors: { ...policy.floors, peakRssBytes: 64 * 2 ** 20 } };
  t.is(verdictOf(judge(input(blocks(9), blocks(7, { rss: 1.2 }, 2), { policy: small })), 'peakRss').verdict, 'PASS');
  t.is(verdictOf(judge(input(blocks(9), blocks(7, { rss: 1.2 }, 2))), 'peakRss').verdict, 'FAIL');
});

test('error rate: 5% errors against none is a FAIL; zero against zero PASSes with the blocks a gate has, saying the floor it could resolve', (t) => {
  t.is(verdictOf(judge(input(blocks(9), blocks(7, { errors: 50 }, 2))), 'errorRate').verdict, 'FAIL');
  // 7 candidate blocks of 1,000 iterations: zero errors rule out a rise of more than 2 x 0.055% = 0.11 points.
  const clean = verdictOf(judge(input(blocks(9), blocks(7, {}, 2))), 'errorRate');
  t.is(clean.verdict, 'PASS', clean.reason);
  t.regex(
    clean.reason,
    /0 errors in 7000 against 0 in 9000: the rise is at most 0\.05 points, within the 0\.11 allowed \(a floor of 0\.11 points, the smallest rise 7000 iterations resolve/,
  );
  // Far fewer iterations (300): still a PASS, with a coarser floor (1.3 points), said as such.
  const few = blocks(3, {}, 2).map((b) => ({ ...b, completed: 100 }));
  const coarse = verdictOf(judge(input(blocks(9), few)), 'errorRate');
  t.is(coarse.verdict, 'PASS', coarse.reason);
  t.true(Math.abs(coarse.tolerancePct - 200 * wilsonUpper(0, 300)) < 1e-6);
  // One stray error is not a regression, and is not forever undecided either.
  const stray = blocks(7, {}, 2).map((b, i) => ({ ...b, errors: i === 0 ? 1 : 0 }));
  t.not(verdictOf(judge(input(blocks(9), stray)), 'errorRate').verdict, 'FAIL');
  t.is(verdictOf(judge(input(blocks(9), stray)), 'errorRate').verdict, 'PASS');
  // 0 to 2 errors in 300 iterations: under the coarse floor a PASS, but a warning says the
  // candidate's rate is higher and these iterations cannot resolve it.
  const twoIn300 = blocks(3, {}, 2).map((b, i) => ({ ...b, completed: 100, errors: i === 0 ? 2 : 0 }));
  const thin = verdictOf(judge(input(blocks(9), twoIn300)), 'errorRate');
  t.not(thin.verdict, 'FAIL');
  if (thin.verdict === 'PASS') t.regex(thin.warning!, /cannot resolve a rise under/);
});

/** Slices of one side's overhead measurement whose instrumented slices are `factor` as fast, with a little noise. */
function slices(factor: number, pairs = 12, seed = 5): Slice[] {
  const random = mulberry32(seed);
  return Array.from({ length: pairs }, () => [
    { instrumented: false, durationMs: 1000 * (1 + (random() - 0.5) * 0.01), iterations: 600, errors: 0, cpuUs: 1, busyUs: 1 },
    { instrumented: true, durationMs: (1000 / factor) * (1 + (random() - 0.5) * 0.01), iterations: 600, errors: 0, cpuUs: 1, busyUs: 1 },
  ]).flat();
}

test('the overhead is judged against the base: within the limit PASS; over it FAIL only when credibly more than the base beyond the tolerance', (t) => {
  // Two processes a side, 6 pairs each (the candidate's 1 pair each when asked for 1).
  const twice = (factor: number, pairs: number, seed: number) => [slices(factor, pairs, seed), slices(factor, pairs, seed + 100)];
  const judgeOverhead = (base: number | undefined, candidate: number, pairs = 6) =>
    verdictOf(
      judge(
        input(blocks(9), blocks(7, {}, 2), {
          overhead: { baseline: base === undefined ? undefined : twice(base, 6, 9), candidate: twice(candidate, pairs, 5) },
        }),
      ),
      'overhead',
    );
  const pass = judgeOverhead(0.99, 0.99);
  t.is(pass.verdict, 'PASS', pass.reason);
  t.true(Math.abs(pass.candidate - 1) < 0.3, String(pass.candidate));
  t.is(pass.warning, undefined);
  t.is(pass.blocks, 2, 'the overhead row counts its processes');
  // 12% lost against the base's 1%: 11 points more, beyond the 5% limit and the 2-point tolerance.
  const costlier = judgeOverhead(0.99, 0.88);
  t.is(costlier.verdict, 'FAIL', costlier.reason);
  t.true(Math.abs(costlier.changePct - 11) < 0.5, String(costlier.changePct));
  // Unchanged code over the limit (19% on both sides, a fast service): never a FAIL, a standing warning.
  const standing = judgeOverhead(0.81, 0.81);
  t.not(standing.verdict, 'FAIL');
  t.is(standing.verdict, 'PASS', standing.reason);
  t.regex(standing.warning!, /^standing: the base's instrumentation already costs 19\.\d% of throughput, over the 5% limit/);
  // Over the limit, only one point above the base's: not blocking, but said.
  const near = judgeOverhead(0.95, 0.94);
  t.is(near.verdict, 'PASS', near.reason);
  t.truthy(near.warning);
  // Without a base figure a limit cannot FAIL anything: beyond it is INCONCLUSIVE, never FAIL.
  t.is(judgeOverhead(undefined, 0.8).verdict, 'INCONCLUSIVE');
  t.is(judgeOverhead(undefined, 0.99).verdict, 'PASS');
  const lonely = verdictOf(judge(input(blocks(9), blocks(7, {}, 2), { overhead: { baseline: twice(0.99, 6, 9), candidate: [slices(0.8, 1)] } })), 'overhead');
  t.is(lonely.verdict, 'INCONCLUSIVE');
  t.regex(lonely.reason, /need 1 more pair/);
  // One candidate process that happened to cost 30% (its JIT, a neighbour in its minutes) next
  // to one at the base's 19%: beyond the tolerance on average, but not in every process: no FAIL.
  const fluke = verdictOf(
    judge(input(blocks(9), blocks(7, {}, 2), { overhead: { baseline: twice(0.81, 6, 9), candidate: [slices(0.81, 6, 5), slices(0.7, 6, 6)] } })),
    'overhead',
  );
  t.not(fluke.verdict, 'FAIL', fluke.reason);
  // The same 30% in both processes: a FAIL, saying it held in every process.
  const real = verdictOf(judge(input(blocks(9), blocks(7, {}, 2), { overhead: { baseline: twice(0.81, 6, 9), candidate: twice(0.7, 6, 5) } })), 'overhead');
  t.is(real.verdict, 'FAIL', real.reason);
  t.regex(real.reason, /in every process/);
});

test('a machine that measures unlike the baseline is not judged: INCONCLUSIVE with the reason', (t) => {
  const j = judge(input(blocks(9), blocks(7, { latency: 2 }, 2), { refusal: 'this machine ran the reference workload 30% slower' }));
  t.is(j.overall, 'INCONCLUSIVE');
  t.is(j.refused, 'this machine ran the reference workload 30% slower');
  t.true(j.metrics.every((m) => m.verdict === 'INCONCLUSIVE'));
});

test('SLOs are judged on both sides: broken by the base too is a standing warning; broken by the candidate alone FAILs only with its metric', (t) => {
  const withSlo = { ...policy, slos: { mixed: { p95Ms: 100, throughput: 5 } } };
  // Both sides at p95 120 ms against an SLO of 100 ms: unchanged code, a standing warning.
  const same = judge(input(blocks(9), blocks(7, {}, 2), { policy: withSlo }));
  t.is(verdictOf(same, 'slo.p95').verdict, 'PASS');
  t.regex(verdictOf(same, 'slo.p95').warning!, /^standing: the base breaks the SLO < 100 ms too/);
  t.is(verdictOf(same, 'slo.throughput').verdict, 'PASS');
  t.is(same.overall, 'PASS');
  // The base meets it (80 ms) and the candidate is 50% slower (120 ms): the p95 FAIL carries the SLO.
  const slower = judge(input(blocks(9, { latency: 2 / 3 }), blocks(7, {}, 2), { policy: withSlo }));
  t.is(verdictOf(slower, 'p95').verdict, 'FAIL');
  t.is(verdictOf(slower, 'slo.p95').verdict, 'FAIL');
  // The base meets it (95 ms), the candidate breaks it within the tolerance (+5%): a warning, not a FAIL.
  // The base meets it (96 ms), the candidate breaks it within the tolerance (+5%, 101 ms): a warning, not a FAIL.
  const near = judge(input(blocks(9, { latency: 0.8 }), blocks(7, { latency: 0.84 }, 2), { policy: withSlo }));
  t.not(verdictOf(near, 'p95').verdict, 'FAIL');
  t.is(verdictOf(near, 'slo.p95').verdict, 'PASS');
  t.regex(verdictOf(near, 'slo.p95').warning!, /breaks the SLO < 100 ms; the base meets it/);
});

test('exit codes: 0 pass, 1 regression, 3 inconclusive unless the policy says otherwise', (t) => {
  const result = (overall: GateResult['overall']): GateResult => ({
    schema: 'agentperf.gate/v3',
    overall,
    mode: 'baseline',
    policy: { origin: 'baseline', where: 'x', changes: [], notes: [] },
    notes: [],
    confidence: 0.95,
    scenarios: [],
    elapsedMs: 0,
  });
  t.is(exitCodeFor(result('PASS'), policy), 0);
  t.is(exitCodeFor(result('FAIL'), policy), 1);
  t.is(exitCodeFor(result('INCONCLUSIVE'), policy), 3);
  t.is(exitCodeFor(result('INCONCLUSIVE'), { ...policy, inconclusive: 'pass' }), 0);
  t.is(exitCodeFor(result('INCONCLUSIVE'), { ...policy, inconclusive: 'fail' }), 1);
});

test('the fingerprint is a class of machine: kernel and patch versions are not in it, memory is a size class', (t) => {
  const f = currentFingerprint();
  t.regex(f.node, /^\d+\.\d+$/);
  t.regex(f.agentperf, /^\d+\.\d+$/);
  t.false('os' in f);
  t.is(memoryClassGiB(23.5 * 2 ** 30), 32);
  t.is(memoryClassGiB(16 * 2 ** 30), 16);
  t.is(fingerprintId(f), fingerprintId({ ...f }));
});

test('the Markdown report: a row per metric with the change in words, the baseline file and its SHA-256, the policy and what the pull request changes in it, warnings, the profile on FAIL', (t) => {
  const j = judge(
    input(blocks(9), blocks(7, { latency: 1.3, throughput: 1 / 1.3 }, 2), {
      overhead: { baseline: [slices(0.81, 6, 9), slices(0.81, 6, 10)], candidate: [slices(0.81, 6), slices(0.81, 6, 6)] },
    }),
  );
  const md = formatGateMarkdown({
    schema: 'agentperf.gate/v3',
    overall: j.overall,
    mode: 'baseline',
    policy: {
      origin: 'baseline',
      where: 'baselines/mixed.0123456789ab.json (recorded 2026-12-01T00:00:00.000Z)',
      changes: policyChanges(policy, { ...policy, tolerances: { ...policy.tolerances, p50: 0.5 }, inconclusive: 'pass' }),
      notes: [],
    },
    confidence: 0.95,
    notes: ['notes.json is not named like a baseline (<scenario>.<class-id>.json): passed over'],
    scenarios: [
      {
        scenario: 'mixed',
        mode: 'baseline',
        judgement: j,
        baselineBlocks: 9,
        candidateBlocks: 7,
        calibration: { changePct: 2.5, bandPct: 15, samples: 8, threads: 2, steady: true },
        baseline: { file: 'baselines/mixed.0123456789ab.json', sha256: 'ab'.repeat(32), createdAt: '2026-12-01T00:00:00.000Z' },
        profile: [{ name: 'slowPath', location: 'src/x.ts:12', selfMs: 10, totalMs: 10, selfPct: 30, totalPct: 30, baselineSelfPct: 10 }],
      },
    ],
    elapsedMs: 1000,
  });
  t.regex(md, /^## agentperf gate: ❌ FAIL/);
  t.regex(md, /\*\*Policy:\*\* the baseline's \(the policy it was recorded under\), baselines\/mixed\.0123456789ab\.json/);
  t.regex(md, /### Policy changed in this pull request/);
  t.regex(md, /\| `inconclusive` \| `"exit3"` \| `"pass"` \|/);
  t.regex(md, /\| `tolerances\.p50` \| `0\.1` \| `0\.5` \|/);
  t.regex(md, /Baseline: `baselines\/mixed\.0123456789ab\.json`, recorded 2026-12-01T00:00:00\.000Z, SHA-256 `(ab){32}`/);
  t.regex(md, /\| p50 \| 40\.\d ms \| 5\d\.\d ms \| 3\d% higher \(worse\) \| 2\d% to 3\d% higher \| 10% worse \| ❌ FAIL \| 7 \|/);
  t.regex(md, /\| throughput \| 40\d\.\d\/s \| 3\d\d\.\d\/s \| 2\d% lower \(worse\) \|/);
  t.regex(
    md,
    /\| observability overhead \| 19\.\d% lost \| 1\d\.\d% lost \| [^|]+ \| -0\.\d\d to \+0\.\d\d points \| 2 points more than the base's, when over the 5% limit \| ⚠️ WARN \| 2 \|/,
  );
  t.regex(md, /\*\*Warnings\*\* \(not blocking\):\n\n- \*\*observability overhead\*\*: standing: /);
  t.regex(md, /2\.5% slower than the one that recorded the baseline \(8 samples between the blocks, on 2 CPUs\): within the 15% band/);
  t.regex(md, /- notes\.json is not named like a baseline/);
  t.regex(md, /\| `slowPath` \| src\/x\.ts:12 \| 30\.0% \| 10\.0% \(\+20\.0 points\) \|/);
});

test('a bad policy is refused naming the field', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'agentperf-policy-'));
  const file = join(dir, 'policy.json');
  await writeFile(file, JSON.stringify({ tolerances: { p95: -1 } }));
  const error = await t.throwsAsync(loadPolicy(file));
  t.is((error as { code?: string }).code, 'AP_ERR_CONFIG');
  t.regex(error.message, /tolerances\.p95/);
  await writeFile(file, JSON.stringify({ tolerances: { p95: 0.05 } }));
  const merged = await loadPolicy(file);
  t.is(merged.tolerances.p95, 0.05);
  t.is(merged.tolerances.p50, 0.1);
  t.is(merged.tolerances.cpu, 0.1);
});

test("stored mode: the machine's calibration difference counts against both verdicts on timed metrics, never on memory", (t) => {
  // 13% slower CPU per iteration, with little noise: a FAIL on a machine that measured like the
  // baseline's; not on one that measured 8% apart (the change could be the machine's).
  const base = blocks(9, {}, 1);
  const slower = blocks(7, { cpu: 1.13 }, 2);
  t.is(verdictOf(judge(input(base, slower)), 'cpu').verdict, 'FAIL');
  const drifted = verdictOf(judge(input(base, slower, { drift: 0.08 })), 'cpu');
  t.is(drifted.verdict, 'INCONCLUSIVE');
  t.regex(drifted.reason, /the tolerance taken 8\.0% in the verdict's disfavour/);
  // 5% more: a PASS when the machines match, but not when they differ by 8% (it could hide a regression).
  const little = blocks(7, { cpu: 1.05 }, 2);
  t.is(verdictOf(judge(input(base, little)), 'cpu').verdict, 'PASS');
  t.is(verdictOf(judge(input(base, little, { drift: -0.08 })), 'cpu').verdict, 'INCONCLUSIVE');
  // Memory does not run on the clock.
  t.is(verdictOf(judge(input(base, blocks(7, { rss: 1.2 }, 2), { drift: 0.1 })), 'peakRss').verdict, 'FAIL');
});

test('a gate that refused to judge exits 3, whatever the policy says about inconclusive gates', (t) => {
  const refused = judge(input(blocks(9), blocks(7, {}, 2), { refusal: 'this machine ran the reference workload 30% slower' }));
  const result: GateResult = {
    schema: 'agentperf.gate/v3',
    overall: 'INCONCLUSIVE',
    mode: 'baseline',
    policy: { origin: 'baseline', where: 'x', changes: [], notes: [] },
    notes: [],
    confidence: 0.95,
    scenarios: [{ scenario: 'mixed', mode: 'baseline', judgement: refused, baselineBlocks: 9, candidateBlocks: 7 }],
    elapsedMs: 0,
  };
  t.is(exitCodeFor(result, { ...policy, inconclusive: 'pass' }), 3);
  t.is(exitCodeFor(result, { ...policy, inconclusive: 'fail' }), 3);
});

/** Blocks of a streaming scenario: time to first chunk and output rate besides the rest. */
const streamed = (list: BlockResult[], ttfc: number, rate: number, seed = 3) => {
  const random = mulberry32(seed);
  return list.map((b) => ({ ...b, ttfcP95Ms: ttfc * (1 + (random() - 0.5) * 0.02), outputTokensPerSecond: rate * (1 + (random() - 0.5) * 0.02) }));
};

test('a scenario that streams is judged on its time to first chunk p95 and output tokens per second too; one that does not, never', (t) => {
  const plain = judge(input(blocks(9, {}, 1), blocks(7, {}, 2)));
  t.false(
    plain.metrics.some((m) => m.metric === 'ttfcP95' || m.metric === 'outputTokensPerSecond'),
    'no stream metric where nothing streamed',
  );
  const same = judge(input(streamed(blocks(9, {}, 1), 80, 500), streamed(blocks(7, {}, 2), 80, 500, 4)));
  t.is(same.overall, 'PASS', JSON.stringify(same.metrics.map((m) => [m.metric, m.verdict])));
  t.is(verdictOf(same, 'ttfcP95').verdict, 'PASS');
  t.is(verdictOf(same, 'outputTokensPerSecond').verdict, 'PASS');
  // The first chunk 30% later and the output 30% slower, everything else the same: both FAIL.
  const slower = judge(input(streamed(blocks(9, {}, 1), 80, 500), streamed(blocks(7, {}, 2), 104, 500 / 1.3, 4)));
  t.is(slower.overall, 'FAIL');
  t.is(verdictOf(slower, 'ttfcP95').verdict, 'FAIL');
  t.is(verdictOf(slower, 'outputTokensPerSecond').verdict, 'FAIL');
  t.is(verdictOf(slower, 'p95').verdict, 'PASS');
  // A baseline recorded before streams were measured: INCONCLUSIVE, saying so, never a silent PASS.
  const old = judge(input(blocks(9, {}, 1), streamed(blocks(7, {}, 2), 80, 500)));
  t.is(verdictOf(old, 'ttfcP95').verdict, 'INCONCLUSIVE');
  t.regex(verdictOf(old, 'ttfcP95').reason, /not measured in every block/);
});

test('a policy stored before the stream metrics (in a baseline) reads their tolerances as the default; a policy file may set them', async (t) => {
  const { ttfcP95: _a, outputTokensPerSecond: _b, ...older } = DEFAULT_POLICY.tolerances;
  const stored = PolicySchema.parse({ ...DEFAULT_POLICY, tolerances: older });
  t.is(stored.tolerances.ttfcP95, 0.1);
  t.is(stored.tolerances.outputTokensPerSecond, 0.1);
  const dir = mkdtempSync(join(tmpdir(), 'agentperf-policy-'));
  const file = join(dir, 'policy.json');
  await writeFile(file, JSON.stringify({ tolerances: { ttfcP95: 0.2 } }));
  t.is((await loadPolicy(file)).tolerances.ttfcP95, 0.2);
});

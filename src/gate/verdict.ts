/**
 * The gate's verdicts. Three outcomes per metric, each with a stated error rate:
 *
 * - **FAIL** (blocking): the change is worse than the tolerance by its point estimate, and
 *   credibly worse than no change at all: its one-sided p-value passes Holm's correction across
 *   every metric tested together, at the family-wise level alpha divided by the number of looks
 *   the gate may take (it adds blocks while undecided). The chance that a gate of unchanged code
 *   FAILs is at most alpha (5% by default; in the self-test, about none in 20).
 * - **PASS**: the whole interval of the change (at 1 - alpha) lies within the tolerance, the
 *   tolerance acting as the equivalence margin. A true change at the tolerance passes a look with
 *   a chance of at most alpha / 2.
 * - **INCONCLUSIVE**: anything else, and always when the comparison cannot be trusted (too few
 *   blocks for the method's coverage, a zero-width interval, a machine that measures differently
 *   from the baseline's): the gate then runs more blocks while its budget allows.
 *
 * Comparisons live in src/stats/compare.ts (paired t on log-ratios, or Hodges-Lehmann with the
 * exact Mann-Whitney interval); a change is reported as the candidate against the baseline, in
 * its natural direction ("throughput 46% lower (worse)").
 */
import type { GatePolicy, MetricName } from '../config/policy.js';
import type { BlockResult } from '../measure/block.js';
import { lostPct, type OverheadMeasurement } from '../measure/slices.js';
import { compareUnpaired, comparePaired, pairedLogRatios, type Comparison, type ComparisonMethod } from '../stats/compare.js';
import { holm, poissonUpperTail, wilsonUpper } from '../stats/counts.js';
import { median } from '../stats/percentiles.js';

export type Verdict = 'PASS' | 'FAIL' | 'INCONCLUSIVE';

/** Which way a metric improves. */
export type Direction = 'lower-is-better' | 'higher-is-better';

export interface MetricVerdict {
  metric: MetricName | 'overhead' | `slo.${string}`;
  verdict: Verdict;
  /** Medians (the overhead: throughput with instrumentation off, and on). */
  baseline: number;
  candidate: number;
  /** The change, candidate against baseline, in %: negative is lower. For the overhead: throughput lost, in %. */
  changePct: number;
  /** The interval of `changePct` at 1 - alpha, low to high. */
  lowPct: number;
  highPct: number;
  direction: Direction;
  /** How much worse the metric may get, in % (the overhead: the most throughput instrumentation may cost). */
  tolerancePct: number;
  blocks: number;
  /** The candidate blocks' spread: median absolute deviation over the median, in %. */
  noisePct: number;
  method?: ComparisonMethod;
  /** The one-sided p-value behind a FAIL (worse than no change), when it was tested. */
  p?: number;
  reason: string;
}

export interface Judgement {
  metrics: MetricVerdict[];
  overall: Verdict;
  /** Why the gate did not judge at all (a machine that measures unlike the baseline's), when it did not. */
  refused?: string;
}

interface RelativeMetric {
  name: Exclude<MetricName, 'errorRate'>;
  direction: Direction;
  value: (b: BlockResult) => number;
  /** A change smaller than this many units never fails (memory). */
  floor?: (policy: GatePolicy) => number;
}

const RELATIVE: RelativeMetric[] = [
  { name: 'p50', direction: 'lower-is-better', value: (b) => b.p50Ms },
  { name: 'p95', direction: 'lower-is-better', value: (b) => b.p95Ms },
  { name: 'p99', direction: 'lower-is-better', value: (b) => b.p99Ms },
  { name: 'throughput', direction: 'higher-is-better', value: (b) => b.throughput },
  { name: 'cpu', direction: 'lower-is-better', value: (b) => b.cpuUsPerIteration },
  { name: 'mainThread', direction: 'lower-is-better', value: (b) => b.busyUsPerIteration },
  { name: 'peakRss', direction: 'lower-is-better', value: (b) => b.peakRssBytes, floor: (p) => p.floors.peakRssBytes },
  { name: 'heapAfterGc', direction: 'lower-is-better', value: (b) => b.heapAfterGcBytes, floor: (p) => p.floors.heapAfterGcBytes },
];

export function noisePct(values: readonly number[]): number {
  const m = median(values);
  if (m === 0) return 0;
  return (100 * median(values.map((v) => Math.abs(v - m)))) / Math.abs(m);
}

const pct = (logChange: number) => (Math.exp(logChange) - 1) * 100;

/** A test in the Holm family: its p-value (1 when it cannot fail) and how to build its verdict. */
interface Test {
  p: number;
  build(failed: boolean, level: number): MetricVerdict;
}

function relative(metric: RelativeMetric, baselineBlocks: readonly BlockResult[], candidateBlocks: readonly BlockResult[], paired: boolean, policy: GatePolicy): Test {
  const b = baselineBlocks.map(metric.value);
  const c = candidateBlocks.map(metric.value);
  const tolerance = policy.tolerances[metric.name];
  // "10% worse" as people read it: 10% higher for latency, 10% lower for throughput.
  const margin = metric.direction === 'lower-is-better' ? Math.log(1 + tolerance) : -Math.log(1 - Math.min(tolerance, 0.99));
  const confidence = 1 - policy.alpha;
  const base = { metric: metric.name, baseline: median(b), candidate: median(c), direction: metric.direction, tolerancePct: tolerance * 100, blocks: c.length, noisePct: noisePct(c) };
  if ([...b, ...c].some((v) => !Number.isFinite(v) || v <= 0)) {
    return { p: 1, build: () => ({ ...base, verdict: 'INCONCLUSIVE', changePct: NaN, lowPct: NaN, highPct: NaN, reason: 'not measured in every block (a block with no completed iteration, or a baseline recorded before this metric existed)' }) };
  }
  const cmp: Comparison = paired ? comparePaired(b, c, confidence) : compareUnpaired(b, c, confidence);
  const worseIsUp = metric.direction === 'lower-is-better';
  // The change in the worsening direction, on the log scale, and its interval.
  const worse = worseIsUp ? cmp.estimate : -cmp.estimate;
  const worseHigh = worseIsUp ? cmp.high : -cmp.low;
  const pWorse = worseIsUp ? cmp.pLarger : cmp.pSmaller;
  const floor = metric.floor?.(policy) ?? 0;
  const belowFloor = floor > 0 && median(c) - median(b) <= floor;
  const testable = !cmp.unusable && !belowFloor && worse > margin;
  return {
    p: testable ? pWorse : 1,
    build: (failed, level) => {
      const shown = { ...base, changePct: pct(cmp.estimate), lowPct: pct(cmp.low), highPct: pct(cmp.high), method: cmp.method, p: testable ? pWorse : undefined };
      if (failed) return { ...shown, verdict: 'FAIL', reason: `worse by more than the ${tolerance * 100}% tolerance, and credibly worse than the baseline (p = ${formatP(pWorse)}, under Holm's level of ${formatP(level)})` };
      if (cmp.unusable) return { ...shown, verdict: 'INCONCLUSIVE', reason: cmp.unusable };
      if (belowFloor) return { ...shown, verdict: 'PASS', reason: `the change is within the ${(floor / 2 ** 20).toFixed(0)} MiB floor` };
      if (worseHigh <= margin) return { ...shown, verdict: 'PASS', reason: `the whole interval is within the ${tolerance * 100}% tolerance` };
      if (worse > margin) return { ...shown, verdict: 'INCONCLUSIVE', reason: `worse by more than the ${tolerance * 100}% tolerance, but not yet credibly (p = ${formatP(pWorse)}, needs ${formatP(level)} or less): more blocks` };
      return { ...shown, verdict: 'INCONCLUSIVE', reason: `the interval reaches past the ${tolerance * 100}% tolerance: more blocks` };
    },
  };
}

export const formatP = (p: number) => (p < 0.0001 ? p.toExponential(1) : p.toPrecision(2));

/**
 * Error rate, with a test for counts: the candidate's errors against the most the baseline's
 * rate allows (its rate times 1 + tolerance, plus an absolute floor), as a Poisson tail.
 */
function errorRate(baseline: readonly BlockResult[], candidate: readonly BlockResult[], policy: GatePolicy): Test {
  const sum = (blocks: readonly BlockResult[], pick: (b: BlockResult) => number) => blocks.reduce((s, b) => s + pick(b), 0);
  const [be, bn, ce, cn] = [sum(baseline, (b) => b.errors), sum(baseline, (b) => b.completed), sum(candidate, (b) => b.errors), sum(candidate, (b) => b.completed)];
  const baseRate = bn ? be / bn : 0;
  const allowed = Math.min(1, baseRate * (1 + policy.tolerances.errorRate) + policy.floors.errorRate);
  const rate = cn ? ce / cn : 0;
  const p = rate > allowed ? poissonUpperTail(ce, allowed * cn) : 1;
  const upper = wilsonUpper(ce, cn);
  return {
    p,
    build: (failed, level) => {
      const verdict: Verdict = failed ? 'FAIL' : upper <= allowed ? 'PASS' : 'INCONCLUSIVE';
      const reason = failed
        ? `${ce} errors in ${cn} is credibly above the allowed ${(allowed * 100).toFixed(2)}% (p = ${formatP(p)}, under ${formatP(level)})`
        : verdict === 'PASS'
          ? `upper bound ${(upper * 100).toFixed(3)}% within the allowed ${(allowed * 100).toFixed(2)}%`
          : `upper bound ${(upper * 100).toFixed(3)}% reaches past the allowed ${(allowed * 100).toFixed(2)}%: more iterations needed`;
      return { metric: 'errorRate', verdict, baseline: baseRate, candidate: rate, changePct: (rate - baseRate) * 100, lowPct: 0, highPct: (upper - baseRate) * 100, direction: 'lower-is-better', tolerancePct: (allowed - baseRate) * 100, blocks: candidate.length, noisePct: 0, p: p < 1 ? p : undefined, reason };
    },
  };
}

/** log(on / off) of throughput for each measured pair of slices. */
export function overheadLogRatios(m: OverheadMeasurement): number[] {
  const rate = (s: OverheadMeasurement['slices'][number]) => s.iterations / s.durationMs;
  const off = m.slices.filter((s) => !s.instrumented);
  const on = m.slices.filter((s) => s.instrumented);
  return off.map((s, i) => Math.log(rate(on[i]!) / rate(s)));
}

/**
 * The observability overhead against its absolute limit: throughput lost with instrumentation
 * on, from paired slices of one process. FAIL when the loss is beyond the limit by its
 * estimate and credibly beyond it (the p-value is against the limit, not against zero: some
 * cost is expected); PASS when the whole interval is within it.
 */
function overhead(m: OverheadMeasurement, policy: GatePolicy): Test {
  const limit = policy.overhead.maxPct;
  const atLimit = Math.log(1 - limit / 100);
  const logs = overheadLogRatios(m);
  const cmp = pairedLogRatios(logs, 1 - policy.alpha);
  const beyond = pairedLogRatios(logs.map((d) => d - atLimit), 1 - policy.alpha).pSmaller;
  const testable = !cmp.unusable && lostPct(cmp.estimate) > limit;
  return {
    p: testable ? beyond : 1,
    build: (failed, level) => {
      const shown = { metric: 'overhead' as const, baseline: m.throughputOff, candidate: m.throughputOn, changePct: lostPct(cmp.estimate), lowPct: lostPct(cmp.high), highPct: lostPct(cmp.low), direction: 'lower-is-better' as const, tolerancePct: limit, blocks: cmp.n, noisePct: noisePct(logs.map(Math.exp)), method: cmp.method, p: testable ? beyond : undefined };
      if (failed) return { ...shown, verdict: 'FAIL', reason: `instrumentation costs credibly more than ${limit}% of throughput (p = ${formatP(beyond)}, under ${formatP(level)})` };
      if (cmp.unusable) return { ...shown, verdict: 'INCONCLUSIVE', reason: cmp.unusable };
      if (shown.highPct <= limit) return { ...shown, verdict: 'PASS', reason: `the whole interval of the throughput lost is within ${limit}%` };
      return { ...shown, verdict: 'INCONCLUSIVE', reason: `the interval of the throughput lost reaches past ${limit}%` };
    },
  };
}

/** The observability overhead on its own (what `run` reports beside its gate): one test, at the policy's alpha. */
export function judgeOverhead(m: OverheadMeasurement, policy: GatePolicy): MetricVerdict {
  const test = overhead(m, policy);
  return test.build(test.p <= policy.alpha, policy.alpha);
}

/** Absolute SLOs from the policy, on the candidate's medians. */
export function sloVerdicts(scenario: string, candidate: readonly BlockResult[], policy: GatePolicy): MetricVerdict[] {
  const slo = policy.slos[scenario];
  if (!slo) return [];
  const out: MetricVerdict[] = [];
  const add = (name: string, value: number, limit: number, below: boolean, unit: string) => {
    const ok = below ? value < limit : value > limit;
    out.push({ metric: `slo.${name}`, verdict: ok ? 'PASS' : 'FAIL', baseline: limit, candidate: value, changePct: NaN, lowPct: NaN, highPct: NaN, direction: below ? 'lower-is-better' : 'higher-is-better', tolerancePct: 0, blocks: candidate.length, noisePct: 0, reason: `${name} ${value.toFixed(name === 'errorRate' ? 4 : 1)}${unit} ${ok ? 'meets' : 'breaks'} the SLO ${below ? '<' : '>'} ${limit}${unit}` });
  };
  const med = (pick: (b: BlockResult) => number) => median(candidate.map(pick));
  if (slo.p95Ms !== undefined) add('p95', med((b) => b.p95Ms), slo.p95Ms, true, ' ms');
  if (slo.p99Ms !== undefined) add('p99', med((b) => b.p99Ms), slo.p99Ms, true, ' ms');
  if (slo.errorRate !== undefined) {
    const completed = candidate.reduce((s, b) => s + b.completed, 0);
    add('errorRate', completed ? candidate.reduce((s, b) => s + b.errors, 0) / completed : 0, slo.errorRate, true, '');
  }
  if (slo.throughput !== undefined) add('throughput', med((b) => b.throughput), slo.throughput, false, '/s');
  return out;
}

export interface JudgeInput {
  scenario: string;
  baseline: readonly BlockResult[];
  candidate: readonly BlockResult[];
  paired: boolean;
  policy: GatePolicy;
  /** The most looks the gate may take at this scenario: FAIL's family-wise level is alpha / looks. */
  looks: number;
  overhead?: OverheadMeasurement;
  /** A reason the blocks must not be compared at all (see measure/calibration.ts). */
  refusal?: string;
}

/** The looks a gate of `policy` may take: the initial blocks, then a look after every step up to the maximum. */
export function looksOf(policy: GatePolicy): number {
  return 1 + Math.ceil((policy.blocks.max - policy.blocks.initial) / policy.blocks.step);
}

/** Every metric of one scenario, judged together (see the top of this file for the rules). */
export function judge(input: JudgeInput): Judgement {
  const { policy } = input;
  const tests: Test[] = RELATIVE.map((m) => relative(m, input.baseline, input.candidate, input.paired, policy));
  tests.push(errorRate(input.baseline, input.candidate, policy));
  if (input.overhead) tests.push(overhead(input.overhead, policy));
  const level = policy.alpha / input.looks;
  const rejected = holm(tests.map((t) => t.p), level);
  // Holm's level for each test: alpha over the looks, over the tests not yet rejected below it.
  const order = tests.map((t, i) => ({ p: t.p, i })).sort((a, b) => a.p - b.p);
  const levels = new Array<number>(tests.length);
  order.forEach(({ i }, k) => (levels[i] = level / (tests.length - k)));
  let metrics = [...tests.map((t, i) => t.build(rejected[i]!, levels[i]!)), ...sloVerdicts(input.scenario, input.candidate, policy)];
  if (input.refusal) {
    metrics = metrics.map((m) => ({ ...m, verdict: 'INCONCLUSIVE', reason: 'not judged: the machine measures unlike the baseline’s' }));
    return { metrics, overall: 'INCONCLUSIVE', refused: input.refusal };
  }
  const overall: Verdict = metrics.some((m) => m.verdict === 'FAIL') ? 'FAIL' : metrics.some((m) => m.verdict === 'INCONCLUSIVE') ? 'INCONCLUSIVE' : 'PASS';
  return { metrics, overall };
}

/**
 * The gate's verdicts. Every metric is judged as the candidate's change against the baseline
 * side (the other commit's blocks, or the stored ones), with three outcomes:
 *
 * - **FAIL** (blocking): the change is worse than the tolerance by its point estimate, and
 *   credibly worse than no change at all: its one-sided p-value passes Holm's correction across
 *   every metric tested together, at the family-wise level alpha divided by the number of looks
 *   the gate may take (it adds blocks while undecided). The chance that a gate of unchanged code
 *   FAILs is at most alpha (5% by default).
 * - **PASS**: the whole interval of the change (at 1 - alpha) lies within the tolerance, the
 *   tolerance acting as the equivalence margin.
 * - **INCONCLUSIVE**: anything else, and always when the comparison cannot be trusted (too few
 *   blocks for the method's coverage, a zero-width interval, a machine that measures differently
 *   from the baseline's): the gate then runs more blocks while its budget allows.
 *
 * Absolute limits (the observability overhead's maximum, the SLOs) are judged on both sides: the
 * candidate FAILs one only when it breaks the limit *and* is worse than the base by more than
 * the tolerance, by the same test as any change. A base that already breaks a limit makes a
 * standing warning, never a FAIL of every pull request. So a limit shared with the base is
 * never what fails unchanged code: only a change can, with the false-alarm chance any change
 * has (at most alpha).
 *
 * Comparisons live in src/stats/compare.ts (paired t on log-ratios, or Hodges-Lehmann with the
 * Mann-Whitney interval) and src/stats/counts.ts (error counts); a change is reported as the
 * candidate against the baseline, in its natural direction ("throughput 46% lower (worse)").
 */
import type { GatePolicy, MetricName } from '../config/policy.js';
import type { BlockResult } from '../measure/block.js';
import { lostPct } from '../measure/overhead-figures.js';
import type { Slice } from '../measure/slices.js';
import { compareUnpaired, comparePaired, pairedLogRatios, type Comparison, type ComparisonMethod } from '../stats/compare.js';
import { holm, moreErrorsP, rateDifference, wilsonUpper } from '../stats/counts.js';
import { normalQuantile } from '../stats/distributions.js';
import { median } from '../stats/percentiles.js';

export type Verdict = 'PASS' | 'FAIL' | 'INCONCLUSIVE';

/** Which way a metric improves. */
export type Direction = 'lower-is-better' | 'higher-is-better';

export interface MetricVerdict {
  metric: MetricName | 'overhead' | `slo.${string}`;
  verdict: Verdict;
  /** Medians of each side (the overhead: each side's throughput lost, in %; an SLO: its limit and the candidate's median). */
  baseline: number;
  candidate: number;
  /** The change, candidate against baseline, in % (the overhead and the error rate: in points). */
  changePct: number;
  /** The interval of `changePct` at 1 - alpha, low to high. */
  lowPct: number;
  highPct: number;
  direction: Direction;
  /** How much worse the metric may get, in % (the overhead and the error rate: in points). */
  tolerancePct: number;
  /** An absolute limit the metric is also held to (the overhead's maximum in %, an SLO's bound). */
  limit?: number;
  blocks: number;
  /** The candidate blocks' spread: median absolute deviation over the median, in %. */
  noisePct: number;
  method?: ComparisonMethod;
  /** The one-sided p-value behind a FAIL (worse than no change), when it was tested. */
  p?: number;
  reason: string;
  /**
   * Not blocking, but to be read: a limit the candidate breaks that the base breaks too (a
   * standing warning), or that it breaks while within the tolerance of the base.
   */
  warning?: string;
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
  value: (b: BlockResult) => number | undefined;
  /** Judged only when the candidate's blocks measured it (a scenario that streams). */
  streamed?: boolean;
  /** A change smaller than this many units never fails (memory). */
  floor?: (policy: GatePolicy) => number;
  /** Measured in time, so a machine that runs slower or faster moves it (not memory). */
  timed?: boolean;
}

const RELATIVE: RelativeMetric[] = [
  { name: 'p50', timed: true, direction: 'lower-is-better', value: (b) => b.p50Ms },
  { name: 'p95', timed: true, direction: 'lower-is-better', value: (b) => b.p95Ms },
  { name: 'p99', timed: true, direction: 'lower-is-better', value: (b) => b.p99Ms },
  { name: 'throughput', timed: true, direction: 'higher-is-better', value: (b) => b.throughput },
  { name: 'cpu', timed: true, direction: 'lower-is-better', value: (b) => b.cpuUsPerIteration },
  { name: 'mainThread', timed: true, direction: 'lower-is-better', value: (b) => b.busyUsPerIteration },
  { name: 'peakRss', direction: 'lower-is-better', value: (b) => b.peakRssBytes, floor: (p) => p.floors.peakRssBytes },
  { name: 'heapAfterGc', direction: 'lower-is-better', value: (b) => b.heapAfterGcBytes, floor: (p) => p.floors.heapAfterGcBytes },
  { name: 'ttfcP95', timed: true, streamed: true, direction: 'lower-is-better', value: (b) => b.ttfcP95Ms },
  { name: 'outputTokensPerSecond', timed: true, streamed: true, direction: 'higher-is-better', value: (b) => b.outputTokensPerSecond },
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

function relative(
  metric: RelativeMetric,
  baselineBlocks: readonly BlockResult[],
  candidateBlocks: readonly BlockResult[],
  paired: boolean,
  policy: GatePolicy,
  drift = 0,
): Test {
  // Undefined (not measured) reads as NaN: the block check below makes such a metric INCONCLUSIVE.
  const b = baselineBlocks.map((block) => metric.value(block) ?? NaN);
  const c = candidateBlocks.map((block) => metric.value(block) ?? NaN);
  const tolerance = policy.tolerances[metric.name];
  // "10% worse" as people read it: 10% higher for latency, 10% lower for throughput.
  const tolerated = metric.direction === 'lower-is-better' ? Math.log(1 + tolerance) : -Math.log(1 - Math.min(tolerance, 0.99));
  // Stored mode: a machine measuring `drift` apart from the baseline's (within the band) could
  // fake a change that size either way, so it counts against both verdicts: a FAIL must pass
  // the tolerance by it, a PASS must stay under the tolerance by it.
  const slack = metric.timed ? Math.log(1 + Math.abs(drift)) : 0;
  const margin = tolerated + slack;
  const passMargin = Math.max(0, tolerated - slack);
  const widened =
    slack > 0
      ? ` (the tolerance taken ${(Math.abs(drift) * 100).toFixed(1)}% in the verdict's disfavour: this machine measured that far from the baseline's)`
      : '';
  const confidence = 1 - policy.alpha;
  const base = {
    metric: metric.name,
    baseline: median(b),
    candidate: median(c),
    direction: metric.direction,
    tolerancePct: tolerance * 100,
    blocks: c.length,
    noisePct: noisePct(c),
  };
  if ([...b, ...c].some((v) => !Number.isFinite(v) || v <= 0)) {
    return {
      p: 1,
      build: () => ({
        ...base,
        verdict: 'INCONCLUSIVE',
        changePct: NaN,
        lowPct: NaN,
        highPct: NaN,
        reason: 'not measured in every block (a block with no completed iteration, or a baseline recorded before this metric existed)',
      }),
    };
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
      const shown = {
        ...base,
        changePct: pct(cmp.estimate),
        lowPct: pct(cmp.low),
        highPct: pct(cmp.high),
        method: cmp.method,
        p: testable ? pWorse : undefined,
      };
      if (failed)
        return {
          ...shown,
          verdict: 'FAIL',
          reason: `worse by more than the ${tolerance * 100}% tolerance${widened}, and credibly worse than the baseline (p = ${formatP(pWorse)}, under Holm's level of ${formatP(level)})`,
        };
      if (cmp.unusable) return { ...shown, verdict: 'INCONCLUSIVE', reason: cmp.unusable };
      if (belowFloor) return { ...shown, verdict: 'PASS', reason: `the change is within the ${(floor / 2 ** 20).toFixed(0)} MiB floor` };
      if (worseHigh <= passMargin) return { ...shown, verdict: 'PASS', reason: `the whole interval is within the ${tolerance * 100}% tolerance${widened}` };
      if (worse > margin)
        return {
          ...shown,
          verdict: 'INCONCLUSIVE',
          reason: `worse by more than the ${tolerance * 100}% tolerance${widened}, but not yet credibly (p = ${formatP(pWorse)}, needs ${formatP(level)} or less): more blocks`,
        };
      return { ...shown, verdict: 'INCONCLUSIVE', reason: `the interval reaches past the ${tolerance * 100}% tolerance${widened}: more blocks` };
    },
  };
}

export const formatP = (p: number) => (p < 0.0001 ? p.toExponential(1) : p.toPrecision(2));

/**
 * The smallest rise in the error rate the measured iterations resolve: twice the upper bound
 * that zero errors in the candidate's iterations would give (so that one or two stray errors do
 * not keep the gate undecided forever). With 1,000 iterations, 0.77 points; with 10,000, 0.08.
 */
export function resolvableErrorRise(candidateIterations: number, z = 1.959963984540054): number {
  return 2 * wilsonUpper(0, candidateIterations, z);
}

/**
 * Error rate, as the difference of the two sides' rates (Newcombe's interval): the rise allowed
 * is the tolerance times the baseline's rate plus a floor, the larger of the policy's and the
 * rise the iterations measured can resolve (said in the reason). FAIL: a rise beyond that by its
 * estimate and credibly above none (the exact conditional test); PASS: the whole interval
 * within it. So zero errors against zero PASS with the blocks a gate has, and the report says
 * how small a rise that rules out.
 */
function errorRate(baseline: readonly BlockResult[], candidate: readonly BlockResult[], policy: GatePolicy): Test {
  const sum = (blocks: readonly BlockResult[], pick: (b: BlockResult) => number) => blocks.reduce((s, b) => s + pick(b), 0);
  const [be, bn, ce, cn] = [
    sum(baseline, (b) => b.errors),
    sum(baseline, (b) => b.completed),
    sum(candidate, (b) => b.errors),
    sum(candidate, (b) => b.completed),
  ];
  const baseRate = bn ? be / bn : 0;
  const rate = cn ? ce / cn : 0;
  const z = normalQuantile(1 - policy.alpha / 2);
  const resolvable = resolvableErrorRise(cn, z);
  const floor = Math.max(policy.floors.errorRate, resolvable);
  const allowed = policy.tolerances.errorRate * baseRate + floor;
  const difference = rateDifference(be, bn, ce, cn, z);
  // A PASS that rests on the coarse floor while the candidate did have more errors: said.
  const coarse =
    resolvable > policy.floors.errorRate && rate > baseRate
      ? `the candidate's rate is higher (${(rate * 100).toFixed(2)}% against ${(baseRate * 100).toFixed(2)}%), and ${cn} iterations cannot resolve a rise under ${(floor * 100).toFixed(2)} points: more iterations would tell`
      : undefined;
  const testable = bn > 0 && cn > 0 && difference.estimate > allowed;
  const p = testable ? moreErrorsP(be, bn, ce, cn) : 1;
  const floorSaid =
    resolvable > policy.floors.errorRate
      ? `a floor of ${(floor * 100).toFixed(2)} points, the smallest rise ${cn} iterations resolve (the policy's floor, ${(policy.floors.errorRate * 100).toFixed(2)}, needs more)`
      : `the policy's floor of ${(floor * 100).toFixed(2)} points`;
  return {
    p,
    build: (failed, level) => {
      const shown = {
        metric: 'errorRate' as const,
        baseline: baseRate,
        candidate: rate,
        changePct: difference.estimate * 100,
        lowPct: difference.low * 100,
        highPct: difference.high * 100,
        direction: 'lower-is-better' as const,
        tolerancePct: allowed * 100,
        blocks: candidate.length,
        noisePct: 0,
        p: testable ? p : undefined,
      };
      if (failed)
        return {
          ...shown,
          verdict: 'FAIL',
          reason: `${ce} errors in ${cn} iterations against ${be} in ${bn}: a rise beyond the ${(allowed * 100).toFixed(2)} points allowed, and credibly more errors (p = ${formatP(p)}, under ${formatP(level)})`,
        };
      if (bn === 0 || cn === 0) return { ...shown, verdict: 'INCONCLUSIVE', reason: 'no completed iteration on one side' };
      if (difference.high <= allowed)
        return {
          ...shown,
          verdict: 'PASS',
          warning: coarse,
          reason: `${ce} errors in ${cn} against ${be} in ${bn}: the rise is at most ${(difference.high * 100).toFixed(2)} points, within the ${(allowed * 100).toFixed(2)} allowed (${floorSaid})`,
        };
      return {
        ...shown,
        verdict: 'INCONCLUSIVE',
        reason: `${ce} errors in ${cn} against ${be} in ${bn}: the rise may be up to ${(difference.high * 100).toFixed(2)} points, past the ${(allowed * 100).toFixed(2)} allowed (${floorSaid}): more iterations`,
      };
    },
  };
}

/** log(on / off) of throughput for each measured pair of slices. */
export function overheadLogRatios(slices: readonly Slice[]): number[] {
  const rate = (s: Slice) => s.iterations / s.durationMs;
  const off = slices.filter((s) => !s.instrumented);
  const on = slices.filter((s) => s.instrumented);
  return off.map((s, i) => Math.log(rate(on[i]) / rate(s)));
}

/**
 * Each side's overhead measurement: for each process it ran in, that process's slices with
 * instrumentation off and on. Two processes a side at least in a gate: a process's own state
 * (its JIT, its heap, a neighbour in its minutes) moves its figure, and no process may decide.
 */
export interface OverheadSides {
  /** The baseline side's (the other commit's, or the stored one); absent when there is none. */
  baseline?: ReadonlyArray<readonly Slice[]>;
  candidate: ReadonlyArray<readonly Slice[]>;
}

/** One side's throughput lost to instrumentation, in %, with its interval. */
export function ownOverhead(slices: readonly Slice[], alpha: number): { cmp: Comparison; lostPct: number; lowPct: number; highPct: number } {
  const cmp = pairedLogRatios(overheadLogRatios(slices), 1 - alpha);
  return { cmp, lostPct: lostPct(cmp.estimate), lowPct: lostPct(cmp.high), highPct: lostPct(cmp.low) };
}

/**
 * The observability overhead: throughput lost with instrumentation on, from paired slices in
 * processes of each side. An absolute limit (`overhead.maxPct`), judged against the base: FAIL
 * only when the candidate's own loss is beyond the limit, its loss beyond the base's by more
 * than `overhead.tolerancePct` points by its estimate (the Hodges-Lehmann shift between the two
 * sides' slice ratios) and credibly above the base's, *and* every candidate process lost more
 * than every base process by that tolerance (a process of its own cannot make a FAIL). Within
 * the limit: PASS. Beyond it, but within the tolerance of the base: PASS with a warning
 * (standing, when the base is beyond the limit too).
 */
function overhead(sides: OverheadSides, policy: GatePolicy): Test {
  const limit = policy.overhead.maxPct;
  const tolerance = policy.overhead.tolerancePct;
  const candidateSlices = sides.candidate.flat();
  const baseSlices = sides.baseline?.flat();
  const candidate = ownOverhead(candidateSlices, policy.alpha);
  const base = baseSlices ? ownOverhead(baseSlices, policy.alpha) : undefined;
  const change = baseSlices
    ? compareUnpaired(overheadLogRatios(baseSlices).map(Math.exp), overheadLogRatios(candidateSlices).map(Math.exp), 1 - policy.alpha)
    : undefined;
  // The base's on/off ratio turns the shift of ratios into points of throughput lost.
  const baseRatio = base ? Math.exp(base.cmp.estimate) : 1;
  const points = (shift: number) => 100 * baseRatio * (1 - Math.exp(shift));
  const margin = -Math.log(Math.max(1e-9, 1 - tolerance / (100 * baseRatio)));
  const worse = change ? -change.estimate : NaN;
  const worseHigh = change ? -change.low : NaN;
  // Replicated: the candidate's cheapest process against the base's costliest, in points.
  const perProcess = (runs: ReadonlyArray<readonly Slice[]>) => runs.map((slices) => lostPct(mean(overheadLogRatios(slices))));
  const replicated = sides.baseline ? Math.min(...perProcess(sides.candidate)) - Math.max(...perProcess(sides.baseline)) : NaN;
  const testable = change !== undefined && !change.unusable && !candidate.cmp.unusable && candidate.lostPct > limit && worse > margin && replicated > tolerance;
  const p = testable ? change.pSmaller : 1;
  return {
    p,
    build: (failed, level) => {
      const shown = {
        metric: 'overhead' as const,
        baseline: base?.lostPct ?? NaN,
        candidate: candidate.lostPct,
        changePct: change ? points(change.estimate) : NaN,
        lowPct: change ? points(change.high) : NaN,
        highPct: change ? points(change.low) : NaN,
        direction: 'lower-is-better' as const,
        tolerancePct: tolerance,
        limit,
        blocks: sides.candidate.length,
        noisePct: noisePct(overheadLogRatios(candidateSlices).map(Math.exp)),
        method: change?.method ?? candidate.cmp.method,
        p: testable ? p : undefined,
      };
      const own = `the candidate's instrumentation costs ${candidate.lostPct.toFixed(1)}% of throughput [${candidate.lowPct.toFixed(1)}, ${candidate.highPct.toFixed(1)}] (${sides.candidate.length} processes)`;
      if (failed)
        return {
          ...shown,
          verdict: 'FAIL',
          reason: `${own}, beyond the ${limit}% limit; ${shown.changePct.toFixed(1)} points more than the base's ${base!.lostPct.toFixed(1)}% (beyond the ${tolerance}-point tolerance, in every process), and credibly more (p = ${formatP(p)}, under ${formatP(level)})`,
        };
      if (candidate.cmp.unusable) return { ...shown, verdict: 'INCONCLUSIVE', reason: candidate.cmp.unusable };
      if (candidate.highPct <= limit) return { ...shown, verdict: 'PASS', reason: `${own}: the whole interval within the ${limit}% limit` };
      const standing = base !== undefined && base.lostPct > limit;
      const warning = standing
        ? `standing: the base's instrumentation already costs ${base.lostPct.toFixed(1)}% of throughput, over the ${limit}% limit (not this change's doing)`
        : `the candidate's overhead reaches past the ${limit}% limit (${candidate.lostPct.toFixed(1)}%)`;
      if (change && !change.unusable && worseHigh <= margin)
        return {
          ...shown,
          verdict: 'PASS',
          warning,
          reason: `${own}; no more than ${tolerance} points above the base's ${base!.lostPct.toFixed(1)}% (the whole interval)`,
        };
      if (!change)
        return {
          ...shown,
          verdict: 'INCONCLUSIVE',
          warning,
          reason: `${own}, reaching past the ${limit}% limit, and there is no base figure to compare it with: a limit is judged against the base`,
        };
      if (change.unusable) return { ...shown, verdict: 'INCONCLUSIVE', reason: change.unusable };
      return {
        ...shown,
        verdict: 'INCONCLUSIVE',
        warning: standing ? warning : undefined,
        reason: `${own}, reaching past the ${limit}% limit, and maybe more than ${tolerance} points above the base's ${base!.lostPct.toFixed(1)}%: not decided`,
      };
    },
  };
}

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/** The observability overhead of one side alone (what `run` shows when there is nothing to compare with): PASS within the limit, else INCONCLUSIVE, never FAIL. */
export function judgeOverhead(candidate: readonly Slice[], policy: GatePolicy): MetricVerdict {
  const test = overhead({ candidate: [candidate] }, policy);
  return test.build(false, policy.alpha);
}

/** The relative metric an SLO rides on: an SLO FAILs only when that metric FAILs. */
const SLO_METRIC = { p95Ms: 'p95', p99Ms: 'p99', errorRate: 'errorRate', throughput: 'throughput' } as const;

/**
 * Absolute SLOs from the policy, on each side's medians (the error rate: over all iterations).
 * Met by the candidate: PASS. Broken: FAIL only when the metric it rides on FAILed (worse than
 * the base beyond the tolerance, credibly); otherwise PASS with a warning, standing when the
 * base breaks it too.
 */
export function sloVerdicts(
  scenario: string,
  baseline: readonly BlockResult[],
  candidate: readonly BlockResult[],
  policy: GatePolicy,
  judged: readonly MetricVerdict[],
): MetricVerdict[] {
  const slo = policy.slos[scenario];
  if (!slo) return [];
  const out: MetricVerdict[] = [];
  const rate = (blocks: readonly BlockResult[]) => {
    const completed = blocks.reduce((s, b) => s + b.completed, 0);
    return completed ? blocks.reduce((s, b) => s + b.errors, 0) / completed : 0;
  };
  const values: Record<keyof typeof SLO_METRIC, (blocks: readonly BlockResult[]) => number> = {
    p95Ms: (blocks) => median(blocks.map((b) => b.p95Ms)),
    p99Ms: (blocks) => median(blocks.map((b) => b.p99Ms)),
    errorRate: rate,
    throughput: (blocks) => median(blocks.map((b) => b.throughput)),
  };
  for (const key of Object.keys(SLO_METRIC) as Array<keyof typeof SLO_METRIC>) {
    const limit = slo[key];
    if (limit === undefined) continue;
    const name = key === 'p95Ms' ? 'p95' : key === 'p99Ms' ? 'p99' : key;
    const below = key !== 'throughput';
    const unit = key === 'throughput' ? '/s' : key === 'errorRate' ? '' : ' ms';
    const show = (v: number) => (key === 'errorRate' ? v.toFixed(4) : v.toFixed(1));
    const meets = (v: number) => (below ? v < limit : v > limit);
    const value = values[key](candidate);
    const baseValue = baseline.length ? values[key](baseline) : NaN;
    const rule = `${below ? '<' : '>'} ${limit}${unit}`;
    const shown = {
      metric: `slo.${name}` as const,
      baseline: baseValue,
      candidate: value,
      limit,
      changePct: NaN,
      lowPct: NaN,
      highPct: NaN,
      direction: below ? ('lower-is-better' as const) : ('higher-is-better' as const),
      tolerancePct: 0,
      blocks: candidate.length,
      noisePct: 0,
    };
    if (meets(value)) {
      out.push({ ...shown, verdict: 'PASS', reason: `${name} ${show(value)}${unit} meets the SLO ${rule}` });
      continue;
    }
    const riding = judged.find((m) => m.metric === SLO_METRIC[key]);
    if (riding?.verdict === 'FAIL') {
      out.push({
        ...shown,
        verdict: 'FAIL',
        reason: `${name} ${show(value)}${unit} breaks the SLO ${rule}, and ${riding.metric} is credibly worse than the base's beyond its tolerance`,
      });
      continue;
    }
    const standing = Number.isFinite(baseValue) && !meets(baseValue);
    out.push({
      ...shown,
      verdict: 'PASS',
      warning: standing
        ? `standing: the base breaks the SLO ${rule} too (${show(baseValue)}${unit})`
        : `${name} ${show(value)}${unit} breaks the SLO ${rule}; the base meets it (${show(baseValue)}${unit}), and the change is not a regression beyond the tolerance (yet)`,
      reason: `${name} ${show(value)}${unit} breaks the SLO ${rule}, but is not credibly worse than the base's ${show(baseValue)}${unit} beyond the ${riding ? riding.tolerancePct : 0}% tolerance: not blocking`,
    });
  }
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
  overhead?: OverheadSides;
  /** A reason the blocks must not be compared at all (see measure/calibration.ts). */
  refusal?: string;
  /** Stored mode: how far this machine measured from the baseline's on the calibration, as a fraction (0.05: 5% slower). */
  drift?: number;
}

/** The looks a gate of `policy` may take: the initial blocks, then a look after every step up to the maximum. */
export function looksOf(policy: GatePolicy): number {
  return 1 + Math.ceil((policy.blocks.max - policy.blocks.initial) / policy.blocks.step);
}

/** Every metric of one scenario, judged together (see the top of this file for the rules). */
export function judge(input: JudgeInput): Judgement {
  const { policy } = input;
  // A stream metric only where the candidate streamed (a baseline that did not then makes it INCONCLUSIVE, never a silent PASS).
  const measured = RELATIVE.filter((m) => !m.streamed || input.candidate.some((block) => m.value(block) !== undefined));
  const tests: Test[] = measured.map((m) => relative(m, input.baseline, input.candidate, input.paired, policy, input.drift));
  tests.push(errorRate(input.baseline, input.candidate, policy));
  if (input.overhead) tests.push(overhead(input.overhead, policy));
  const level = policy.alpha / input.looks;
  const rejected = holm(
    tests.map((t) => t.p),
    level,
  );
  // Holm's level for each test: alpha over the looks, over the tests not yet rejected below it.
  const order = tests.map((t, i) => ({ p: t.p, i })).sort((a, b) => a.p - b.p);
  const levels = new Array<number>(tests.length);
  order.forEach(({ i }, k) => (levels[i] = level / (tests.length - k)));
  const judged = tests.map((t, i) => t.build(rejected[i], levels[i]));
  let metrics = [...judged, ...sloVerdicts(input.scenario, input.baseline, input.candidate, policy, judged)];
  if (input.refusal) {
    metrics = metrics.map((m) => ({ ...m, verdict: 'INCONCLUSIVE', reason: 'not judged: the machine measures unlike the baseline’s' }));
    return { metrics, overall: 'INCONCLUSIVE', refused: input.refusal };
  }
  return { metrics, overall: overallOf(metrics) };
}

/** FAIL if any metric FAILs, else INCONCLUSIVE if any is, else PASS. */
export function overallOf(metrics: readonly { verdict: Verdict }[]): Verdict {
  return metrics.some((m) => m.verdict === 'FAIL') ? 'FAIL' : metrics.some((m) => m.verdict === 'INCONCLUSIVE') ? 'INCONCLUSIVE' : 'PASS';
}

/**
 * Whether more blocks could still decide something: a block-based metric is undecided. The
 * overhead has its own processes (more of them: `moreOverheadWouldHelp`).
 */
export function moreBlocksWouldHelp(judgement: Judgement): boolean {
  return !judgement.refused && judgement.overall === 'INCONCLUSIVE' && judgement.metrics.some((m) => m.verdict === 'INCONCLUSIVE' && m.metric !== 'overhead');
}

/** Whether more overhead processes could still decide it: the overhead alone is undecided. */
export function moreOverheadWouldHelp(judgement: Judgement): boolean {
  return (
    !judgement.refused &&
    judgement.metrics.some((m) => m.metric === 'overhead' && m.verdict === 'INCONCLUSIVE') &&
    !judgement.metrics.some((m) => m.verdict === 'FAIL')
  );
}

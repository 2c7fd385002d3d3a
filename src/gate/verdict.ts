import { median } from '../stats/percentiles.js';
import { holm, pairedRatio, poissonUpperTail, unpairedRatio, wilsonUpper, type RatioEstimate } from './stats.js';
import type { BlockResult } from './block.js';
import type { GatePolicy, MetricName } from '../config/policy.js';

export type Verdict = 'PASS' | 'FAIL' | 'INCONCLUSIVE';

export interface MetricVerdict {
  metric: MetricName | 'overhead' | `slo.${string}`;
  verdict: Verdict;
  baseline: number;
  candidate: number;
  /** Change in %, signed so that positive is worse. */
  changePct: number;
  /** Interval of the change in %, positive worse. */
  low: number;
  high: number;
  tolerancePct: number;
  blocks: number;
  /** The blocks' spread: the median absolute deviation over the median, in %. */
  noisePct: number;
  reason: string;
}

const HIGHER_IS_WORSE: Record<MetricName, boolean> = { p50: true, p95: true, p99: true, throughput: false, errorRate: true, peakRss: true, heapAfterGc: true };

export function metricValues(blocks: readonly BlockResult[], metric: MetricName): number[] {
  switch (metric) {
    case 'p50':
      return blocks.map((b) => b.p50Ms);
    case 'p95':
      return blocks.map((b) => b.p95Ms);
    case 'p99':
      return blocks.map((b) => b.p99Ms);
    case 'throughput':
      return blocks.map((b) => b.throughput);
    case 'errorRate':
      return blocks.map((b) => (b.completed ? b.errors / b.completed : 0));
    case 'peakRss':
      return blocks.map((b) => b.peakRssBytes);
    case 'heapAfterGc':
      return blocks.map((b) => b.heapAfterGcBytes);
  }
}

export function noisePct(values: readonly number[]): number {
  const m = median(values);
  if (m === 0) return 0;
  return (100 * median(values.map((v) => Math.abs(v - m)))) / Math.abs(m);
}

interface Candidate {
  metric: MetricVerdict['metric'];
  estimate?: RatioEstimate;
  /** p-value for "worse than tolerated", for Holm; undefined when not tested that way. */
  p?: number;
  build: (failed: boolean) => MetricVerdict;
}

/** Relative metrics: FAIL needs Holm's rejection of "within tolerance"; PASS needs the interval within it. */
function relative(metric: MetricName, baseline: readonly number[], candidate: readonly number[], paired: boolean, policy: GatePolicy, random: () => number): Candidate {
  const tolerance = policy.tolerances[metric];
  const higher = HIGHER_IS_WORSE[metric];
  const confidence = 1 - policy.alpha;
  const estimate = paired ? pairedRatio(baseline, candidate, higher, tolerance, confidence, random) : unpairedRatio(baseline, candidate, higher, tolerance, confidence, random);
  const b = median(baseline);
  const c = median(candidate);
  // Memory: a change smaller than the byte floor never fails, whatever its ratio.
  const floor = metric === 'peakRss' ? policy.floors.peakRssBytes : metric === 'heapAfterGc' ? policy.floors.heapAfterGcBytes : 0;
  const belowFloor = floor > 0 && c - b <= floor;
  return {
    metric,
    estimate,
    p: belowFloor ? 1 : estimate.pBeyond,
    build: (failed) => {
      const pct = (r: number) => (r - 1) * 100;
      let verdict: Verdict;
      let reason: string;
      if (failed) {
        verdict = 'FAIL';
        reason = `worse by more than ${tolerance * 100}%, credibly (interval wholly beyond it after Holm's correction)`;
      } else if (estimate.high <= 1 + tolerance || belowFloor) {
        verdict = 'PASS';
        reason = belowFloor && estimate.high > 1 + tolerance ? `change within the ${(floor / 2 ** 20).toFixed(0)} MiB floor` : `interval within ${tolerance * 100}%`;
      } else {
        verdict = 'INCONCLUSIVE';
        reason = `interval reaches past ${tolerance * 100}% but is not wholly beyond it`;
      }
      return { metric, verdict, baseline: b, candidate: c, changePct: pct(estimate.ratio), low: pct(estimate.low), high: pct(estimate.high), tolerancePct: tolerance * 100, blocks: candidate.length, noisePct: noisePct(candidate), reason };
    },
  };
}

/**
 * Error rate, with a test for counts: the candidate's errors against the most the baseline's
 * rate allows (its rate times 1 + tolerance, plus an absolute floor), as a Poisson tail.
 */
function errorRate(baseline: readonly BlockResult[], candidate: readonly BlockResult[], policy: GatePolicy): Candidate {
  const sum = (blocks: readonly BlockResult[], pick: (b: BlockResult) => number) => blocks.reduce((s, b) => s + pick(b), 0);
  const [be, bn, ce, cn] = [sum(baseline, (b) => b.errors), sum(baseline, (b) => b.completed), sum(candidate, (b) => b.errors), sum(candidate, (b) => b.completed)];
  const baseRate = bn ? be / bn : 0;
  const allowed = Math.min(1, baseRate * (1 + policy.tolerances.errorRate) + policy.floors.errorRate);
  const rate = cn ? ce / cn : 0;
  const p = poissonUpperTail(ce, allowed * cn);
  const upper = wilsonUpper(ce, cn);
  return {
    metric: 'errorRate',
    p: rate > allowed ? p : 1,
    build: (failed) => {
      const verdict: Verdict = failed ? 'FAIL' : upper <= allowed ? 'PASS' : 'INCONCLUSIVE';
      const reason = failed
        ? `${ce} errors in ${cn} is credibly above the allowed ${(allowed * 100).toFixed(2)}%`
        : verdict === 'PASS'
          ? `upper bound ${(upper * 100).toFixed(3)}% within the allowed ${(allowed * 100).toFixed(2)}%`
          : `upper bound ${(upper * 100).toFixed(3)}% reaches past the allowed ${(allowed * 100).toFixed(2)}%: more iterations needed`;
      return { metric: 'errorRate', verdict, baseline: baseRate, candidate: rate, changePct: (rate - baseRate) * 100, low: 0, high: (upper - baseRate) * 100, tolerancePct: (allowed - baseRate) * 100, blocks: candidate.length, noisePct: 0, reason };
    },
  };
}

/** The observability overhead, from interleaved instrumented and plain blocks: an absolute limit. */
function overhead(plain: readonly number[], instrumented: readonly number[], policy: GatePolicy, random: () => number): Candidate {
  const limit = policy.overhead.maxPct / 100;
  const estimate = pairedRatio(plain, instrumented, false, limit, 1 - policy.alpha, random);
  return {
    metric: 'overhead',
    estimate,
    p: estimate.pBeyond,
    build: (failed) => {
      const pct = (r: number) => (r - 1) * 100;
      const verdict: Verdict = failed ? 'FAIL' : estimate.high <= 1 + limit ? 'PASS' : 'INCONCLUSIVE';
      return {
        metric: 'overhead',
        verdict,
        baseline: median(plain),
        candidate: median(instrumented),
        changePct: pct(estimate.ratio),
        low: pct(estimate.low),
        high: pct(estimate.high),
        tolerancePct: policy.overhead.maxPct,
        blocks: instrumented.length,
        noisePct: noisePct(instrumented),
        reason: verdict === 'PASS' ? `throughput lost to instrumentation within ${policy.overhead.maxPct}%` : verdict === 'FAIL' ? `instrumentation costs credibly more than ${policy.overhead.maxPct}% of throughput` : `interval reaches past ${policy.overhead.maxPct}%`,
      };
    },
  };
}

/** The observability overhead on its own (no other metric tested beside it): PASS, FAIL or INCONCLUSIVE against the policy's limit. */
export function judgeOverhead(plain: readonly number[], instrumented: readonly number[], policy: GatePolicy, random: () => number): MetricVerdict {
  const test = overhead(plain, instrumented, policy, random);
  return test.build((test.p ?? 1) < policy.alpha);
}

/** Absolute SLOs from the policy, on the candidate's medians. */
export function sloVerdicts(scenario: string, candidate: readonly BlockResult[], policy: GatePolicy): MetricVerdict[] {
  const slo = policy.slos[scenario];
  if (!slo) return [];
  const out: MetricVerdict[] = [];
  const add = (name: string, value: number, limit: number, below: boolean, unit: string) => {
    const ok = below ? value < limit : value > limit;
    out.push({ metric: `slo.${name}`, verdict: ok ? 'PASS' : 'FAIL', baseline: limit, candidate: value, changePct: 0, low: 0, high: 0, tolerancePct: 0, blocks: candidate.length, noisePct: 0, reason: `${name} ${value.toFixed(name === 'errorRate' ? 4 : 1)}${unit} ${ok ? 'meets' : 'breaks'} the SLO ${below ? '<' : '>'} ${limit}${unit}` });
  };
  if (slo.p95Ms !== undefined) add('p95', median(metricValues(candidate, 'p95')), slo.p95Ms, true, ' ms');
  if (slo.p99Ms !== undefined) add('p99', median(metricValues(candidate, 'p99')), slo.p99Ms, true, ' ms');
  if (slo.errorRate !== undefined) {
    const completed = candidate.reduce((s, b) => s + b.completed, 0);
    add('errorRate', completed ? candidate.reduce((s, b) => s + b.errors, 0) / completed : 0, slo.errorRate, true, '');
  }
  if (slo.throughput !== undefined) add('throughput', median(metricValues(candidate, 'throughput')), slo.throughput, false, '/s');
  return out;
}

export interface Judgement {
  metrics: MetricVerdict[];
  overall: Verdict;
}

/**
 * Every metric of one scenario: relative metrics and the overhead tested together with Holm's
 * correction (so that testing nine things does not make nine chances of a false alarm), the
 * error rate with its count test, SLOs as absolute limits.
 */
export function judge(
  scenario: string,
  baseline: readonly BlockResult[],
  candidate: readonly BlockResult[],
  paired: boolean,
  policy: GatePolicy,
  random: () => number,
  overheadBlocks?: { plain: readonly number[]; instrumented: readonly number[] },
): Judgement {
  const tests: Candidate[] = (['p50', 'p95', 'p99', 'throughput', 'peakRss', 'heapAfterGc'] as const).map((m) => relative(m, metricValues(baseline, m), metricValues(candidate, m), paired, policy, random));
  tests.push(errorRate(baseline, candidate, policy));
  if (overheadBlocks && overheadBlocks.plain.length >= 2) tests.push(overhead(overheadBlocks.plain, overheadBlocks.instrumented, policy, random));
  const rejected = holm(tests.map((t) => t.p ?? 1), policy.alpha);
  const metrics = [...tests.map((t, i) => t.build(rejected[i]!)), ...sloVerdicts(scenario, candidate, policy)];
  const overall: Verdict = metrics.some((m) => m.verdict === 'FAIL') ? 'FAIL' : metrics.some((m) => m.verdict === 'INCONCLUSIVE') ? 'INCONCLUSIVE' : 'PASS';
  return { metrics, overall };
}

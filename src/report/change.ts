// How a change is worded everywhere (terminal, Markdown, HTML), so that nobody misreads it:
// "throughput 46.0% lower (worse)", never "+84.3% throughput".
import type { Direction, MetricVerdict } from '../gate/verdict.js';

const magnitude = (pct: number) => `${Math.abs(pct) < 10 ? Math.abs(pct).toFixed(1) : Math.abs(pct).toFixed(0)}%`;

/** "15.0% higher (worse)", "3.2% lower (better)", "no change". */
export function formatChange(changePct: number, direction: Direction): string {
  if (!Number.isFinite(changePct)) return '';
  if (Math.abs(changePct) < 0.05) return 'no change';
  const up = changePct > 0;
  const worse = direction === 'lower-is-better' ? up : !up;
  return `${magnitude(changePct)} ${up ? 'higher' : 'lower'} (${worse ? 'worse' : 'better'})`;
}

/** "12.1% to 17.9% higher", "49.5% to 42.1% lower", "2.0% lower to 3.1% higher". */
export function formatChangeInterval(lowPct: number, highPct: number): string {
  if (!Number.isFinite(lowPct) || !Number.isFinite(highPct)) return 'unbounded';
  if (lowPct >= 0) return `${magnitude(lowPct)} to ${magnitude(highPct)} higher`;
  if (highPct <= 0) return `${magnitude(highPct)} to ${magnitude(lowPct)} lower`;
  return `${magnitude(lowPct)} lower to ${magnitude(highPct)} higher`;
}

const points = (v: number) => (Math.abs(v) < 10 ? Math.abs(v).toFixed(2) : Math.abs(v).toFixed(1));
const signedPoints = (v: number) => `${v < 0 ? '-' : '+'}${points(v)}`;

/** "0.40 points higher (worse)", "no change": a change in points of a percentage (the overhead, the error rate); higher is worse. */
function formatPoints(change: number): string {
  if (!Number.isFinite(change)) return '';
  if (Math.abs(change) < 0.005) return 'no change';
  return `${points(change)} points ${change > 0 ? 'higher (worse)' : 'lower (better)'}`;
}

/** "-0.67 to +0.01 points": an interval in points, low to high. */
function formatPointsInterval(low: number, high: number): string {
  if (!Number.isFinite(low) || !Number.isFinite(high)) return 'unbounded';
  return `${signedPoints(low)} to ${signedPoints(high)} points`;
}

/**
 * The change column of a verdict. The overhead: how many more points of throughput the
 * candidate's instrumentation costs than the base's; the error rate: its rise in points; an
 * SLO: nothing (its row states the limit); the rest: a change from the baseline, in words.
 */
export function describeChange(m: MetricVerdict): string {
  if (m.metric === 'overhead')
    return Number.isFinite(m.changePct) ? formatPoints(m.changePct) : `${magnitude(m.candidate)} of throughput ${m.candidate >= 0 ? 'lost' : 'gained'}`;
  if (m.metric.startsWith('slo.')) return '';
  if (m.metric === 'errorRate') return formatPoints(m.changePct);
  return formatChange(m.changePct, m.direction);
}

/** The interval column, in the change's own terms. */
export function describeInterval(m: MetricVerdict): string {
  if (m.metric === 'overhead') return formatPointsInterval(m.lowPct, m.highPct);
  if (m.metric.startsWith('slo.')) return '';
  if (m.metric === 'errorRate') return formatPointsInterval(m.lowPct, m.highPct);
  return formatChangeInterval(m.lowPct, m.highPct);
}

/** The tolerance column: how much worse the metric may get (and the absolute limit it is held to, if any). */
export function describeTolerance(m: MetricVerdict): string {
  if (m.metric === 'overhead') return `${m.tolerancePct} points more than the base's, when over the ${m.limit}% limit`;
  if (m.metric.startsWith('slo.')) return '';
  if (m.metric === 'errorRate') return `${points(m.tolerancePct)} points higher`;
  return `${m.tolerancePct}% worse`;
}

/** "between 1.0% gained and 3.0% lost": a loss interval in words, its sign kept. */
export function describeLoss(lowPct: number, highPct: number, what = 'throughput'): string {
  const word = (v: number) => `${magnitude(v)} ${v >= 0 ? 'lost' : 'gained'}`;
  if (!Number.isFinite(lowPct) || !Number.isFinite(highPct)) return 'unbounded';
  return `between ${word(lowPct)} and ${word(highPct)} of ${what}`;
}

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

/** The change column of a verdict: the overhead is throughput lost, the rest a change from the baseline. */
export function describeChange(m: MetricVerdict): string {
  if (m.metric === 'overhead') return `${magnitude(m.changePct)} of throughput ${m.changePct >= 0 ? 'lost' : 'gained'}`;
  if (m.metric.startsWith('slo.')) return '';
  if (m.metric === 'errorRate') return `${(m.candidate * 100).toFixed(3)}% of iterations, was ${(m.baseline * 100).toFixed(3)}%`;
  return formatChange(m.changePct, m.direction);
}

/** The interval column: the overhead's in throughput lost; errors' upper bound; the rest as a change. */
export function describeInterval(m: MetricVerdict): string {
  if (m.metric === 'overhead') return Number.isFinite(m.lowPct) ? `${magnitude(m.lowPct)} to ${magnitude(m.highPct)} lost` : 'unbounded';
  if (m.metric.startsWith('slo.')) return '';
  if (m.metric === 'errorRate') return `at most ${((m.baseline + m.highPct / 100) * 100).toFixed(3)}%`;
  return formatChangeInterval(m.lowPct, m.highPct);
}

/** The tolerance column: how much worse the metric may get. */
export function describeTolerance(m: MetricVerdict): string {
  if (m.metric === 'overhead') return `at most ${m.tolerancePct}% lost`;
  if (m.metric.startsWith('slo.')) return '';
  if (m.metric === 'errorRate') return `at most ${(m.baseline * 100 + m.tolerancePct).toFixed(2)}%`;
  return `${m.tolerancePct}% worse`;
}

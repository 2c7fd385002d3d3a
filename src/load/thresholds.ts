import { ErrorCode, ValidationError } from '../errors.js';

/**
 * k6-style pass/fail criteria: `p95<500ms`, `error_rate<1%`, `throughput>5`. Latency metrics
 * judge the corrected latency; prefix `service_` (e.g. `service_p99<50ms`) for service time,
 * `ttfc_` (`ttfc_p95<400ms`) for the corrected time to first chunk of a streaming scenario and
 * `tpoc_` for its time per output chunk. A stream threshold on a run with no streamed iteration
 * fails: there is nothing it could pass on.
 */
export interface Threshold {
  expression: string;
  metric: ThresholdMetric;
  op: '<' | '<=' | '>' | '>=';
  /** In the metric's base unit: ms for latencies, a fraction for rates, per second for throughput. */
  value: number;
}

const LATENCY_STATS = ['p50', 'p90', 'p95', 'p99', 'p99.9', 'max', 'mean'] as const;
type LatencyStat = (typeof LATENCY_STATS)[number];
const LATENCY_PREFIXES = ['service_', 'ttfc_', 'tpoc_'] as const;
export type ThresholdMetric =
  LatencyStat | `${(typeof LATENCY_PREFIXES)[number]}${LatencyStat}` | 'error_rate' | 'dropped_rate' | 'throughput' | 'errors' | 'dropped';

const METRICS: readonly string[] = [
  ...LATENCY_STATS,
  ...LATENCY_PREFIXES.flatMap((prefix) => LATENCY_STATS.map((s) => `${prefix}${s}`)),
  'error_rate',
  'dropped_rate',
  'throughput',
  'errors',
  'dropped',
];
const TIME_UNITS: Record<string, number> = { us: 0.001, µs: 0.001, ms: 1, s: 1000 };

export class ThresholdError extends ValidationError {
  constructor(expression: string, rule: string) {
    super(ErrorCode.THRESHOLD, 'threshold', `threshold ${JSON.stringify(expression)}: ${rule}`);
  }
}

export function parseThreshold(expression: string): Threshold {
  const match = /^\s*([a-z_][a-z0-9_.]*)\s*(<=|>=|<|>)\s*(\d+(?:\.\d+)?)\s*([a-zµ%/]*)\s*$/i.exec(expression);
  if (!match) throw new ThresholdError(expression, 'must be METRIC OP VALUE[UNIT], e.g. p95<500ms, error_rate<1% or throughput>5');
  const [, metric, op, number, unit] = match as unknown as [string, string, Threshold['op'], string, string];
  if (!METRICS.includes(metric)) throw new ThresholdError(expression, `metric must be one of ${METRICS.join(', ')}`);
  const amount = Number(number);
  let value: number;
  if (LATENCY_STATS.includes(metric.replace(/^(service|ttfc|tpoc)_/, '') as LatencyStat)) {
    const scale = TIME_UNITS[unit || 'ms'];
    if (scale === undefined) throw new ThresholdError(expression, `a latency takes a unit of us, ms or s (ms when none), got ${JSON.stringify(unit)}`);
    value = amount * scale;
  } else if (metric === 'error_rate' || metric === 'dropped_rate') {
    if (unit !== '%' && unit !== '') throw new ThresholdError(expression, `a rate is a percentage (1%) or a fraction (0.01), got unit ${JSON.stringify(unit)}`);
    value = unit === '%' ? amount / 100 : amount;
    if (value > 1) throw new ThresholdError(expression, 'a rate must be at most 100% (or 1)');
  } else if (metric === 'throughput') {
    if (unit !== '' && unit !== '/s' && unit.toLowerCase() !== 'rps')
      throw new ThresholdError(expression, `throughput is per second (throughput>5 or throughput>5/s), got unit ${JSON.stringify(unit)}`);
    value = amount;
  } else {
    if (unit !== '') throw new ThresholdError(expression, `${metric} is a count and takes no unit, got ${JSON.stringify(unit)}`);
    value = amount;
  }
  return { expression: expression.trim(), metric: metric as ThresholdMetric, op, value };
}

/** The figures thresholds are judged on (a load result provides them). */
export interface ThresholdInputs {
  latency: Record<'p50' | 'p90' | 'p95' | 'p99' | 'p999' | 'max' | 'mean', number>;
  serviceTime: Record<'p50' | 'p90' | 'p95' | 'p99' | 'p999' | 'max' | 'mean', number>;
  completed: number;
  errors: number;
  dropped: number;
  scheduled: number;
  throughput: number;
  /** A run whose iterations streamed. */
  stream?: {
    timeToFirstChunk: Record<'p50' | 'p90' | 'p95' | 'p99' | 'p999' | 'max' | 'mean', number>;
    timePerOutputChunk: Record<'p50' | 'p90' | 'p95' | 'p99' | 'p999' | 'max' | 'mean', number>;
  };
}

export interface ThresholdOutcome {
  expression: string;
  actual: number;
  passed: boolean;
}

export function actualFor(metric: ThresholdMetric, inputs: ThresholdInputs): number {
  const stat = (name: string) => (name === 'p99.9' ? 'p999' : name) as keyof ThresholdInputs['latency'];
  if (metric.startsWith('service_')) return inputs.serviceTime[stat(metric.slice('service_'.length))];
  // NaN when nothing streamed: every comparison with it is false, so the threshold fails.
  if (metric.startsWith('ttfc_')) return inputs.stream?.timeToFirstChunk[stat(metric.slice('ttfc_'.length))] ?? NaN;
  if (metric.startsWith('tpoc_')) return inputs.stream?.timePerOutputChunk[stat(metric.slice('tpoc_'.length))] ?? NaN;
  switch (metric) {
    case 'error_rate':
      return inputs.completed > 0 ? inputs.errors / inputs.completed : 0;
    case 'dropped_rate':
      return inputs.scheduled > 0 ? inputs.dropped / inputs.scheduled : 0;
    case 'throughput':
      return inputs.throughput;
    case 'errors':
      return inputs.errors;
    case 'dropped':
      return inputs.dropped;
    default:
      return inputs.latency[stat(metric)];
  }
}

export function evaluateThresholds(thresholds: readonly Threshold[], inputs: ThresholdInputs): ThresholdOutcome[] {
  return thresholds.map((t) => {
    const actual = actualFor(t.metric, inputs);
    const passed = t.op === '<' ? actual < t.value : t.op === '<=' ? actual <= t.value : t.op === '>' ? actual > t.value : actual >= t.value;
    return { expression: t.expression, actual, passed };
  });
}

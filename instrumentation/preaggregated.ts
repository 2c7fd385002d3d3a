import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { hrTime } from '@opentelemetry/core';
import { AggregationTemporality, DataPointType, type CollectionResult, type MetricData, type MetricProducer } from '@opentelemetry/sdk-metrics';

/**
 * Histograms on the hot path, aggregated by agentperf and handed to OpenTelemetry only when a
 * reader collects (a MetricProducer). A synchronous OpenTelemetry histogram hashes its attribute
 * set on every record (sorting keys, building a string); here the caller keeps the series it
 * records into, so a record is a bucket search and four number updates.
 *
 * The data are exactly what an OpenTelemetry explicit-bucket histogram with the same boundaries
 * exports, cumulative: bucket i counts values in (boundaries[i-1], boundaries[i]], the last one
 * everything above; sum, count, min and max (a test compares the two side by side).
 */
export class BucketSeries {
  readonly counts: number[];
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  constructor(
    readonly attributes: Attributes,
    private readonly boundaries: readonly number[],
  ) {
    this.counts = new Array<number>(boundaries.length + 1).fill(0);
  }

  record(value: number): void {
    // Not a number or negative: dropped, as OpenTelemetry drops them for histograms.
    if (!(value >= 0)) return;
    const b = this.boundaries;
    let i = 0;
    while (i < b.length && value > b[i]) i++;
    this.counts[i]++;
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }
}

type Key = string | number | undefined;
type Level = Map<Key, Level | BucketSeries>;

/**
 * One histogram metric: its descriptor and its series, one per attribute set. A series is
 * found by up to five keys through nested maps: the keys are the strings and numbers the caller
 * already has (agent and model names, a port), whose hashes are cached, so no key string is
 * built per record.
 */
export class BucketHistogram {
  private readonly root: Level = new Map();
  private readonly all: BucketSeries[] = [];

  constructor(
    readonly name: string,
    readonly options: { unit: string; description: string; boundaries: readonly number[] },
  ) {}

  /** The series for the keys; `attributes` is called only the first time they are seen. */
  series(a: Key, b: Key, c: Key, d: Key, e: Key, attributes: () => Attributes): BucketSeries {
    const l4 = this.level(this.level(this.level(this.level(this.root, a), b), c), d);
    let s = l4.get(e) as BucketSeries | undefined;
    if (!s) {
      s = new BucketSeries(attributes(), this.options.boundaries);
      l4.set(e, s);
      this.all.push(s);
    }
    return s;
  }

  private level(from: Level, key: Key): Level {
    let next = from.get(key) as Level | undefined;
    if (!next) from.set(key, (next = new Map()));
    return next;
  }

  /** Every series, for a collection. */
  get seriesList(): readonly BucketSeries[] {
    return this.all;
  }
}

/** What a series had at a delta reader's last collection. */
interface Seen {
  counts: number[];
  count: number;
  sum: number;
}

/**
 * One reader's view of the histograms: cumulative (Prometheus, and OTLP by default), or delta
 * when the reader asks for it (OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE): then each
 * collection gives what was recorded since the reader's last one. A delta point has no min or
 * max (they are optional in OTLP): the series keep one running min and max, not one per reader
 * and interval.
 */
class ReaderView implements MetricProducer {
  private readonly seen = new Map<BucketSeries, Seen>();
  private last: HrTime;

  constructor(
    private readonly producer: PreaggregatedProducer,
    private readonly temporality: AggregationTemporality,
  ) {
    this.last = producer.startTime;
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- MetricProducer.collect returns a promise, and a throw must reach the reader as a rejection
  async collect(): Promise<CollectionResult> {
    const endTime = hrTime();
    const delta = this.temporality === AggregationTemporality.DELTA;
    const startTime = delta ? this.last : this.producer.startTime;
    const metrics: MetricData[] = [];
    for (const h of this.producer.histograms) {
      if (h.seriesList.length === 0) continue;
      metrics.push({
        descriptor: { name: h.name, description: h.options.description, unit: h.options.unit, valueType: ValueType.DOUBLE },
        aggregationTemporality: this.temporality,
        dataPointType: DataPointType.HISTOGRAM,
        dataPoints: h.seriesList.map((s) => {
          const boundaries = [...h.options.boundaries];
          if (!delta)
            return {
              attributes: s.attributes,
              startTime,
              endTime,
              value: { buckets: { boundaries, counts: [...s.counts] }, count: s.count, sum: s.sum, ...(s.count > 0 ? { min: s.min, max: s.max } : {}) },
            };
          const before = this.seen.get(s) ?? { counts: s.counts.map(() => 0), count: 0, sum: 0 };
          const now: Seen = { counts: [...s.counts], count: s.count, sum: s.sum };
          this.seen.set(s, now);
          return {
            attributes: s.attributes,
            startTime,
            endTime,
            value: {
              buckets: { boundaries, counts: now.counts.map((c, i) => c - before.counts[i]) },
              count: now.count - before.count,
              sum: now.sum - before.sum,
            },
          };
        }),
      });
    }
    this.last = endTime;
    // The reader keeps its own resource (the MeterProvider's) and takes only the scope metrics.
    return { resourceMetrics: { resource: undefined as never, scopeMetrics: metrics.length > 0 ? [{ scope: this.producer.scope, metrics }] : [] }, errors: [] };
  }
}

/**
 * The hot-path histograms, handed to metric readers at collection time: each reader gets its
 * own view (`forReader`), cumulative or delta as the reader asks.
 */
export class PreaggregatedProducer implements MetricProducer {
  readonly histograms: BucketHistogram[] = [];
  readonly startTime = hrTime();
  private readonly cumulative = new ReaderView(this, AggregationTemporality.CUMULATIVE);

  constructor(readonly scope: { name: string; version?: string }) {}

  histogram(name: string, options: BucketHistogram['options']): BucketHistogram {
    const h = new BucketHistogram(name, options);
    this.histograms.push(h);
    return h;
  }

  /** A view for one reader, in the temporality it asks for histograms. */
  forReader(temporality: AggregationTemporality): MetricProducer {
    return temporality === AggregationTemporality.DELTA ? new ReaderView(this, temporality) : this.cumulative;
  }

  /** Cumulative. */
  collect(): Promise<CollectionResult> {
    return this.cumulative.collect();
  }
}

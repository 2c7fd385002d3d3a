import { Agent, type Dispatcher } from 'undici';
import { HTTP_SERVER_DURATION } from '../../instrumentation/http-server.ts';
import { prometheusBaseName } from '../../instrumentation/metric-export.ts';
import { METRIC_UNITS, METRICS } from '../../instrumentation/names.ts';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  PeriodicExportingMetricReader,
  type MetricProducer,
  type MetricReader,
} from '@opentelemetry/sdk-metrics';

/**
 * An in-memory metric reader for `startInstrumentation({ metricReader })`: called with
 * agentperf's metric producers, it makes the reader; `collect()` reads it.
 */
export function inMemoryReader() {
  let reader: MetricReader | undefined;
  const make = (producers: MetricProducer[]) =>
    (reader = new PeriodicExportingMetricReader({
      exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
      exportIntervalMillis: 3_600_000,
      metricProducers: producers,
    }));
  return Object.assign(make, { collect: () => reader!.collect() });
}

type Collectable = Pick<MetricReader, 'collect'>;

type Point = { attributes: Record<string, unknown>; value: number | { count: number; sum?: number } };

/** The data points of one metric, from a fresh collection. */
export async function collectPoints(reader: Collectable, name: string): Promise<Point[]> {
  const { resourceMetrics } = await reader.collect();
  const points: Point[] = [];
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name === name) for (const p of metric.dataPoints) points.push({ attributes: p.attributes, value: p.value });
    }
  }
  return points;
}

/** Sum of counter values (or histogram counts) whose attributes include `where`. */
export async function total(reader: Collectable, name: string, where: Record<string, unknown> = {}): Promise<number> {
  let sum = 0;
  for (const p of await collectPoints(reader, name)) {
    if (!Object.entries(where).every(([k, v]) => p.attributes[k] === v)) continue;
    sum += typeof p.value === 'number' ? p.value : p.value.count;
  }
  return sum;
}

/** An undici Agent that remembers the headers of every request it sends. */
export class RecordingAgent extends Agent {
  readonly sent: string[] = [];
  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    this.sent.push(JSON.stringify(options.headers));
    return super.dispatch(options, handler);
  }
}

/** Every metric family agentperf exports, by its Prometheus name (before `_total`, `_bucket`, ...): each instrument's name and unit, named as the exporter names them. */
export function prometheusFamilies(): Set<string> {
  const families = Object.entries(METRICS).map(([key, name]) => prometheusBaseName(name, METRIC_UNITS[key as keyof typeof METRICS]));
  return new Set([...families, prometheusBaseName(HTTP_SERVER_DURATION, 's')]);
}

import type { MetricReader } from '@opentelemetry/sdk-metrics';

type Point = { attributes: Record<string, unknown>; value: number | { count: number; sum?: number } };

/** The data points of one metric, from a fresh collection. */
export async function collectPoints(reader: MetricReader, name: string): Promise<Point[]> {
  const { resourceMetrics } = await reader.collect();
  const points: Point[] = [];
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name === name) for (const p of metric.dataPoints) points.push({ attributes: p.attributes, value: p.value as Point['value'] });
    }
  }
  return points;
}

/** Sum of counter values (or histogram counts) whose attributes include `where`. */
export async function total(reader: MetricReader, name: string, where: Record<string, unknown> = {}): Promise<number> {
  let sum = 0;
  for (const p of await collectPoints(reader, name)) {
    if (!Object.entries(where).every(([k, v]) => p.attributes[k] === v)) continue;
    sum += typeof p.value === 'number' ? p.value : p.value.count;
  }
  return sum;
}

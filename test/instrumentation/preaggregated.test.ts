import test from 'ava';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { AGENT_DURATION_BUCKETS, OPERATION_DURATION_BUCKETS, TOKEN_USAGE_BUCKETS } from '../../instrumentation/names.ts';
import { PreaggregatedProducer } from '../../instrumentation/preaggregated.ts';
import { mulberry32 } from '../../src/random.ts';
import { inMemoryReader } from './helpers.ts';

// The hot-path histograms agentperf aggregates itself must export exactly what an OpenTelemetry
// histogram with the same boundaries exports (buckets, count, sum, min, max): the same values
// go into both, side by side, and the collected data points are compared.

for (const [name, boundaries, scale] of [
  ['operation duration', OPERATION_DURATION_BUCKETS, 10],
  ['token usage', TOKEN_USAGE_BUCKETS, 100_000],
  ['agent duration', AGENT_DURATION_BUCKETS, 2],
] as const) {
  test(`${name}: the same data as an OpenTelemetry histogram`, async (t) => {
    const reader = inMemoryReader();
    const producer = new PreaggregatedProducer({ name: 'agentperf' });
    const provider = new MeterProvider({ readers: [reader([producer])] });
    const reference = provider.getMeter('reference').createHistogram('reference', { unit: 's', advice: { explicitBucketBoundaries: [...boundaries] } });
    const ours = producer.histogram('ours', { unit: 's', description: '', boundaries });
    const random = mulberry32(7);
    const values: number[] = [0, ...boundaries, ...boundaries.map((b) => b * 1.000001), boundaries.at(-1)! * 10, -1];
    for (let i = 0; i < 5_000; i++) values.push(random() ** 3 * scale);
    for (const [i, value] of values.entries()) {
      const attributes = { 'gen_ai.agent.name': i % 3 === 0 ? 'a' : 'b' };
      reference.record(value, attributes);
      ours.series(attributes['gen_ai.agent.name'], undefined, undefined, undefined, undefined, () => attributes).record(value);
    }
    const { resourceMetrics } = await reader.collect();
    const points = (metric: string) => {
      const found = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === metric)!;
      return found.dataPoints
        .map((p) => ({ attributes: p.attributes, value: p.value }))
        .sort((x, y) => String(x.attributes['gen_ai.agent.name']).localeCompare(String(y.attributes['gen_ai.agent.name'])));
    };
    const expected = points('reference');
    t.is(expected.length, 2);
    t.deepEqual(points('ours'), expected);
    await provider.shutdown();
  });
}

test('bench overhead own-cost runs the core channels on and off and reports µs per call', async (t) => {
  const { measureOwnCost } = await import('../../src/bench/instrumentation-cost.ts');
  const { formatOverheadBench } = await import('../../src/report/bench.ts');
  const result = await measureOwnCost({ pairs: 3, warmupPairs: 1, callsPerRound: 200 });
  t.is(result.comparison.n, 3);
  for (const v of [result.offUsPerCall, result.onUsPerCall, result.addedUs.estimate, result.addedUs.low, result.addedUs.high]) t.true(Number.isFinite(v));
  t.true(result.addedUs.low <= result.addedUs.estimate && result.addedUs.estimate <= result.addedUs.high);
  const text = formatOverheadBench({
    options: { workloads: ['own-cost'], pairs: 3, warmupPairs: 1, vus: 1, breakdown: false },
    workloads: [],
    ownCost: result,
    elapsedMs: result.elapsedMs,
  });
  t.regex(text, /agentperf's own instrumentation, per upstream call/);
  t.regex(text, /<= 10 µs: (met|MISSED|inconclusive)/);
});

test('a delta reader gets what was recorded since its last collection, as an OpenTelemetry delta histogram does (min and max left out, the sum to 12 digits)', async (t) => {
  const { AggregationTemporality, InMemoryMetricExporter, PeriodicExportingMetricReader } = await import('@opentelemetry/sdk-metrics');
  const producer = new PreaggregatedProducer({ name: 'agentperf' });
  const reader = new PeriodicExportingMetricReader({
    exporter: new InMemoryMetricExporter(AggregationTemporality.DELTA),
    exportIntervalMillis: 3_600_000,
    metricProducers: [producer.forReader(AggregationTemporality.DELTA)],
  });
  const provider = new MeterProvider({ readers: [reader] });
  const reference = provider.getMeter('reference').createHistogram('reference', { advice: { explicitBucketBoundaries: [...OPERATION_DURATION_BUCKETS] } });
  const ours = producer.histogram('ours', { unit: 's', description: '', boundaries: OPERATION_DURATION_BUCKETS });
  const random = mulberry32(11);
  // Counts exactly; the sum to 1e-12 relative (a difference of running sums, not a sum of the
  // interval: the last bits may differ).
  const strip = (v: unknown) => {
    const { min: _min, max: _max, sum, ...rest } = v as Record<string, unknown>;
    return { ...rest, sum: Number((sum as number).toPrecision(12)) };
  };
  for (const round of [0, 1, 2]) {
    for (let i = 0; i < 1_000 * (round + 1); i++) {
      const value = random() ** 2 * 5;
      reference.record(value);
      ours.series(undefined, undefined, undefined, undefined, undefined, () => ({})).record(value);
    }
    const { resourceMetrics } = await reader.collect();
    const all = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
    const get = (name: string) => all.find((m) => m.descriptor.name === name)!;
    t.is(get('ours').aggregationTemporality, AggregationTemporality.DELTA);
    t.deepEqual(strip(get('ours').dataPoints[0].value), strip(get('reference').dataPoints[0].value), `round ${round}`);
  }
  await provider.shutdown();
});

test.serial('a plain metric reader (not a factory) still gets the pre-aggregated histograms', async (t) => {
  const { AggregationTemporality, InMemoryMetricExporter, PeriodicExportingMetricReader } = await import('@opentelemetry/sdk-metrics');
  const { startInstrumentation } = await import('../../instrumentation/start.ts');
  const { memoryHitChannel } = await import('../../src/diagnostics.ts');
  const reader = new PeriodicExportingMetricReader({
    exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
    exportIntervalMillis: 3_600_000,
  });
  const instrumentation = await startInstrumentation({ prometheus: false, metricReader: reader, spanExporter: 'none' });
  try {
    memoryHitChannel.publish({ agent: 'a', model: 'm', latencyMs: 0.004 });
    const { resourceMetrics } = await reader.collect();
    const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === 'gen_ai.invoke_agent.duration');
    t.is((metric?.dataPoints[0]?.value as { count: number } | undefined)?.count, 1);
  } finally {
    await instrumentation.stop();
  }
});

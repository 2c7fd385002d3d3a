// What every export does to agentperf's metrics: Prometheus names with their units (checked
// against the OpenTelemetry-to-Prometheus compatibility rules' examples), valid `# UNIT` lines,
// one scope per export; and no server labels for the embedded simulator's per-run port.
import test from 'ava';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { AggregationTemporality, DataPointType, type MetricData, type PushMetricExporter, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { startInstrumentation } from '../../instrumentation/start.ts';
import { mergeScopes, prometheusBaseName, ScopeMergingExporter, prometheusText, prometheusUnitWord } from '../../instrumentation/metric-export.ts';
import { Orchestrator } from '../../src/orchestrator/orchestrator.ts';
import { setupProvider } from '../../src/providers/setup.ts';
import { TEST_AGENTS } from '../helpers.ts';
import { collectPoints, inMemoryReader } from './helpers.ts';

test('units become the words Prometheus names carry; annotations, 1 and unknown units add nothing', (t) => {
  const cases: Array<[string | undefined, string | undefined]> = [
    ['s', 'seconds'],
    ['ms', 'milliseconds'],
    ['By', 'bytes'],
    ['KiBy', 'kibibytes'],
    ['By/s', 'bytes_per_second'],
    ['%', 'percent'],
    ['{token}', undefined],
    ['{call}', undefined],
    ['1', undefined],
    ['', undefined],
    [undefined, undefined],
    ['constructor', undefined],
    ['furlong', undefined],
    ['By/s/s', undefined],
  ];
  for (const [unit, word] of cases) t.is(prometheusUnitWord(unit), word, String(unit));
  t.is(prometheusBaseName('gen_ai.client.operation.duration', 's'), 'gen_ai_client_operation_duration_seconds');
  t.is(prometheusBaseName('http.server.request.duration', 's'), 'http_server_request_duration_seconds');
  t.is(prometheusBaseName('agentperf.cache.bytes', 'By'), 'agentperf_cache_bytes', 'a name that ends with its unit keeps it once');
  t.is(prometheusBaseName('gen_ai.client.token.usage', '{token}'), 'gen_ai_client_token_usage');
});

const metric = (name: string, unit: string, type: DataPointType, value: number): MetricData =>
  ({
    descriptor: { name, unit, description: name, valueType: 1 },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: type,
    isMonotonic: true,
    dataPoints: [{ startTime: [0, 0], endTime: [1, 0], attributes: { tier: 'memory' }, value }],
  }) as unknown as MetricData;

const exported = (): ResourceMetrics =>
  ({
    resource: { attributes: {} },
    scopeMetrics: [
      {
        scope: { name: 'agentperf', version: '1' },
        metrics: [metric('agentperf.cache.bytes', 'By', DataPointType.GAUGE, 5), metric('agentperf.agent.calls', '{call}', DataPointType.SUM, 2)],
      },
      { scope: { name: 'someone-else' }, metrics: [metric('their.queue.wait', 's', DataPointType.GAUGE, 1)] },
      { scope: { name: 'agentperf', version: '1' }, metrics: [metric('agentperf.agent.queue_wait', 's', DataPointType.GAUGE, 3)] },
    ],
  }) as unknown as ResourceMetrics;

test('one ScopeMetrics per scope: the same scope merged in first-seen order, others kept; the last export goes through the bounded exporter', async (t) => {
  const merged = mergeScopes(exported());
  t.deepEqual(
    merged.scopeMetrics.map((s) => [s.scope.name, s.metrics.map((m) => m.descriptor.name)]),
    [
      ['agentperf', ['agentperf.cache.bytes', 'agentperf.agent.calls', 'agentperf.agent.queue_wait']],
      ['someone-else', ['their.queue.wait']],
    ],
  );
  const sent: Array<[string, number]> = [];
  const recording = (name: string): PushMetricExporter => ({
    export: (m, done) => (sent.push([name, m.scopeMetrics.length]), done({ code: 0 })),
    forceFlush: async () => {},
    shutdown: async () => {},
  });
  const exporter = new ScopeMergingExporter(recording('regular'), recording('bounded'));
  const send = () => new Promise<void>((resolve) => exporter.export(exported(), () => resolve()));
  await send();
  exporter.finish();
  await send();
  t.deepEqual(
    sent,
    [
      ['regular', 2],
      ['bounded', 2],
    ],
    'one ScopeMetrics per scope; the export at shutdown goes through the bounded exporter',
  );
});

test('the Prometheus text: names with units, every # UNIT line names a family that ends with its unit, counters get none', (t) => {
  const text = prometheusText(exported());
  t.regex(text, /^agentperf_cache_bytes\{tier="memory",otel_scope_name="agentperf",otel_scope_version="1"\} 5$/m);
  t.regex(text, /^agentperf_agent_queue_wait_seconds\{/m);
  t.regex(text, /^their_queue_wait_seconds\{/m);
  t.regex(text, /^agentperf_agent_calls_total\{/m);
  const units = [...text.matchAll(/^# UNIT (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]);
  t.deepEqual(units.map(([family]) => family).sort(), ['agentperf_agent_queue_wait_seconds', 'agentperf_cache_bytes', 'their_queue_wait_seconds']);
  for (const [family, unit] of units) t.true(family.endsWith(`_${unit}`), `# UNIT ${family} ${unit}`);
});

test.serial('the embedded simulator: client metrics carry no server.address or server.port (its port is new every run); the span keeps them', async (t) => {
  const reader = inMemoryReader();
  const spans = new InMemorySpanExporter();
  const instrumentation = await startInstrumentation({ metricReader: reader, spanExporter: spans, spanProcessor: 'simple' });
  const setup = await setupProvider({ env: {} });
  const orchestrator = new Orchestrator({ agents: TEST_AGENTS, provider: setup.provider });
  try {
    t.true(setup.provider.server!.ephemeralPort);
    await orchestrator.executeAgent('python-expert', 'where do ports go?');
    const points = await collectPoints(reader, 'gen_ai.client.operation.duration');
    t.is(points.length, 1);
    t.is(points[0].attributes['server.port'], undefined);
    t.is(points[0].attributes['server.address'], undefined);
    t.is(points[0].attributes['gen_ai.request.model'], TEST_AGENTS[0].model);
    const client = spans.getFinishedSpans().find((s) => s.kind === SpanKind.CLIENT)!;
    t.is(client.attributes['server.port'], Number(new URL(setup.target).port));
  } finally {
    await orchestrator.close();
    await setup.stop();
    await instrumentation.stop();
  }
});

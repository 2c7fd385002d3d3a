import test from 'ava';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { LightTracer } from '../../instrumentation/light-span.ts';
import { createServer } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { WorkerSpanProcessor } from '../../instrumentation/worker-span-processor.ts';
import { OtlpReceiver } from './otlp-receiver.ts';

// Each test sets the OTLP endpoint in process.env before its worker starts (a worker copies the environment then).
const serial = test.serial;

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function withEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  return fn().finally(() => {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
}

serial(
  'the export worker delivers every span to a real OTLP receiver, in order, with its attributes, parent and resource, while the main thread keeps running',
  async (t) => {
    const receiver = await new OtlpReceiver().start();
    try {
      const processor = await withEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces` }, () =>
        WorkerSpanProcessor.start({ maxQueueSize: 100_000, maxExportBatchSize: 512, scheduledDelayMillis: 50 }),
      );
      const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'worker-export-test' }), spanProcessors: [processor] });
      const tracer = provider.getTracer('agentperf', '0.0.0');
      const delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      const count = 5_000;
      // Under load: spans end in bursts of 250, the event loop turning between bursts.
      for (let i = 0; i < count; i += 250) {
        for (let j = i; j < i + 250; j++) {
          const parent = tracer.startSpan(`parent ${j}`);
          const child = tracer.startSpan(
            `span ${j}`,
            { kind: SpanKind.CLIENT, attributes: { 'gen_ai.request.model': 'claude-sonnet-5-5', index: j } },
            trace.setSpan(context.active(), parent),
          );
          child.setStatus({ code: SpanStatusCode.OK });
          child.end();
          parent.end();
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
      const stats = await processor.flushWithStats();
      delay.disable();
      t.deepEqual(stats, { exported: 2 * count, failed: 0, dropped: 0 });
      const spans = receiver.spans();
      t.is(spans.length, 2 * count);
      const children = spans.filter((s) => s.name.startsWith('span '));
      t.deepEqual(
        children.map((s) => s.name),
        Array.from({ length: count }, (_, i) => `span ${i}`),
        'in the order they ended',
      );
      const parents = new Map(spans.filter((s) => s.name.startsWith('parent ')).map((s) => [s.name, s]));
      for (const child of children.slice(0, 50)) {
        const index = Number(child.name.slice(5));
        t.is(child.attributes.index, index);
        t.is(child.kind, 'SPAN_KIND_CLIENT');
        t.is(child.parentSpanId, parents.get(`parent ${index}`)!.spanId);
        t.is(child.resource['service.name'], 'worker-export-test');
      }
      // Not a speed target: a guard that export never waits on the main thread (serialization and
      // HTTP run in the worker). The figure is logged for the reader.
      t.log(
        `event-loop delay while ${2 * count} spans were exported: p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms, max ${(delay.max / 1e6).toFixed(1)} ms`,
      );
      t.true(delay.max / 1e6 < 1000, 'the main thread was never held for a second');
      await provider.shutdown();
    } finally {
      await receiver.close();
    }
  },
);

serial('with the receiver down, spans beyond the queue bound are dropped and counted, never waited for; shutdown still ends', async (t) => {
  const port = await closedPort();
  const processor = await withEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${port}/v1/traces`, OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '500' }, () =>
    WorkerSpanProcessor.start({ maxQueueSize: 200, maxExportBatchSize: 100, scheduledDelayMillis: 20 }),
  );
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const tracer = provider.getTracer('agentperf');
  for (let i = 0; i < 1_000; i++) tracer.startSpan(`span ${i}`).end();
  const stats = await processor.flushWithStats();
  t.is(stats.dropped, 800, 'the queue holds 200; the other 800 are dropped at once');
  t.is(stats.exported, 0);
  t.is(stats.failed, 200, 'the queued ones were tried and counted as failed');
  await provider.shutdown();
});

serial("light spans' shared start attributes are sent once and merged back in the worker: every span arrives with its whole attribute set", async (t) => {
  const receiver = await new OtlpReceiver().start();
  try {
    const processor = await withEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces` }, () =>
      WorkerSpanProcessor.start({ maxQueueSize: 10_000, maxExportBatchSize: 512, scheduledDelayMillis: 50 }),
    );
    const tracer = new LightTracer({
      processors: [processor],
      sampler: new AlwaysOnSampler(),
      resource: resourceFromAttributes({ 'service.name': 'light-export' }),
      scope: { name: 'agentperf', version: '0.0.0' },
    });
    const shared = Object.freeze({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'claude-sonnet-5-5' });
    for (let i = 0; i < 300; i++) {
      const span = tracer.startSpan(`chat ${i}`, { kind: SpanKind.CLIENT, attributes: i % 3 === 0 ? { unshared: i } : shared });
      span.setAttributes({ index: i });
      span.end();
    }
    t.deepEqual(await processor.flushWithStats(), { exported: 300, failed: 0, dropped: 0 });
    const spans = receiver.spans();
    t.is(spans.length, 300);
    for (const [i, s] of spans.entries()) {
      t.deepEqual(
        s.attributes,
        i % 3 === 0 ? { unshared: i, index: i } : { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'claude-sonnet-5-5', index: i },
        s.name,
      );
    }
    await processor.shutdown();
  } finally {
    await receiver.close();
  }
});

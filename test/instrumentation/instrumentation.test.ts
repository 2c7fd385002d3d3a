import test from 'ava';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import pino from 'pino';
import { Writable } from 'node:stream';
import { startInstrumentation } from '../../instrumentation/start.ts';
import { mergeSnapshots, LatencyRecorder } from '../../instrumentation/hdr-registry.ts';
import { ResponseCache } from '../../src/cache/response-cache.ts';
import { systemClock, type ManualClock } from '../../src/clock.ts';
import { ALL_CHANNELS, memoryHitChannel } from '../../src/diagnostics.ts';
import { logMixin } from '../../src/logger.ts';
import { mulberry32 } from '../../src/random.ts';
import { percentile } from '../../src/stats/percentiles.ts';
import { executeWorkflow, orchestratorRunner } from '../../src/workflow/execute.ts';
import { teardown, withSimulator } from '../helpers.ts';
import { collectPoints, inMemoryReader, total } from './helpers.ts';

// The instrumentation registers global providers: one test at a time in this file.
const serial = test.serial;

function anySubscriber(): boolean {
  return ALL_CHANNELS.tracing.some((c) => c.hasSubscribers) || ALL_CHANNELS.plain.some((c) => c.hasSubscribers);
}

const metricReader = inMemoryReader;

serial('switched off means off: no subscriber exists before start or after stop', async (t) => {
  t.false(anySubscriber());
  const setup = await withSimulator({}, {}, systemClock as ManualClock);
  await setup.orchestrator.executeAgent('python-expert', 'uninstrumented');
  const instrumentation = await startInstrumentation({
    prometheus: false,
    metricReader: metricReader(),
    spanExporter: new InMemorySpanExporter(),
    spanProcessor: 'simple',
  });
  t.true(anySubscriber());
  await setup.orchestrator.executeAgent('python-expert', 'instrumented');
  t.is(instrumentation.hdr.agentLatency().count, 1, 'only the call made while on was recorded');
  await instrumentation.stop();
  t.false(anySubscriber());
  await teardown(setup);
});

serial('span tree: one agent span, a chat client span under it per attempt (resends counted), retries as events', async (t) => {
  const spans = new InMemorySpanExporter();
  const instrumentation = await startInstrumentation({ prometheus: false, metricReader: metricReader(), spanExporter: spans, spanProcessor: 'simple' });
  const setup = await withSimulator({ faults: { schedule: ['529', '529'], retryAfterMs: 1 } }, {}, systemClock as ManualClock);
  try {
    const result = await setup.orchestrator.executeAgent('python-expert', 'with two retries');
    t.is(result.attempts, 3);
    const finished = spans.getFinishedSpans();
    const agent = finished.find((s) => s.name === 'invoke_agent python-expert')!;
    t.truthy(agent);
    t.is(agent.kind, SpanKind.INTERNAL);
    t.is(agent.attributes['gen_ai.operation.name'], 'invoke_agent');
    t.is(agent.attributes['gen_ai.agent.name'], 'python-expert');
    t.is(agent.attributes['gen_ai.request.model'], 'claude-sonnet-5-5');
    t.is(agent.attributes['gen_ai.usage.output_tokens'], result.usage.outputTokens);
    t.is(agent.attributes['agentperf.attempts'], 3);
    t.is(agent.attributes['agentperf.cache.result'], 'bypass');
    t.deepEqual(
      agent.events.map((e) => [e.name, e.attributes?.['agentperf.retry.reason']]),
      [
        ['retry', 'overloaded_error'],
        ['retry', 'overloaded_error'],
      ],
    );
    const children = finished.filter((s) => s.parentSpanContext?.spanId === agent.spanContext().spanId);
    t.is(children.length, 3, 'one chat client span per attempt');
    for (const [index, child] of children.entries()) {
      t.is(child.kind, SpanKind.CLIENT);
      t.is(child.name, 'chat claude-sonnet-5-5');
      t.is(child.attributes['gen_ai.operation.name'], 'chat');
      t.is(child.attributes['http.request.resend_count'], index === 0 ? undefined : index);
      t.is(child.spanContext().traceId, agent.spanContext().traceId);
    }
    t.is(finished.length, 4, 'no SDK span beside them');
    t.is(finished.filter((s) => s.kind === SpanKind.CLIENT && s.status.code === SpanStatusCode.ERROR).length, 2);
  } finally {
    await teardown(setup);
    await instrumentation.stop();
  }
});

serial('workflows: a workflow span, a step span per step under it, each agent span under its step; runs and steps counted', async (t) => {
  const spans = new InMemorySpanExporter();
  const reader = metricReader();
  const instrumentation = await startInstrumentation({ prometheus: false, metricReader: reader, spanExporter: spans, spanProcessor: 'simple' });
  const setup = await withSimulator({}, {}, systemClock as ManualClock);
  try {
    const workflow = {
      name: 'review',
      steps: [
        { id: 'ask', agent: 'python-expert', task: 'Explain {{input}}' },
        { id: 'check', agent: 'legacy-helper', task: 'Check {{steps.ask.output}}', dependsOn: ['ask'] },
        { id: 'broken', agent: 'no-such-agent', task: 'fails', dependsOn: ['ask'] },
      ],
    };
    const run = await executeWorkflow(workflow, orchestratorRunner(setup.orchestrator), {
      workflowId: 'wf-1',
      maxParallel: 2,
      onError: 'continue',
      input: 'closures',
    });
    t.is(run.status, 'failed');
    const finished = spans.getFinishedSpans();
    const root = finished.find((s) => s.name === 'invoke_workflow review')!;
    t.truthy(root);
    t.is(root.attributes['agentperf.workflow.id'], 'wf-1');
    t.is(root.attributes['agentperf.workflow.status'], 'failed');
    t.is(root.status.code, SpanStatusCode.ERROR);
    const stepSpans = finished.filter((s) => s.name.startsWith('workflow_step '));
    t.deepEqual(stepSpans.map((s) => s.attributes['agentperf.workflow.step.id']).sort(), ['ask', 'broken', 'check']);
    for (const step of stepSpans) t.is(step.parentSpanContext?.spanId, root.spanContext().spanId);
    t.is(stepSpans.find((s) => s.name === 'workflow_step broken')!.status.code, SpanStatusCode.ERROR);
    for (const [stepId, agent] of [
      ['ask', 'python-expert'],
      ['check', 'legacy-helper'],
    ]) {
      const stepSpan = stepSpans.find((s) => s.name === `workflow_step ${stepId}`)!;
      const agentSpan = finished.find((s) => s.name === `invoke_agent ${agent}`)!;
      t.is(agentSpan.parentSpanContext?.spanId, stepSpan.spanContext().spanId, `${agent}'s span is under step ${stepId}`);
    }
    t.is(await total(reader, 'agentperf.workflow.runs', { 'agentperf.workflow.status': 'failed' }), 1);
    t.is(await total(reader, 'agentperf.workflow.steps', { outcome: 'done' }), 2);
    t.is(await total(reader, 'agentperf.workflow.steps', { outcome: 'failed' }), 1);
    t.is(await total(reader, 'agentperf.workflow.step.duration'), 3);
    t.is(await total(reader, 'gen_ai.workflow.duration'), 1);
    // The conventions' bucket advice for gen_ai.workflow.duration (instrumentation/names.ts cites the commit).
    const [workflowPoint] = await collectPoints(reader, 'gen_ai.workflow.duration');
    t.deepEqual(
      (workflowPoint.value as unknown as { buckets: { boundaries: number[] } }).buckets.boundaries,
      [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200],
    );
  } finally {
    await teardown(setup);
    await instrumentation.stop();
  }
});

serial('a failed call sets error.type and an error status on the agent span', async (t) => {
  const spans = new InMemorySpanExporter();
  const instrumentation = await startInstrumentation({ prometheus: false, metricReader: metricReader(), spanExporter: spans, spanProcessor: 'simple' });
  const setup = await withSimulator({ faults: { schedule: ['400'] } }, {}, systemClock as ManualClock);
  try {
    await t.throwsAsync(setup.orchestrator.executeAgent('python-expert', 'bad request'));
    const agent = spans.getFinishedSpans().find((s) => s.name === 'invoke_agent python-expert')!;
    t.is(agent.attributes['error.type'], 'invalid_request_error');
    t.is(agent.status.code, SpanStatusCode.ERROR);
  } finally {
    await teardown(setup);
    await instrumentation.stop();
  }
});

serial('metric values after a known workload are exact', async (t) => {
  const reader = metricReader();
  const instrumentation = await startInstrumentation({ prometheus: false, metricReader: reader, spanExporter: 'none' });
  const cache = await ResponseCache.open({});
  instrumentation.observeCache(cache);
  // One 500 then success for the first call: one retry.
  const setup = await withSimulator({ faults: { schedule: ['500'], retryAfterMs: 1 } }, { cache }, systemClock as ManualClock);
  try {
    for (let i = 0; i < 10; i++) await setup.orchestrator.executeAgent('python-expert', `question ${i}`);
    for (let i = 0; i < 10; i++) await setup.orchestrator.executeAgent('python-expert', `question ${i}`); // memory hits
    for (let i = 0; i < 3; i++) await setup.orchestrator.executeAgent('legacy-helper', `other ${i}`);
    await t.throwsAsync(setup.orchestrator.executeAgent('python-expert', '\u0000 invalid')); // rejected before the channel
    t.is(await total(reader, 'agentperf.agent.calls', { 'gen_ai.agent.name': 'python-expert', 'agentperf.cache.result': 'miss' }), 10);
    t.is(await total(reader, 'agentperf.agent.calls', { 'gen_ai.agent.name': 'python-expert', 'agentperf.cache.result': 'hit' }), 10);
    t.is(await total(reader, 'agentperf.agent.calls', { 'gen_ai.agent.name': 'legacy-helper', 'agentperf.cache.result': 'miss' }), 3);
    t.is(await total(reader, 'agentperf.cache.requests', { result: 'hit', tier: 'memory' }), 10);
    t.is(await total(reader, 'agentperf.cache.requests', { result: 'miss' }), 13);
    t.is(await total(reader, 'gen_ai.client.operation.duration'), 14, '13 successful attempts and one 500');
    t.is(await total(reader, 'gen_ai.client.operation.duration', { 'error.type': 'api_error' }), 1);
    t.is(await total(reader, 'gen_ai.client.token.usage', { 'gen_ai.token.type': 'output' }), 13);
    t.is(await total(reader, 'gen_ai.invoke_agent.duration'), 23, 'every invocation, the 10 memory hits included');
    t.is(await total(reader, 'gen_ai.invoke_agent.duration', { 'agentperf.cache.result': 'hit' }), 10);
    t.is(await total(reader, 'agentperf.retries', { reason: 'api_error' }), 1);
    t.is(await total(reader, 'agentperf.agent.in_flight'), 0);
    t.is(await total(reader, 'agentperf.cache.entries', { tier: 'memory' }), 13);
    instrumentation.observeOrchestrator(setup.orchestrator);
    t.is(await total(reader, 'agentperf.agent.queued'), 0);
    t.is(await total(reader, 'agentperf.agent.queue_limit'), setup.orchestrator.maxQueued);
    t.is(instrumentation.hdr.agentLatency().count, 23);
    t.is(instrumentation.hdr.memoryHits.snapshot().count, 10);
    t.is(instrumentation.hdr.queueWait.snapshot().count, 13);
  } finally {
    await teardown(setup);
    await cache.close();
    await instrumentation.stop();
  }
});

serial('head sampling at 0 records no span (ours nor the SDK one under it), and metrics still count the call', async (t) => {
  const spans = new InMemorySpanExporter();
  const reader = metricReader();
  const instrumentation = await startInstrumentation({ prometheus: false, metricReader: reader, spanExporter: spans, spanProcessor: 'simple', sampleRatio: 0 });
  const setup = await withSimulator({}, {}, systemClock as ManualClock);
  try {
    await setup.orchestrator.executeAgent('python-expert', 'not sampled');
    t.deepEqual(spans.getFinishedSpans(), []);
    t.is(await total(reader, 'agentperf.agent.calls', { 'gen_ai.agent.name': 'python-expert' }), 1);
    t.is(instrumentation.hdr.agentLatency().count, 1);
  } finally {
    await teardown(setup);
    await instrumentation.stop();
  }
});

serial('a subscriber that fails never throws into the core', async (t) => {
  const instrumentation = await startInstrumentation({
    prometheus: false,
    metricReader: metricReader(),
    spanExporter: 'none',
    logger: pino({ level: 'silent' }),
  });
  try {
    t.notThrows(() => memoryHitChannel.publish(null));
  } finally {
    await instrumentation.stop();
  }
});

serial('logs written inside an agent call carry its trace_id and span_id', async (t) => {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'debug', mixin: logMixin },
    new Writable({
      write: (chunk, _e, done) => {
        lines.push(JSON.parse((chunk as Buffer).toString()) as Record<string, unknown>);
        done();
      },
    }),
  );
  const spans = new InMemorySpanExporter();
  const instrumentation = await startInstrumentation({ prometheus: false, metricReader: metricReader(), spanExporter: spans, spanProcessor: 'simple' });
  const setup = await withSimulator({ faults: { schedule: ['529'], retryAfterMs: 1 } }, { logger }, systemClock as ManualClock);
  try {
    await setup.orchestrator.executeAgent('python-expert', 'logged retry');
    const agent = spans.getFinishedSpans().find((s) => s.name.startsWith('invoke_agent'))!;
    const retryLine = lines.find((l) => l.msg === 'retrying')!;
    t.is(retryLine.trace_id, agent.spanContext().traceId);
    t.is(retryLine.span_id, agent.spanContext().spanId);
  } finally {
    await teardown(setup);
    await instrumentation.stop();
  }
});

test('HDR percentiles agree with exact percentiles of the same data (3 significant digits)', (t) => {
  const random = mulberry32(5);
  const values = Array.from({ length: 20_000 }, () => Math.exp(3 + 1.2 * (random() + random() + random() - 1.5)));
  const recorder = new LatencyRecorder();
  for (const v of values) recorder.record(v);
  const sorted = [...values].sort((a, b) => a - b);
  const snapshot = recorder.snapshot();
  for (const [p, got] of [
    [50, snapshot.p50],
    [90, snapshot.p90],
    [95, snapshot.p95],
    [99, snapshot.p99],
    [99.9, snapshot.p999],
    [100, snapshot.max],
  ] as const) {
    const exact = percentile(sorted, p);
    // HDR keeps 3 significant digits (and microsecond units): within 0.1% plus half a unit.
    t.true(Math.abs(got - exact) <= exact * 0.001 + 0.0005, `p${p}: hdr ${got} vs exact ${exact}`);
  }
  t.is(snapshot.count, 20_000);
  // Interval snapshots reset; the total does not.
  t.is(recorder.intervalSnapshot().count, 20_000);
  recorder.record(1);
  t.is(recorder.intervalSnapshot().count, 1);
  t.is(recorder.snapshot().count, 20_001);
  // Merging two recorders' exports equals recording everything in one.
  const other = new LatencyRecorder();
  for (const v of values.slice(0, 1_000)) other.record(v * 2);
  const merged = mergeSnapshots([recorder.export(), other.export()]);
  t.is(merged.count, 21_001);
  t.true(merged.max >= snapshot.max);
  recorder.destroy();
  other.destroy();
});

serial(
  "serve joins the caller's trace: a W3C traceparent makes the server span its child, the agent span the server span's, and the client spans follow",
  async (t) => {
    const { buildServer } = await import('../../src/server/app.ts');
    const spans = new InMemorySpanExporter();
    const instrumentation = await startInstrumentation({ prometheus: false, metricReader: metricReader(), spanExporter: spans, spanProcessor: 'simple' });
    const setup = await withSimulator({}, {}, systemClock as ManualClock);
    const app = buildServer({ orchestrator: setup.orchestrator, stats: () => ({}), logger: pino({ level: 'silent' }) });
    try {
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const callerSpanId = '00f067aa0ba902b7';
      const response = await app.inject({
        method: 'POST',
        url: '/v1/agents/python-expert/execute',
        payload: { task: 'traced from outside' },
        headers: { traceparent: `00-${traceId}-${callerSpanId}-01`, baggage: 'tenant=acme' },
      });
      t.is(response.statusCode, 200, response.body);
      const finished = spans.getFinishedSpans();
      const server = finished.find((s) => s.name === 'POST /v1/agents/:agent/execute')!;
      t.is(server.parentSpanContext?.spanId, callerSpanId);
      const agent = finished.find((s) => s.name === 'invoke_agent python-expert')!;
      t.is(agent.spanContext().traceId, traceId);
      t.is(agent.parentSpanContext?.spanId, server.spanContext().spanId);
      const sdk = finished.filter((s) => s.parentSpanContext?.spanId === agent.spanContext().spanId);
      t.true(sdk.length >= 1);
      for (const span of sdk) t.is(span.spanContext().traceId, traceId);
      // Without the header: a trace of its own.
      await app.inject({ method: 'POST', url: '/v1/agents/python-expert/execute', payload: { task: 'untraced' } });
      const own = spans
        .getFinishedSpans()
        .filter((s) => s.name === 'POST /v1/agents/:agent/execute')
        .at(-1)!;
      t.not(own.spanContext().traceId, traceId);
      t.is(own.parentSpanContext, undefined);
    } finally {
      await app.close();
      await teardown(setup);
      await instrumentation.stop();
    }
  },
);

import test from 'ava';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startInstrumentation } from '../../instrumentation/start.ts';
import { systemClock, type ManualClock } from '../../src/clock.ts';
import { executeWorkflow, orchestratorRunner } from '../../src/workflow/execute.ts';
import { openStack } from '../../src/stack.ts';
import { TEST_AGENTS, teardown, withSimulator } from '../helpers.ts';
import { collectPoints, inMemoryReader } from './helpers.ts';

// agentperf's spans and metrics against the OpenTelemetry GenAI semantic conventions, read from
// open-telemetry/semantic-conventions-genai (model/gen-ai/spans.yaml, metrics.yaml,
// docs/gen-ai/anthropic.md; main as merged by 2026-09, commits 0990749a and debdd770) and the
// Anthropic SDK's own client span. `required` must be on every span or point; `when` lists the
// Conditionally Required ones with their condition; `recommended` are those agentperf sets
// where the data exists (this test asserts they are there when it does).

interface Row {
  required: string[];
  when?: Record<string, (attributes: Record<string, unknown>, context: { failed: boolean }) => boolean>;
  recommended?: string[];
  /** A fixed value the conventions give (an enum member or a well-known value). */
  values?: Record<string, unknown>;
}

const onError = (_: Record<string, unknown>, c: { failed: boolean }) => c.failed;
const ifAddress = (a: Record<string, unknown>) => a['server.address'] !== undefined;

const CONVENTIONS: Record<string, Row> = {
  // gen_ai.invoke_agent.internal (INTERNAL). gen_ai.provider.name is set although the current
  // conventions list it only for the CLIENT form: the value is exact, and the issue asks for it.
  invoke_agent: {
    required: ['gen_ai.operation.name', 'gen_ai.provider.name', 'gen_ai.agent.name'],
    when: { 'error.type': onError },
    recommended: ['gen_ai.request.model'],
    values: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.provider.name': 'anthropic' },
  },
  // gen_ai.client.inference / chat, as the SDK emits it (agentperf emits no client span of its own).
  chat: {
    required: ['gen_ai.operation.name', 'gen_ai.provider.name'],
    when: { 'error.type': onError, 'server.port': ifAddress, 'gen_ai.request.model': () => true },
    recommended: ['server.address'],
    values: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'anthropic' },
  },
  // gen_ai.invoke_workflow.internal
  invoke_workflow: {
    required: ['gen_ai.operation.name'],
    when: { 'error.type': onError, 'gen_ai.workflow.name': () => true },
    values: { 'gen_ai.operation.name': 'invoke_workflow' },
  },
  // Metrics
  'gen_ai.client.operation.duration': {
    required: ['gen_ai.operation.name', 'gen_ai.provider.name'],
    when: { 'error.type': onError, 'gen_ai.request.model': () => true, 'server.port': ifAddress },
    recommended: ['server.address'],
    values: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'anthropic' },
  },
  'gen_ai.client.token.usage': {
    required: ['gen_ai.operation.name', 'gen_ai.provider.name', 'gen_ai.token.type'],
    when: { 'gen_ai.request.model': () => true, 'server.port': ifAddress },
    recommended: ['server.address', 'gen_ai.response.model'],
  },
  'gen_ai.invoke_agent.duration': {
    required: [],
    when: { 'error.type': onError, 'gen_ai.agent.name': () => true },
    recommended: ['gen_ai.request.model'],
  },
  'gen_ai.workflow.duration': {
    required: [],
    when: { 'error.type': onError, 'gen_ai.workflow.name': () => true },
  },
};

const UNITS: Record<string, string> = {
  'gen_ai.client.operation.duration': 's',
  'gen_ai.client.token.usage': '{token}',
  'gen_ai.invoke_agent.duration': 's',
  'gen_ai.workflow.duration': 's',
};

function check(
  t: { true(v: boolean, m?: string): void; is(a: unknown, b: unknown, m?: string): void },
  what: string,
  attributes: Record<string, unknown>,
  failed: boolean,
): void {
  const row = CONVENTIONS[what];
  for (const name of row.required) t.true(attributes[name] !== undefined, `${what}: Required ${name} missing (${JSON.stringify(attributes)})`);
  for (const [name, condition] of Object.entries(row.when ?? {})) {
    if (condition(attributes, { failed }))
      t.true(attributes[name] !== undefined, `${what}: Conditionally Required ${name} missing (${JSON.stringify(attributes)})`);
  }
  for (const name of row.recommended ?? []) t.true(attributes[name] !== undefined, `${what}: Recommended ${name} missing although its data exists`);
  for (const [name, value] of Object.entries(row.values ?? {})) t.is(attributes[name], value, `${what}: ${name}`);
}

test.serial('spans and metric points carry the attributes the GenAI conventions require, with one error.type vocabulary in a trace', async (t) => {
  const spans = new InMemorySpanExporter();
  const reader = inMemoryReader();
  const instrumentation = await startInstrumentation({ prometheus: false, metricReader: reader, spanExporter: spans, spanProcessor: 'simple' });
  // A success, a rate-limited call that runs out of attempts (429 three times), a bad request, and a workflow.
  const setup = await withSimulator({ faults: { schedule: ['ok', '429', '429', '429', '400'], retryAfterMs: 1 } }, {}, systemClock as ManualClock);
  try {
    await setup.orchestrator.executeAgent('python-expert', 'fine');
    await t.throwsAsync(setup.orchestrator.executeAgent('python-expert', 'rate limited'));
    await t.throwsAsync(setup.orchestrator.executeAgent('legacy-helper', 'bad request'));
    await executeWorkflow({ name: 'review', steps: [{ id: 'ask', agent: 'python-expert', task: '{{input}}' }] }, orchestratorRunner(setup.orchestrator), {
      workflowId: 'wf-c',
      maxParallel: 1,
      onError: 'continue',
      input: 'x',
    });

    const finished = spans.getFinishedSpans();
    const failed = (s: ReadableSpan) => s.status.code === SpanStatusCode.ERROR;
    const agents = finished.filter((s) => s.name.startsWith('invoke_agent '));
    const clients = finished.filter((s) => s.kind === SpanKind.CLIENT);
    const workflows = finished.filter((s) => s.name.startsWith('invoke_workflow'));
    t.is(agents.length, 4);
    t.true(clients.length >= 6);
    t.is(workflows.length, 1);
    for (const s of agents) check(t, 'invoke_agent', s.attributes, failed(s));
    for (const s of clients) check(t, 'chat', s.attributes, failed(s));
    for (const s of workflows) check(t, 'invoke_workflow', s.attributes, failed(s));
    // The agent span has the answer's model where the call succeeded.
    t.truthy(agents.find((s) => !failed(s))!.attributes['gen_ai.response.model']);

    // One vocabulary: each failed agent span's error.type is what the SDK put on its last client span.
    const errored = agents.filter(failed);
    t.deepEqual(errored.map((s) => s.attributes['error.type']).sort(), ['invalid_request_error', 'rate_limit_error']);
    for (const agent of errored) {
      const children = clients.filter((c) => c.parentSpanContext?.spanId === agent.spanContext().spanId);
      t.is(children.at(-1)!.attributes['error.type'], agent.attributes['error.type']);
    }

    for (const metric of Object.keys(UNITS)) {
      const points = await collectPoints(reader, metric);
      t.true(points.length > 0, `${metric} has points`);
      for (const p of points) check(t, metric, p.attributes, p.attributes['error.type'] !== undefined);
    }
    const { resourceMetrics } = await reader.collect();
    for (const scope of resourceMetrics.scopeMetrics)
      for (const m of scope.metrics) if (UNITS[m.descriptor.name]) t.is(m.descriptor.unit, UNITS[m.descriptor.name], m.descriptor.name);
    const errors = (await collectPoints(reader, 'gen_ai.client.operation.duration')).map((p) => p.attributes['error.type']).filter(Boolean);
    t.deepEqual([...new Set(errors)].sort(), ['invalid_request_error', 'rate_limit_error']);
  } finally {
    await teardown(setup);
    await instrumentation.stop();
  }
});

test.serial(
  'series exist from the start with their real labels, never as an unlabelled zero: per agent and cache result, per model circuit (closed), per tier, per workflow status',
  async (t) => {
    const reader = inMemoryReader();
    const instrumentation = await startInstrumentation({ prometheus: false, metricReader: reader, spanExporter: 'none' });
    const stack = await openStack({ agents: TEST_AGENTS, provider: { kind: 'in-process' }, cache: { kind: 'memory' }, instrumentation });
    try {
      const points = async (name: string) =>
        (await collectPoints(reader, name)).map((p) => ({ attributes: p.attributes, value: typeof p.value === 'number' ? p.value : p.value.count }));
      const names = [
        'agentperf.agent.calls',
        'agentperf.agent.errors',
        'agentperf.retries',
        'agentperf.cache.requests',
        'agentperf.cache.evictions',
        'agentperf.cache.expirations',
        'agentperf.cache.integrity_failures',
        'agentperf.workflow.runs',
        'agentperf.workflow.steps',
        'agentperf.circuit.state',
      ];
      for (const name of names)
        t.false(
          (await points(name)).some((p) => Object.keys(p.attributes).length === 0),
          `${name}: no series without labels`,
        );
      const calls = await points('agentperf.agent.calls');
      t.is(calls.length, TEST_AGENTS.length * 4, 'every agent x hit, miss, bypass, error');
      t.true(calls.every((p) => p.value === 0));
      t.deepEqual(
        (await points('agentperf.circuit.state')).map((p) => [p.attributes['gen_ai.request.model'], p.value]).sort(),
        [...new Set(TEST_AGENTS.map((a) => a.model))].map((m) => [m, 0]).sort(),
      );
      t.deepEqual((await points('agentperf.cache.requests')).map((p) => [p.attributes.result, p.attributes.tier, p.value]).sort(), [
        ['hit', 'memory', 0],
        ['miss', 'none', 0],
      ]);
      for (const name of ['agentperf.cache.evictions', 'agentperf.cache.expirations'])
        t.deepEqual(
          (await points(name)).map((p) => [p.attributes.tier, p.value]),
          [['memory', 0]],
          name,
        );
      t.deepEqual((await points('agentperf.workflow.runs')).map((p) => p.attributes['agentperf.workflow.status']).sort(), ['cancelled', 'completed', 'failed']);
      // Labels that name what happened (an error type, a retry reason): no series until it happens.
      for (const name of ['agentperf.agent.errors', 'agentperf.retries', 'agentperf.cache.integrity_failures']) t.deepEqual(await points(name), [], name);
    } finally {
      await stack.close();
      await instrumentation.stop();
    }
  },
);

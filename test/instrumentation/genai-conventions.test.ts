import test from 'ava';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startInstrumentation } from '../../instrumentation/start.ts';
import { systemClock, type ManualClock } from '../../src/clock.ts';
import { executeWorkflow, orchestratorRunner } from '../../src/workflow/execute.ts';
import { teardown, withSimulator } from '../helpers.ts';
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
  'gen_ai.invoke_workflow.duration': {
    required: [],
    when: { 'error.type': onError, 'gen_ai.workflow.name': () => true },
  },
};

const UNITS: Record<string, string> = { 'gen_ai.client.operation.duration': 's', 'gen_ai.client.token.usage': '{token}', 'gen_ai.invoke_agent.duration': 's', 'gen_ai.invoke_workflow.duration': 's' };

function check(t: { true(v: boolean, m?: string): void; is(a: unknown, b: unknown, m?: string): void }, what: string, attributes: Record<string, unknown>, failed: boolean): void {
  const row = CONVENTIONS[what]!;
  for (const name of row.required) t.true(attributes[name] !== undefined, `${what}: Required ${name} missing (${JSON.stringify(attributes)})`);
  for (const [name, condition] of Object.entries(row.when ?? {})) {
    if (condition(attributes, { failed })) t.true(attributes[name] !== undefined, `${what}: Conditionally Required ${name} missing (${JSON.stringify(attributes)})`);
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
    await executeWorkflow({ name: 'review', steps: [{ id: 'ask', agent: 'python-expert', task: '{{input}}' }] } as never, orchestratorRunner(setup.orchestrator), { workflowId: 'wf-c', maxParallel: 1, onError: 'continue', input: 'x' });

    const finished = spans.getFinishedSpans();
    const failed = (s: ReadableSpan) => s.status.code === 2;
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
    for (const scope of resourceMetrics.scopeMetrics) for (const m of scope.metrics) if (UNITS[m.descriptor.name]) t.is(m.descriptor.unit, UNITS[m.descriptor.name], m.descriptor.name);
    const errors = (await collectPoints(reader, 'gen_ai.client.operation.duration')).map((p) => p.attributes['error.type']).filter(Boolean);
    t.deepEqual([...new Set(errors)].sort(), ['invalid_request_error', 'rate_limit_error']);
  } finally {
    await teardown(setup);
    await instrumentation.stop();
  }
});

test.serial('the counters the dashboard and alerts read exist at zero before the first event', async (t) => {
  const reader = inMemoryReader();
  const instrumentation = await startInstrumentation({ prometheus: false, metricReader: reader, spanExporter: 'none' });
  try {
    for (const name of ['agentperf.agent.calls', 'agentperf.agent.errors', 'agentperf.retries', 'agentperf.cache.requests', 'agentperf.cache.evictions', 'agentperf.cache.expirations', 'agentperf.cache.integrity_failures', 'agentperf.workflow.runs', 'agentperf.workflow.steps']) {
      const points = await collectPoints(reader, name);
      t.deepEqual(points.map((p) => p.value), [0], name);
    }
  } finally {
    await instrumentation.stop();
  }
});

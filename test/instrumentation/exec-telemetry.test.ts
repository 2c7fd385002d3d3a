import test from 'ava';
import { runCli } from '../helpers.ts';
import { OtlpReceiver } from './otlp-receiver.ts';

// The standard OTEL_* variables, each through the built CLI's `exec` (NodeSDK reads them) against
// a real OTLP/HTTP receiver that decodes protobuf with the official definitions. The console
// exporters write to stderr, never into --json.

async function execTraced(env: NodeJS.ProcessEnv, endpointVariable = 'OTEL_EXPORTER_OTLP_ENDPOINT', path = '') {
  const receiver = await new OtlpReceiver().start();
  try {
    const result = await runCli(['exec', 'python-expert', 'Explain generators', '--no-cache', '--json'], {
      env: { [endpointVariable]: `${receiver.url}${path}`, ...env },
      timeoutMs: 60_000,
    });
    return { ...result, receiver };
  } finally {
    await receiver.close();
  }
}

test('http/protobuf by default: spans and (OTEL_METRICS_EXPORTER=otlp) metrics decode with the official definitions, with OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES and OTEL_EXPORTER_OTLP_HEADERS', async (t) => {
  const { code, stdout, stderr, receiver } = await execTraced({
    OTEL_SERVICE_NAME: 'my-service',
    OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=ci,team=perf%20eng',
    OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=acme',
    OTEL_METRICS_EXPORTER: 'otlp',
  });
  t.is(code, 0, stderr);
  t.is((JSON.parse(stdout) as { agent: string }).agent, 'python-expert');
  const traces = receiver.requests.filter((r) => r.path === '/v1/traces');
  const metrics = receiver.requests.filter((r) => r.path === '/v1/metrics');
  t.true(traces.length > 0 && metrics.length > 0, `paths: ${receiver.requests.map((r) => r.path).join(', ')}`);
  for (const r of [...traces, ...metrics]) {
    t.is(r.contentType, 'application/x-protobuf');
    t.is(r.headers['x-tenant'], 'acme');
  }
  const agent = receiver.spans().find((s) => s.name === 'invoke_agent python-expert');
  t.truthy(agent);
  t.is(agent!.resource['service.name'], 'my-service');
  t.is(agent!.resource['deployment.environment'], 'ci');
  t.is(agent!.resource.team, 'perf eng');
  t.is(agent!.resource['telemetry.sdk.name'], 'opentelemetry');
  t.truthy(agent!.resource['host.name'], 'the host detector ran');
  t.is(agent!.resource['process.command_args'], undefined, 'the command line (with the prompt) is not on the resource');
  const clientSpan = receiver.spans().find((s) => s.name.startsWith('chat '));
  t.is(clientSpan?.parentSpanId, agent!.spanId, 'the chat client span is a child of the agent span');
  t.is(clientSpan?.scope, 'agentperf', "agentperf's client span, not the SDK's (its tracing is off for agentperf's clients)");
  t.false(
    receiver.spans().some((s) => s.scope.startsWith('com.anthropic.sdk')),
    'no SDK span beside it',
  );
  const duration = receiver.points().filter((p) => p.metric === 'gen_ai.client.operation.duration');
  t.true(duration.length > 0);
  t.is(duration[0].attributes['gen_ai.provider.name'], 'anthropic');
  t.is(duration[0].resource['service.name'], 'my-service');
});

test('OTEL_EXPORTER_OTLP_PROTOCOL=http/json with OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: JSON to the exact URL given', async (t) => {
  const { code, stderr, receiver } = await execTraced({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', '/custom/traces');
  t.is(code, 0, stderr);
  t.deepEqual([...new Set(receiver.requests.map((r) => `${r.path} ${r.contentType}`))], ['/custom/traces application/json']);
  t.truthy(receiver.spans().find((s) => s.name === 'invoke_agent python-expert'));
});

for (const [what, env] of [
  ['OTEL_SDK_DISABLED=true', { OTEL_SDK_DISABLED: 'true' }],
  ['OTEL_TRACES_EXPORTER=none', { OTEL_TRACES_EXPORTER: 'none' }],
  ['OTEL_TRACES_SAMPLER=always_off', { OTEL_TRACES_SAMPLER: 'always_off' }],
  ['OTEL_TRACES_SAMPLER=parentbased_always_off', { OTEL_TRACES_SAMPLER: 'parentbased_always_off' }],
  ['OTEL_TRACES_SAMPLER=traceidratio with OTEL_TRACES_SAMPLER_ARG=0', { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' }],
  [
    'OTEL_TRACES_SAMPLER=parentbased_traceidratio with OTEL_TRACES_SAMPLER_ARG=0',
    { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' },
  ],
] as const) {
  test(`${what}: exec exports no span${what.includes('DISABLED') ? ' and no metric' : ', and its metrics still arrive'}`, async (t) => {
    // Metrics over OTLP too: they are recorded whatever is sampled, and prove telemetry was on.
    const { code, stderr, receiver } = await execTraced({ ...env, OTEL_METRICS_EXPORTER: 'otlp' });
    t.is(code, 0, stderr);
    t.deepEqual(
      receiver.spans().map((s) => s.name),
      [],
    );
    const durations = receiver.points().filter((p) => p.metric === 'gen_ai.client.operation.duration');
    if (what.includes('DISABLED'))
      t.deepEqual(
        receiver.requests.map((r) => r.path),
        [],
      );
    else
      t.is(
        durations.reduce((n, p) => n + p.value, 0),
        1,
      );
  });
}

for (const [what, env] of [
  ['OTEL_TRACES_SAMPLER=always_on', { OTEL_TRACES_SAMPLER: 'always_on' }],
  [
    'OTEL_TRACES_SAMPLER=parentbased_traceidratio with OTEL_TRACES_SAMPLER_ARG=1',
    { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '1' },
  ],
] as const) {
  test(`${what}: exec exports its spans`, async (t) => {
    const { code, stderr, receiver } = await execTraced(env);
    t.is(code, 0, stderr);
    t.true(receiver.spans().some((s) => s.name === 'invoke_agent python-expert'));
  });
}

test('OTEL_TRACES_EXPORTER=console and OTEL_METRICS_EXPORTER=console write to stderr, and so do the diagnostics of OTEL_LOG_LEVEL=debug; stdout stays the JSON result', async (t) => {
  const result = await runCli(['exec', 'python-expert', 'Explain decorators', '--no-cache', '--json'], {
    env: { OTEL_TRACES_EXPORTER: 'console', OTEL_METRICS_EXPORTER: 'console', OTEL_LOG_LEVEL: 'debug' },
    timeoutMs: 60_000,
  });
  t.is(result.code, 0, result.stderr);
  t.is((JSON.parse(result.stdout) as { agent: string }).agent, 'python-expert');
  t.regex(result.stderr, /"name":"invoke_agent python-expert"/);
  t.regex(result.stderr, /"name":"gen_ai\.client\.operation\.duration"/);
  // OpenTelemetry's own debug lines, though agentperf's own log is silenced (AGENTPERF_LOG_LEVEL=silent here).
  t.regex(result.stderr, /"level":20,[^\n]*"component":"opentelemetry"[^\n]*Registered a global/);
});

test('a malformed OTLP endpoint: exec refuses it by name (AP_ERR_CONFIG, exit 2) and sends nothing anywhere', async (t) => {
  const result = await runCli(['exec', 'python-expert', 'Explain decorators', '--no-cache', '--json'], {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'not-a-url' },
    timeoutMs: 60_000,
  });
  t.is(result.code, 2, result.stderr);
  t.is(result.stdout, '');
  t.regex(result.stderr, /AP_ERR_CONFIG: OTEL_EXPORTER_OTLP_ENDPOINT must be an http or https URL such as http:\/\/localhost:4318, got "not-a-url"/);
});

test('workflow run is traced when telemetry is configured: the workflow span, a step span per step, each step its agent call, all in one trace', async (t) => {
  const receiver = await new OtlpReceiver().start();
  try {
    const example = new URL('../../examples/review-workflow.json', import.meta.url).pathname;
    const result = await runCli(['workflow', 'run', example, '--input', 'a caching change', '--latency', 'fixed:1', '--json'], {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
      timeoutMs: 60_000,
    });
    t.is(result.code, 0, result.stderr);
    t.is((JSON.parse(result.stdout) as { status: string }).status, 'completed');
    const spans = receiver.spans();
    const workflow = spans.find((s) => s.name === 'invoke_workflow review a change');
    t.truthy(workflow, JSON.stringify(spans.map((s) => s.name)));
    const steps = spans.filter((s) => s.name.startsWith('workflow_step '));
    t.deepEqual(
      steps.map((s) => s.name).sort(),
      ['docs', 'review', 'risks', 'summary', 'understand'].map((id) => `workflow_step ${id}`),
    );
    for (const step of steps) t.is(step.parentSpanId, workflow!.spanId);
    const agents = spans.filter((s) => s.name.startsWith('invoke_agent '));
    t.is(agents.length, 5);
    t.true(
      agents.every((a) => steps.some((s) => s.spanId === a.parentSpanId)),
      'each agent call under its step',
    );
    t.true(spans.every((s) => s.traceId === workflow!.traceId));
  } finally {
    await receiver.close();
  }
});

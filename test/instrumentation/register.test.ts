import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// `node --import agentperf/register app.js` on a plain JavaScript one-shot script that calls the
// Anthropic SDK itself: it ends on its own (the /metrics endpoint does not hold it), its spans
// are flushed on the way out, and service.name is the app's package name.

const repo = fileURLToPath(new URL('../../', import.meta.url));

function runApp(
  env: NodeJS.ProcessEnv,
  options: { fromParentDir?: boolean } = {},
): Promise<{ code: number | null; killed: boolean; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'agentperf-register-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'my-one-shot-app', type: 'module' }));
  writeFileSync(
    join(dir, 'app.js'),
    `import { createRequire } from 'node:module';
const require = createRequire(${JSON.stringify(join(repo, 'package.json'))});
const { default: Anthropic } = await import(require.resolve('@anthropic-ai/sdk'));
const { startSimulator } = await import(${JSON.stringify(pathToFileURL(join(repo, 'src/providers/simulator/server.ts')).href)});
const simulator = process.env.APP_API_URL ? undefined : await startSimulator({});
const client = new Anthropic({ apiKey: 'test', baseURL: process.env.APP_API_URL ?? simulator.url, maxRetries: 0 });
const ask = () => client.messages.create({ model: 'claude-sonnet-5-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
let message;
if (process.env.APP_NESTED) {
  // The app's own span, its baggage, and an await before the SDK call: the call must join both.
  const api = await import(require.resolve('@opentelemetry/api'));
  const { setTimeout: sleep } = await import('node:timers/promises');
  await api.trace.getTracer('my-app').startActiveSpan('handle-request', async (span) => {
    const withBaggage = api.propagation.setBaggage(api.context.active(), api.propagation.createBaggage({ tenant: { value: 'acme' } }));
    message = await api.context.with(withBaggage, async () => {
      await sleep(5);
      return ask();
    });
    console.log('app span', span.spanContext().traceId, span.spanContext().spanId);
    span.end();
  });
} else if (process.env.APP_STREAM) {
  // The app streams with the SDK itself, reading to the end or leaving at the first delta.
  const stream = await client.messages.create({ model: 'claude-sonnet-5-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }], stream: true });
  let events = 0;
  for await (const event of stream) {
    events++;
    if (process.env.APP_STREAM === 'break' && event.type === 'content_block_delta') break;
  }
  message = { content: [{ type: 'streamed ' + events }] };
} else message = await ask();
console.log('answered', message.content[0].type, 'at', Date.now());
await simulator?.close();
`,
  );
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [
        '--import',
        import.meta.resolve('tsx'),
        '--import',
        pathToFileURL(join(repo, 'instrumentation/register.ts')).href,
        options.fromParentDir ? join(basename(dir), 'app.js') : 'app.js',
      ],
      { cwd: options.fromParentDir ? dirname(dir) : dir, env: { ...process.env, AGENTPERF_LOG_LEVEL: 'warn', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, killed: Boolean(error?.killed), stdout, stderr }),
    );
  });
}

test('a one-shot script under register ends on its own with its /metrics endpoint up, flushes its spans, and is named after its package', async (t) => {
  const result = await runApp({ AGENTPERF_METRICS_PORT: '0', OTEL_TRACES_EXPORTER: 'console' });
  t.false(result.killed, `still running after 60 s: ${result.stderr.slice(-400)}`);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /answered text/);
  t.regex(result.stderr, /"service":"my-one-shot-app".*"name":"anthropic\.messages\.create"/);
});

test('a metrics port in use costs only the /metrics endpoint: the warning names AGENTPERF_METRICS_PORT, and spans are still exported', async (t) => {
  const { createServer } = await import('node:net');
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  try {
    const port = (blocker.address() as { port: number }).port;
    const result = await runApp({ AGENTPERF_METRICS_PORT: String(port), OTEL_TRACES_EXPORTER: 'console' });
    t.is(result.code, 0, result.stderr);
    t.regex(result.stdout, /answered text/);
    t.regex(
      result.stderr,
      new RegExp(
        `cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use \\(EADDRINUSE\\); choose another AGENTPERF_METRICS_PORT, or 0 for any free port; /metrics is not served, all other telemetry is on`,
      ),
    );
    t.notRegex(result.stderr, /--metrics-port/);
    t.regex(result.stderr, /"name":"anthropic\.messages\.create"/, 'the span was still exported');
  } finally {
    blocker.close();
  }
});

test('unasked, an application serves no /metrics (no race for port 9464 between its processes); a malformed port is refused by name', async (t) => {
  const unasked = await runApp({ OTEL_TRACES_EXPORTER: 'console' });
  t.is(unasked.code, 0, unasked.stderr);
  t.notRegex(unasked.stderr, /Prometheus metrics served/);
  t.regex(unasked.stderr, /"name":"anthropic\.messages\.create"/);
  const asked = await runApp({ OTEL_TRACES_EXPORTER: 'console', OTEL_EXPORTER_PROMETHEUS_PORT: '0', AGENTPERF_LOG_LEVEL: 'info' });
  t.regex(asked.stderr, /Prometheus metrics served/);
  const malformed = await runApp({ AGENTPERF_METRICS_PORT: '94640', OTEL_TRACES_EXPORTER: 'console' });
  t.is(malformed.code, 0, malformed.stderr);
  t.regex(malformed.stderr, /AGENTPERF_METRICS_PORT must be a port \(0 to 65535, 0 for any free one\) or off, got \\"94640\\"/);
});

/** A stand-in for the Messages API that answers one canned message and keeps the request headers it saw. */
async function fakeApi(): Promise<{ url: string; headers: import('node:http').IncomingHttpHeaders[]; close(): Promise<void> }> {
  const { createServer } = await import('node:http');
  const headers: import('node:http').IncomingHttpHeaders[] = [];
  const server = createServer((request, response) => {
    headers.push(request.headers);
    request.resume();
    request.on('end', () =>
      response.writeHead(200, { 'content-type': 'application/json', 'request-id': 'req_1' }).end(
        JSON.stringify({
          id: 'msg_1',
          type: 'message',
          role: 'assistant',
          model: 'claude-sonnet-5-5-20260901',
          content: [{ type: 'text', text: 'hi' }],
          stop_reason: 'end_turn',
          stop_sequence: null,
          usage: { input_tokens: 12, output_tokens: 5, cache_read_input_tokens: 3, cache_creation_input_tokens: 0 },
        }),
      ),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    headers,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

test('an app calling the SDK itself gets the GenAI client metrics for every call, with no span exported, and they reach OTLP', async (t) => {
  const { OtlpReceiver } = await import('./otlp-receiver.ts');
  const receiver = await new OtlpReceiver().start();
  const api = await fakeApi();
  try {
    const result = await runApp({
      APP_API_URL: api.url,
      AGENTPERF_METRICS_PORT: 'off',
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    });
    t.is(result.code, 0, result.stderr);
    const port = Number(new URL(api.url).port);
    const common = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.request.model': 'claude-sonnet-5-5',
      'gen_ai.response.model': 'claude-sonnet-5-5-20260901',
      'server.address': '127.0.0.1',
      'server.port': port,
    };
    const points = receiver.points();
    const duration = points.filter((p) => p.metric === 'gen_ai.client.operation.duration');
    t.deepEqual(
      duration.map((p) => [p.attributes, p.value, p.unit]),
      [[common, 1, 's']],
    );
    t.is(duration[0].resource['service.name'], 'my-one-shot-app');
    const tokens = points.filter((p) => p.metric === 'gen_ai.client.token.usage').map((p) => [p.attributes['gen_ai.token.type'], p.value]);
    t.deepEqual(tokens.sort(), [
      ['input', 1],
      ['output', 1],
    ]);
    t.deepEqual(receiver.spans(), []);
    // The token counts themselves: input counts the cache read (12 + 3), output 5.
    const sums = receiver.requests
      .flatMap(
        (r) =>
          (
            r.body as {
              resourceMetrics?: {
                scopeMetrics: {
                  metrics: { name: string; histogram?: { dataPoints: { sum: number; attributes: { key: string; value: { stringValue?: string } }[] }[] } }[];
                }[];
              }[];
            }
          ).resourceMetrics ?? [],
      )
      .flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics))
      .filter((m) => m.name === 'gen_ai.client.token.usage')
      .flatMap((m) => m.histogram!.dataPoints.map((p) => [p.attributes.find((a) => a.key === 'gen_ai.token.type')!.value.stringValue, p.sum]));
    t.deepEqual(sums.sort(), [
      ['input', 15],
      ['output', 5],
    ]);
    // One agentperf scope per export: the SDK's instruments and the pre-aggregated histograms merged.
    const scopes = receiver.requests.flatMap((r) =>
      ((r.body as { resourceMetrics?: { scopeMetrics: { scope: { name: string } }[] }[] }).resourceMetrics ?? []).map((rm) =>
        rm.scopeMetrics.map((sm) => sm.scope.name),
      ),
    );
    t.true(scopes.length > 0);
    for (const names of scopes) t.deepEqual(names, ['agentperf']);
  } finally {
    await api.close();
    await receiver.close();
  }
});

for (const [propagators, header, present] of [
  [undefined, 'traceparent', true],
  ['b3', 'b3', true],
  ['none', 'traceparent', false],
] as const) {
  test(`OTEL_PROPAGATORS=${propagators ?? '(unset)'}: the SDK's request ${present ? 'carries' : 'does not carry'} ${header}`, async (t) => {
    const api = await fakeApi();
    try {
      const result = await runApp({
        APP_API_URL: api.url,
        AGENTPERF_METRICS_PORT: 'off',
        OTEL_TRACES_EXPORTER: 'console',
        ...(propagators ? { OTEL_PROPAGATORS: propagators } : {}),
      });
      t.is(result.code, 0, result.stderr);
      t.is(api.headers.length, 1);
      t.is(api.headers[0][header] !== undefined, present, JSON.stringify(api.headers[0]));
      if (header === 'traceparent' && present) {
        const traceId = /"traceId":"([0-9a-f]{32})"/.exec(result.stderr)![1];
        t.is(String(api.headers[0].traceparent).split('-')[1], traceId, "the header carries the SDK span's trace");
      }
    } finally {
      await api.close();
    }
  });
}

test('OTEL_SDK_DISABLED=true under register: the app runs and nothing is exported', async (t) => {
  const { OtlpReceiver } = await import('./otlp-receiver.ts');
  const receiver = await new OtlpReceiver().start();
  try {
    const result = await runApp({
      AGENTPERF_METRICS_PORT: 'off',
      OTEL_SDK_DISABLED: 'true',
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    });
    t.is(result.code, 0, result.stderr);
    t.regex(result.stdout, /answered text/);
    t.deepEqual(
      receiver.requests.map((r) => r.path),
      [],
    );
  } finally {
    await receiver.close();
  }
});

test("service.name is the app's package name also when the app is started from another directory", async (t) => {
  const result = await runApp({ AGENTPERF_METRICS_PORT: 'off', OTEL_TRACES_EXPORTER: 'console' }, { fromParentDir: true });
  t.is(result.code, 0, result.stderr);
  t.regex(result.stderr, /"service":"my-one-shot-app"/);
});

test("the app's own span stays active across its awaits: its SDK call joins its trace, and its baggage goes upstream", async (t) => {
  const { OtlpReceiver } = await import('./otlp-receiver.ts');
  const receiver = await new OtlpReceiver().start();
  const api = await fakeApi();
  try {
    const result = await runApp({
      APP_NESTED: '1',
      APP_API_URL: api.url,
      AGENTPERF_METRICS_PORT: 'off',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    });
    t.is(result.code, 0, result.stderr);
    const [, traceId, spanId] = /app span ([0-9a-f]{32}) ([0-9a-f]{16})/.exec(result.stdout)!;
    const spans = receiver.spans();
    const sdkSpan = spans.find((s) => s.name === 'anthropic.messages.create');
    t.truthy(sdkSpan, `${JSON.stringify(spans.map((s) => s.name))} ${result.stderr.slice(-1500)} ${result.stdout}`);
    t.is(sdkSpan!.traceId, traceId, "the SDK's span is in the app's trace, not a new root");
    t.is(sdkSpan!.parentSpanId, spanId, "its parent is the app's span");
    t.truthy(spans.find((s) => s.name === 'handle-request' && s.spanId === spanId));
    t.is(api.headers.length, 1);
    t.is(String(api.headers[0].traceparent).split('-')[1], traceId);
    t.is(api.headers[0].baggage, 'tenant=acme');
  } finally {
    await api.close();
    await receiver.close();
  }
});

test("no span exported (OTEL_TRACES_EXPORTER=none): the app's baggage still goes upstream, and jaeger sends no all-zero id", async (t) => {
  const api = await fakeApi();
  try {
    const nested = await runApp({
      APP_NESTED: '1',
      APP_API_URL: api.url,
      AGENTPERF_METRICS_PORT: 'off',
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_METRICS_EXPORTER: 'none',
    });
    t.is(nested.code, 0, nested.stderr);
    // With no tracer provider the app's span is non-recording and has no ids of its own: what
    // goes upstream is the baggage (there is no incoming trace to carry).
    t.is(api.headers[0].baggage, 'tenant=acme');
    const plain = await runApp({
      APP_API_URL: api.url,
      AGENTPERF_METRICS_PORT: 'off',
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_PROPAGATORS: 'jaeger',
    });
    t.is(plain.code, 0, plain.stderr);
    t.is(api.headers.length, 2);
    t.is(api.headers[1]['uber-trace-id'], undefined, JSON.stringify(api.headers[1]));
  } finally {
    await api.close();
  }
});

/** A port nobody listens on: every export attempt is refused, and OTLP retries for up to its timeout. */
async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** The test app exporting one signal over OTLP to a refused port (OTLP's own timeout 60 s, the flush bound 300 ms): how long after its answer it ended. */
async function withNoCollector(signal: 'traces' | 'metrics') {
  const port = await closedPort();
  const result = await runApp({
    AGENTPERF_METRICS_PORT: 'off',
    OTEL_TRACES_EXPORTER: signal === 'traces' ? 'otlp' : 'none',
    OTEL_METRICS_EXPORTER: signal === 'metrics' ? 'otlp' : 'none',
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
    OTEL_EXPORTER_OTLP_TIMEOUT: '60000',
    AGENTPERF_FLUSH_TIMEOUT_MS: '300',
  });
  const endedAt = Date.now();
  const answeredAt = Number(/answered text at (\d+)/.exec(result.stdout)?.[1]);
  return { result, msAfterAnswer: endedAt - answeredAt };
}

test('with no collector running, a one-shot script still ends at once: the last flush is bounded (AGENTPERF_FLUSH_TIMEOUT_MS) and says what it dropped', async (t) => {
  const { result, msAfterAnswer } = await withNoCollector('traces');
  t.is(result.code, 0, result.stderr);
  t.regex(result.stderr, /telemetry not flushed within 300 ms \(AGENTPERF_FLUSH_TIMEOUT_MS\)/);
  // OTLP's own retries (1, 1.5, 2.25, 3.4 and 5 s of backoff, each with up to 20% jitter off)
  // would hold the process for at least 10 s after the answer.
  t.true(msAfterAnswer < 6_000, `ended ${msAfterAnswer} ms after the answer`);
});

test('with no collector running, metrics pushed over OTLP do not hold a one-shot script either: the last export is bounded too', async (t) => {
  const { result, msAfterAnswer } = await withNoCollector('metrics');
  t.is(result.code, 0, result.stderr);
  // The exporter's own retry timers held the process until its timeout (8.1 s measured with the default 10 s; 60 s here).
  t.true(msAfterAnswer < 6_000, `ended ${msAfterAnswer} ms after the answer`);
});

test('a malformed AGENTPERF_FLUSH_TIMEOUT_MS is refused by name, and the application still runs', async (t) => {
  const result = await runApp({ AGENTPERF_METRICS_PORT: 'off', OTEL_TRACES_EXPORTER: 'console', AGENTPERF_FLUSH_TIMEOUT_MS: 'soon' });
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /answered text/);
  t.regex(result.stderr, /AGENTPERF_FLUSH_TIMEOUT_MS must be a whole number of milliseconds, 0 or more, got \\"soon\\"/);
  t.regex(result.stderr, /did not start; the application runs without it/);
});

for (const mode of ['read', 'break'] as const) {
  test(`an app that streams with the SDK itself (${mode === 'read' ? 'reading to the end' : 'leaving at the first delta'}) gets the call's duration when its stream ends, its time to first chunk and per output chunk, ${mode === 'read' ? 'and its token usage' : "and no answer's tokens"}`, async (t) => {
    const { OtlpReceiver } = await import('./otlp-receiver.ts');
    const receiver = await new OtlpReceiver().start();
    try {
      const result = await runApp({
        APP_STREAM: mode,
        AGENTPERF_METRICS_PORT: 'off',
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_METRICS_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      });
      t.is(result.code, 0, result.stderr);
      t.regex(result.stdout, mode === 'read' ? /answered streamed \d+/ : /answered streamed 3 /);
      const points = receiver.points();
      const ttfc = points.filter((p) => p.metric === 'gen_ai.client.operation.time_to_first_chunk');
      t.is(ttfc.length, 1);
      t.like(ttfc[0].attributes, { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'anthropic', 'gen_ai.request.model': 'claude-sonnet-5-5' });
      t.is(ttfc[0].value, 1, 'one streamed call');
      t.is(points.filter((p) => p.metric === 'gen_ai.client.operation.duration').length, 1);
      const span = receiver.spans().find((s) => s.attributes['gen_ai.request.stream'] === true);
      t.truthy(span, 'the SDK span of the streamed call, ended when the stream ended');
      const outputTokens = points.filter((p) => p.metric === 'gen_ai.client.token.usage' && p.attributes['gen_ai.token.type'] === 'output');
      if (mode === 'read') t.is(outputTokens.length, 1);
      else t.is(outputTokens.length, 0, 'a stream left before message_delta has no final usage');
      // Time per output chunk: one point per delta after the first (one text block: five events are not deltas).
      const perChunk = points.filter((p) => p.metric === 'gen_ai.client.operation.time_per_output_chunk');
      const events = Number(/answered streamed (\d+)/.exec(result.stdout)?.[1]);
      if (mode === 'read') {
        t.is(perChunk.length, 1);
        t.is(perChunk[0].value, events - 5 - 1);
        t.like(perChunk[0].attributes, { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'claude-sonnet-5-5' });
      } else t.is(perChunk.length, 0, 'left at the first delta: no chunk after it');
    } finally {
      await receiver.close();
    }
  });
}

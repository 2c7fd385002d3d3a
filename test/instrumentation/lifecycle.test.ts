import test from 'ava';
import Anthropic from '@anthropic-ai/sdk';
import { context, ROOT_CONTEXT, SpanKind, trace, type ContextManager } from '@opentelemetry/api';
import { createServer, type AddressInfo } from 'node:net';
import { startInstrumentation } from '../../instrumentation/start.ts';
import { ResponseCache } from '../../src/cache/response-cache.ts';
import { ALL_CHANNELS } from '../../src/diagnostics.ts';
import { Orchestrator } from '../../src/orchestrator/orchestrator.ts';
import { startSimulator } from '../../src/providers/simulator/server.ts';
import type { MessagesProvider } from '../../src/providers/types.ts';
import { TEST_AGENTS } from '../helpers.ts';
import { openCache, tempRoot } from '../cache/helpers.ts';
import { createInProcessProvider } from '../../src/providers/in-process.ts';
import { collectPoints, inMemoryReader, total } from './helpers.ts';

// How instrumentation starts, stops and shares OpenTelemetry's globals, and what it meters.

const serial = test.serial;
const anySubscriber = () => ALL_CHANNELS.tracing.some((c) => c.hasSubscribers) || ALL_CHANNELS.plain.some((c) => c.hasSubscribers);
const logsGlobal = () => (globalThis as Record<symbol, unknown>)[Symbol.for('io.opentelemetry.js.api.logs')];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createServer().listen(port, '127.0.0.1', () => {
      socket.close(() => resolve(true));
    });
    socket.on('error', () => resolve(false));
  });
}

serial('a malformed OTLP endpoint is refused before anything starts (AP_ERR_CONFIG naming the variable), and leaves nothing behind', async (t) => {
  const port = await freePort();
  const saved = { ...process.env };
  const cases: Array<[string, string]> = [
    ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'http://[::1'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'not-a-url'],
    ['OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', 'localhost:4318'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'ftp://collector:4318'],
  ];
  try {
    for (const [variable, value] of cases) {
      process.env = {
        ...saved,
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_METRICS_EXPORTER: 'prometheus,otlp',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        [variable]: value,
      };
      const error = await t.throwsAsync(startInstrumentation({ prometheus: { port } }));
      t.is((error as { code?: string }).code, 'AP_ERR_CONFIG');
      t.is((error as { field?: string }).field, variable);
      t.is(error.message, `${variable} must be an http or https URL such as http://localhost:4318, got ${JSON.stringify(value)}`);
    }
  } finally {
    process.env = saved;
  }
  t.true(await portFree(port), 'the port is free');
  t.false(anySubscriber());
  // Every global was given back: a clean start works.
  const instrumentation = await startInstrumentation({ prometheus: false, spanExporter: 'none' });
  await instrumentation.stop();
});

serial('beside another OpenTelemetry SDK it refuses to start, names what is taken, and leaves the host alone', async (t) => {
  const host: ContextManager = {
    active: () => ROOT_CONTEXT,
    with: (_c, fn, thisArg, ...args) => fn.apply(thisArg, args),
    bind: (_c, target) => target,
    enable() {
      return this;
    },
    disable() {
      return this;
    },
  };
  t.true(context.setGlobalContextManager(host));
  try {
    const error = await t.throwsAsync(startInstrumentation({ prometheus: false, spanExporter: 'none' }));
    t.regex(error.message, /already set up in this process \(its global context manager is registered\)/);
    t.false(anySubscriber());
    t.false(context.setGlobalContextManager(host), "the host's context manager is still the registered one");
  } finally {
    context.disable();
  }
});

serial('stop gives back every global, the logs provider NodeSDK registers included', async (t) => {
  const instrumentation = await startInstrumentation({ prometheus: false, spanExporter: 'none' });
  t.truthy(logsGlobal());
  await instrumentation.stop();
  t.falsy(logsGlobal());
  t.false(anySubscriber());
});

serial("an SDK client made before the start is metered; the SDK's tool-runner and tool spans are not counted as API calls", async (t) => {
  const simulator = await startSimulator({});
  const early = new Anthropic({ apiKey: 'test', baseURL: simulator.url, maxRetries: 0 });
  const reader = inMemoryReader();
  const instrumentation = await startInstrumentation({ prometheus: false, metricReader: reader, spanExporter: 'none' });
  try {
    await early.messages.create({ model: 'claude-sonnet-5-5', max_tokens: 20, messages: [{ role: 'user', content: 'made before' }] });
    t.is(await total(reader, 'gen_ai.client.operation.duration'), 1);
    const sdkTracer = trace.getTracer('com.anthropic.sdk.typescript');
    sdkTracer
      .startSpan('anthropic.messages.tool_runner', {
        kind: SpanKind.INTERNAL,
        attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.provider.name': 'anthropic' },
      })
      .end();
    const tool = sdkTracer.startSpan('anthropic.custom_tool_use get_weather', {
      kind: SpanKind.INTERNAL,
      attributes: { 'gen_ai.operation.name': 'execute_tool' },
    });
    tool.setAttribute('error.type', 'tool_error');
    tool.end();
    t.is(await total(reader, 'gen_ai.client.operation.duration'), 1);
  } finally {
    await instrumentation.stop();
    await simulator.close();
  }
});

serial("memory hits are recorded under the request's model, not the answer's dated id", async (t) => {
  const answer = {
    id: 'msg_1',
    type: 'message' as const,
    role: 'assistant' as const,
    model: 'claude-sonnet-5-5-20260901',
    content: [{ type: 'text' as const, text: 'x' }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 3, output_tokens: 2 },
  };
  const provider: MessagesProvider = { name: 'in-test', createMessage: async () => answer, toError: (e) => e, close: async () => {} };
  const cache = await ResponseCache.open({});
  const reader = inMemoryReader();
  const instrumentation = await startInstrumentation({ prometheus: false, metricReader: reader, spanExporter: 'none' });
  const orchestrator = new Orchestrator({ agents: TEST_AGENTS, provider, cache });
  try {
    await orchestrator.executeAgent('python-expert', 'same question');
    const hit = await orchestrator.executeAgent('python-expert', 'same question');
    t.is(hit.cacheTier, 'memory');
    const points = await collectPoints(reader, 'gen_ai.invoke_agent.duration');
    t.deepEqual(points.map((p) => [p.attributes['agentperf.cache.result'], p.attributes['gen_ai.request.model']]).sort(), [
      ['hit', 'claude-sonnet-5-5'],
      ['miss', 'claude-sonnet-5-5'],
    ]);
  } finally {
    await orchestrator.close();
    await cache.close();
    await instrumentation.stop();
  }
});

serial('each shared cache tier gets its own HDR histogram of gets, named by the tier', async (t) => {
  const cache = await openCache(await tempRoot());
  const instrumentation = await startInstrumentation({ prometheus: false, metricReader: inMemoryReader(), spanExporter: 'none' });
  const orchestrator = new Orchestrator({ agents: TEST_AGENTS, provider: createInProcessProvider(), cache });
  try {
    t.deepEqual(instrumentation.hdr.snapshot().cacheGetTiers, {}, 'no tier read yet, no histogram');
    await orchestrator.executeAgent('python-expert', 'a miss reads the disk tier');
    await orchestrator.executeAgent('legacy-helper', 'so does this one');
    const tiers = instrumentation.hdr.snapshot().cacheGetTiers;
    t.deepEqual(Object.keys(tiers), ['disk']);
    t.is(tiers.disk.count, 2);
  } finally {
    await orchestrator.close();
    await cache.close();
    await instrumentation.stop();
  }
});

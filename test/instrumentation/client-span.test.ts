import test from 'ava';
import Anthropic from '@anthropic-ai/sdk';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startInstrumentation } from '../../instrumentation/start.ts';
import { systemClock } from '../../src/clock.ts';
import { Orchestrator } from '../../src/orchestrator/orchestrator.ts';
import { createAnthropicProvider, providerServer } from '../../src/providers/anthropic.ts';
import { startSimulator } from '../../src/providers/simulator/server.ts';
import { TEST_AGENTS } from '../helpers.ts';
import { inMemoryReader, RecordingAgent } from './helpers.ts';

// Per call, not per kind of call: the ids the API gives each answer.
const PER_CALL = new Set(['gen_ai.response.id', 'anthropic.request.id']);

function comparable(span: ReadableSpan): Record<string, unknown> {
  return Object.fromEntries(Object.entries(span.attributes).filter(([key]) => !PER_CALL.has(key)));
}

/**
 * The same Messages request, answered the same way (once 200, once 429), made twice: by the
 * bare SDK with its own tracing on, and by the orchestrator, whose client has the SDK's tracing
 * off and whose `chat` span agentperf makes. The two spans must carry the same attributes with
 * the same values (ids aside, which differ per call), the same kind and the same status.
 */
test.serial("agentperf's chat span carries the SDK span's attributes, values and status, on success and on an error answer", async (t) => {
  const simulator = await startSimulator({ faults: { schedule: ['ok', 'ok', '429', '429'], retryAfterMs: 1 } });
  const sdkSpans = new InMemorySpanExporter();
  const sdkProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(sdkSpans)] });
  const ownSpans = new InMemorySpanExporter();
  const instrumentation = await startInstrumentation({ prometheus: false, metricReader: inMemoryReader(), spanExporter: ownSpans, spanProcessor: 'simple' });
  const dispatcher = new RecordingAgent();
  const orchestrator = new Orchestrator({
    agents: TEST_AGENTS,
    provider: createAnthropicProvider({ apiKey: 'test-key', baseURL: simulator.url, name: 'simulator', dispatcher }),
    clock: systemClock,
    retry: { maxAttempts: 1 },
  });
  const agent = TEST_AGENTS[0];
  const bare = new Anthropic({ apiKey: 'test-key', baseURL: simulator.url, maxRetries: 0, openTelemetry: { tracerProvider: sdkProvider } });
  // As the orchestrator sends it (this model takes no temperature).
  const params = {
    model: agent.model,
    max_tokens: agent.maxTokens,
    system: agent.systemPrompt,
    messages: [{ role: 'user' as const, content: 'the same question' }],
  };
  try {
    // Simulator schedule: the SDK's call, then the orchestrator's, each once ok and once 429.
    const answer = await bare.messages.create(params);
    const result = await orchestrator.executeAgent(agent.name, 'the same question', { cache: 'bypass' });
    await t.throwsAsync(bare.messages.create(params));
    await t.throwsAsync(orchestrator.executeAgent(agent.name, 'the same question', { cache: 'bypass' }));
    t.is(result.usage.outputTokens, answer.usage.output_tokens, 'the same answer both ways');

    const fromSdk = sdkSpans.getFinishedSpans();
    const own = ownSpans.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT);
    t.is(fromSdk.length, 2);
    t.is(own.length, 2);
    for (const [index, what] of ['success', '429'].entries()) {
      const sdk = fromSdk[index];
      const ours = own[index];
      t.deepEqual(Object.keys(ours.attributes).sort(), Object.keys(sdk.attributes).sort(), `${what}: the same attribute keys`);
      t.deepEqual(comparable(ours), comparable(sdk), `${what}: the same values`);
      t.is(ours.kind, sdk.kind, what);
      t.is(ours.status.code, sdk.status.code, what);
      for (const key of PER_CALL) if (key in sdk.attributes) t.regex(String(ours.attributes[key]), /^(req|msg)_sim_/, `${what}: ${key} is the answer's own`);
    }
    t.is(own[0].status.code, SpanStatusCode.OK);
    t.is(own[1].attributes['error.type'], 'rate_limit_error');
    t.is(own[0].name, `chat ${agent.model}`, 'named as the GenAI conventions name a client span');

    // The trace context goes upstream: each request carries its own chat span as the parent.
    for (const span of own) {
      const { traceId, spanId } = span.spanContext();
      t.true(
        dispatcher.sent.some((headers) => headers.includes(`00-${traceId}-${spanId}-01`)),
        'traceparent of the chat span sent',
      );
    }
  } finally {
    await orchestrator.close();
    await instrumentation.stop();
    await sdkProvider.shutdown();
    await dispatcher.close();
    await simulator.close();
  }
});

test('switched off, no trace context is sent and no span is made: the request is the uninstrumented one', async (t) => {
  const simulator = await startSimulator({});
  const dispatcher = new RecordingAgent();
  const orchestrator = new Orchestrator({
    agents: TEST_AGENTS,
    provider: createAnthropicProvider({ apiKey: 'test-key', baseURL: simulator.url, dispatcher }),
    clock: systemClock,
  });
  try {
    await orchestrator.executeAgent('python-expert', 'no instrumentation', { cache: 'bypass' });
    t.is(dispatcher.sent.length, 1);
    t.false(dispatcher.sent[0].includes('traceparent'));
  } finally {
    await orchestrator.close();
    await dispatcher.close();
    await simulator.close();
  }
});

test('url.full never carries the credentials or query of a base URL; the port is the scheme default when none is given', (t) => {
  t.deepEqual(providerServer('https://user:secret@proxy.example.com/anthropic/?key=k'), {
    address: 'proxy.example.com',
    port: 443,
    scheme: 'https',
    messagesUrl: 'https://REDACTED:REDACTED@proxy.example.com/anthropic/v1/messages',
  });
  t.deepEqual(providerServer('http://[::1]:8080'), { address: '::1', port: 8080, scheme: 'http', messagesUrl: 'http://[::1]:8080/v1/messages' });
  t.is(providerServer('http://localhost').port, 80);
});

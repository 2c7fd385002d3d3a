import test from 'ava';
import Anthropic from '@anthropic-ai/sdk';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { SDK_SCOPE } from '../../instrumentation/sdk-calls.ts';
import { startInstrumentation } from '../../instrumentation/start.ts';
import { systemClock } from '../../src/clock.ts';
import { ALL_CHANNELS } from '../../src/diagnostics.ts';
import { Orchestrator } from '../../src/orchestrator/orchestrator.ts';
import { createAnthropicProvider } from '../../src/providers/anthropic.ts';
import { startSimulator } from '../../src/providers/simulator/server.ts';
import { TEST_AGENTS } from '../helpers.ts';
import { inMemoryReader, RecordingAgent, total } from './helpers.ts';

type ClientOptions = NonNullable<ConstructorParameters<typeof Anthropic>[0]>;

/** Whether anyone listens on any of agentperf's channels (every event of every tracing channel). */
function anySubscriber(): boolean {
  const tracing = ALL_CHANNELS.tracing.flatMap((c) => [c.start, c.end, c.asyncStart, c.asyncEnd, c.error]);
  return [...tracing, ...ALL_CHANNELS.plain].some((c) => c.hasSubscribers);
}

// "Off" must be the uninstrumented application, not instrumentation that records nothing:
// what a never-started process does, and nothing more. The same calls are made off, then on,
// so each check is seen to fail where there is something to find.
test.serial(
  "switched off, instrumentation leaves no trace: no subscriber on any channel, no span (agentperf's or a plain SDK client's), no metric, no trace context sent; switched on, all of them",
  async (t) => {
    const simulator = await startSimulator({});
    const spans = new InMemorySpanExporter();
    const reader = inMemoryReader();
    const instrumentation = await startInstrumentation({ prometheus: false, metricReader: reader, spanExporter: spans, spanProcessor: 'simple' });
    const orchestratorWire = new RecordingAgent();
    const appWire = new RecordingAgent();
    const orchestrator = new Orchestrator({
      agents: TEST_AGENTS,
      provider: createAnthropicProvider({ apiKey: 'test-key', baseURL: simulator.url, dispatcher: orchestratorWire }),
      clock: systemClock,
    });
    // A user's own client, as an app under `--import agentperf/register` builds it: the SDK's defaults, its tracing on.
    const app = new Anthropic({
      apiKey: 'test-key',
      baseURL: simulator.url,
      maxRetries: 0,
      fetchOptions: { dispatcher: appWire } as unknown as ClientOptions['fetchOptions'],
    });
    const calls = async (tag: string) => {
      for (let i = 0; i < 3; i++) {
        await orchestrator.executeAgent('python-expert', `${tag} ${i}`, { cache: 'bypass' });
        await app.messages.create({ model: TEST_AGENTS[0].model, max_tokens: 64, messages: [{ role: 'user', content: `${tag} ${i}` }] });
      }
    };
    const clientCalls = () => total(reader, 'gen_ai.client.operation.duration');
    try {
      instrumentation.setEnabled(false);
      t.false(anySubscriber(), 'off: nobody listens on any agentperf channel');
      await calls('off');
      await instrumentation.flushSpans();
      t.is(spans.getFinishedSpans().length, 0, 'off: no span ended, neither agentperf nor the SDK made one');
      t.is(await clientCalls(), 0, 'off: no client call recorded');
      t.is(orchestratorWire.sent.length, 3);
      t.is(appWire.sent.length, 3);
      t.false(
        [...orchestratorWire.sent, ...appWire.sent].some((h) => /traceparent|tracestate|baggage/i.test(h)),
        'off: no trace context on any request',
      );

      instrumentation.setEnabled(true);
      t.true(anySubscriber(), 'on: the channels are listened to');
      await calls('on');
      await instrumentation.flushSpans();
      const ended = spans.getFinishedSpans();
      const own = ended.filter((s) => s.instrumentationScope.name === 'agentperf').map((s) => s.name.split(' ')[0]);
      t.deepEqual(
        own.sort(),
        ['chat', 'chat', 'chat', 'invoke_agent', 'invoke_agent', 'invoke_agent'],
        "on: the orchestrator's agent spans and agentperf's chat span under each",
      );
      t.is(ended.filter((s) => s.instrumentationScope.name === SDK_SCOPE).length, 3, "on: the plain client's calls, each the SDK's own span");
      t.is(await clientCalls(), 6, 'on: every client call recorded');
      t.true(
        [...orchestratorWire.sent.slice(3), ...appWire.sent.slice(3)].every((h) => h.includes('traceparent')),
        'on: every request carries its trace context',
      );
    } finally {
      await orchestrator.close();
      await instrumentation.stop();
      await orchestratorWire.close();
      await appWire.close();
      await simulator.close();
    }
  },
);

import test from 'ava';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { startInstrumentation } from '../../instrumentation/start.ts';
import { systemClock } from '../../src/clock.ts';
import { Orchestrator } from '../../src/orchestrator/orchestrator.ts';
import { createAnthropicProvider } from '../../src/providers/anthropic.ts';
import { startSimulator } from '../../src/providers/simulator/server.ts';
import { TEST_AGENTS } from '../helpers.ts';
import { inMemoryReader } from './helpers.ts';

// The invoke_agent span carries what the GenAI conventions give an agent invocation: the
// agent's description, what the request asks for (max_tokens, temperature where sent), the cache token
// counts of the answer, and an exception event when the call fails.

test.serial(
  'invoke_agent: description, max_tokens and temperature as sent (none to a model that rejects it), cache token counts; a failure records an exception event',
  async (t) => {
    const spans = new InMemorySpanExporter();
    const instrumentation = await startInstrumentation({ prometheus: false, metricReader: inMemoryReader(), spanExporter: spans, spanProcessor: 'simple' });
    // The third request is refused (400, not retried).
    const simulator = await startSimulator({ faults: { rates: {}, schedule: ['ok', 'ok', '400'], retryAfterMs: 1 } });
    // python-expert on claude-sonnet-5-5, which rejects temperature (never sent); legacy-helper on claude-haiku-4-5, which takes it.
    const agents = [{ ...TEST_AGENTS[0], description: 'Answers Python questions' }, TEST_AGENTS[1]];
    const orchestrator = new Orchestrator({ agents, provider: createAnthropicProvider({ apiKey: 'test-key', baseURL: simulator.url }), clock: systemClock });
    try {
      const result = await orchestrator.executeAgent('python-expert', 'Explain generators', { cache: 'bypass', maxTokens: 300 });
      await orchestrator.executeAgent('legacy-helper', 'Help', { cache: 'bypass' });
      await t.throwsAsync(orchestrator.executeAgent('python-expert', 'Explain decorators', { cache: 'bypass' }));
      const [ok, failed] = spans.getFinishedSpans().filter((s) => s.name === 'invoke_agent python-expert');
      t.like(ok.attributes, {
        'gen_ai.agent.description': 'Answers Python questions',
        'gen_ai.request.max_tokens': 300,
        'gen_ai.usage.cache_read.input_tokens': 0,
        'gen_ai.usage.cache_creation.input_tokens': 0,
        'gen_ai.usage.output_tokens': result.usage.outputTokens,
      });
      t.false('gen_ai.request.temperature' in ok.attributes, 'not sent to a model that rejects it, so not on the span');
      const helper = spans.getFinishedSpans().find((s) => s.name === 'invoke_agent legacy-helper')!;
      t.like(helper.attributes, { 'gen_ai.request.temperature': 0.5, 'gen_ai.request.max_tokens': 512 });
      t.false('gen_ai.agent.description' in helper.attributes);
      t.is(ok.events.filter((e) => e.name === 'exception').length, 0);
      t.is(failed.attributes['gen_ai.request.max_tokens'], 1024, 'the agent default when the call does not say');
      const exception = failed.events.find((e) => e.name === 'exception');
      t.truthy(exception, JSON.stringify(failed.events));
      t.regex(String(exception!.attributes?.['exception.message']), /./);
      t.truthy(failed.attributes['error.type']);
    } finally {
      await orchestrator.close({ abortInFlight: true });
      await simulator.close();
      await instrumentation.stop();
    }
  },
);

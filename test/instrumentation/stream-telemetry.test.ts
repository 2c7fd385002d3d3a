import test from 'ava';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { startInstrumentation } from '../../instrumentation/start.ts';
import { ManualClock } from '../../src/clock.ts';
import { StreamInterruptedError, UpstreamError } from '../../src/errors.ts';
import { Orchestrator } from '../../src/orchestrator/orchestrator.ts';
import { messageFor } from '../../src/providers/simulator/respond.ts';
import { eventsOf } from '../../src/providers/stream-events.ts';
import type { MessageParams, MessagesProvider, ProviderResult, ProviderStream, StreamEvent } from '../../src/providers/types.ts';
import { TEST_AGENTS } from '../helpers.ts';
import { collectPoints, inMemoryReader, total } from './helpers.ts';

/**
 * Streams whose every event takes a known time on the injected clock: the first 100 ms after the
 * call, each later one 10 ms after the one before. `failAfter` events, then an overloaded error.
 */
function pacedProvider(clock: ManualClock, failAfter?: number): MessagesProvider {
  const message = (params: MessageParams): ProviderResult => ({ ...messageFor(params, 'msg_paced'), _request_id: 'req_paced' });
  return {
    name: 'paced',
    createMessage: (params) => Promise.resolve(message(params)),
    streamMessage(params): ProviderStream {
      const final = message(params);
      const events = eventsOf(final);
      let sent = 0;
      return {
        [Symbol.asyncIterator]: () => ({
          next(): Promise<IteratorResult<StreamEvent>> {
            if (sent === failAfter) return Promise.reject(new UpstreamError({ status: 529, errorType: 'overloaded_error', message: 'overloaded' }));
            if (sent === events.length) return Promise.resolve({ value: undefined, done: true });
            clock.advance(sent === 0 ? 100 : 10);
            return Promise.resolve({ value: events[sent++], done: false });
          },
          return: () => Promise.resolve({ value: undefined, done: true }),
        }),
        finalMessage: () => Promise.resolve(final),
      };
    },
    toError: (error) => error,
    close: () => Promise.resolve(),
  };
}

test.serial(
  'streaming metrics are exact after a known streamed workload: time to first chunk, time per output chunk, cancellations and interruptions by reason',
  async (t) => {
    const reader = inMemoryReader();
    const spans = new InMemorySpanExporter();
    const instrumentation = await startInstrumentation({ prometheus: false, metricReader: reader, spanExporter: spans, spanProcessor: 'simple' });
    const clock = new ManualClock();
    const provider = pacedProvider(clock);
    const failing = pacedProvider(clock, 4);
    const agents = (p: MessagesProvider) => new Orchestrator({ agents: TEST_AGENTS, provider: p, clock, retry: { maxAttempts: 1 } });
    const orchestrator = agents(provider);
    try {
      // Two whole streams, one left after 3 events, one that fails after 4.
      const results = [];
      for (const task of ['first', 'second']) {
        const stream = orchestrator.executeAgentStream('python-expert', task);
        for await (const event of stream) void event;
        results.push(await stream.result);
      }
      let read = 0;
      for await (const event of orchestrator.executeAgentStream('python-expert', 'leave')) if (++read === 3 && event) break;
      await t.throwsAsync(
        async () => {
          for await (const event of agents(failing).executeAgentStream('python-expert', 'fail')) void event;
        },
        { instanceOf: StreamInterruptedError },
      );

      // The first output chunk is the first delta, the third event: 100 + 10 + 10 ms after the call.
      for (const result of results) {
        t.is(result.timeToFirstChunkMs, 120);
        t.true(result.chunks > 5);
      }
      // Gaps between deltas, 10 ms each: every whole stream's, none for the one left at its first delta, one for the one that failed after two.
      const gaps = results.reduce((sum, r) => sum + r.chunks - 1, 0) + 0 + 1;
      const ttfc = await collectPoints(reader, 'gen_ai.client.operation.time_to_first_chunk');
      t.is(ttfc.length, 1, 'one series: the agent and its model');
      t.like(ttfc[0].attributes, {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'anthropic',
        'gen_ai.request.model': 'claude-sonnet-5-5',
        'gen_ai.agent.name': 'python-expert',
      });
      t.like(ttfc[0].value, { count: 4 });
      t.is(Math.round((ttfc[0].value as { sum: number }).sum * 1e6), 0.48e6, 'four first chunks of 120 ms');
      const perChunk = await collectPoints(reader, 'gen_ai.client.operation.time_per_output_chunk');
      t.like(perChunk[0].value, { count: gaps });
      t.is(Math.round((perChunk[0].value as { sum: number }).sum * 1e6), Math.round(gaps * 0.01 * 1e6), 'every later chunk 10 ms after the one before');
      t.is(await total(reader, 'agentperf.stream.cancellations', { reason: 'consumer_left', 'gen_ai.agent.name': 'python-expert' }), 1);
      t.is(await total(reader, 'agentperf.stream.interruptions', { 'error.type': 'overloaded_error' }), 1);

      const hdr = instrumentation.hdr.snapshot().streams!;
      t.like(hdr.timeToFirstChunk, { count: 4, p50: 120, max: 120 });
      t.like(hdr.timePerOutputChunk, { count: gaps, p50: 10, max: 10 });
      // Output tokens per second of each whole stream: its tokens over the time from its first chunk to its last.
      const rates = results.map((r) => r.usage.outputTokens / (((r.chunks - 1) * 10) / 1000));
      t.is(hdr.outputTokensPerSecond.count, 2);
      t.true(
        Math.abs(hdr.outputTokensPerSecond.max - Math.max(...rates)) / Math.max(...rates) < 0.01,
        `${hdr.outputTokensPerSecond.max} vs ${rates.join(', ')}`,
      );

      const agentSpans = spans.getFinishedSpans().filter((s) => s.name === 'invoke_agent python-expert');
      t.is(agentSpans.length, 4, 'a span per streamed call, ended when its stream ended');
      const whole = agentSpans.filter((s) => s.attributes['gen_ai.response.time_to_first_chunk'] !== undefined);
      t.is(whole.length, 2);
      for (const span of whole) t.is(span.attributes['gen_ai.response.time_to_first_chunk'], 0.12);
      t.is(agentSpans.filter((s) => s.attributes['error.type'] === 'AP_ERR_STREAM_INTERRUPTED').length, 1);
    } finally {
      await orchestrator.close();
      await instrumentation.stop();
    }
  },
);

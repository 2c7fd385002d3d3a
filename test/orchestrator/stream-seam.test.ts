import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { ResponseCache } from '../../src/cache/response-cache.ts';
import { ManualClock } from '../../src/clock.ts';
import { AbortedError, CircuitOpenError, StreamInterruptedError, TimeoutError, UpstreamError } from '../../src/errors.ts';
import { Orchestrator, type OrchestratorOptions } from '../../src/orchestrator/orchestrator.ts';
import { ScriptedStreamProvider } from './scripted-stream-provider.ts';
import { createAnthropicProvider } from '../../src/providers/anthropic.ts';
import { createInProcessProvider } from '../../src/providers/in-process.ts';
import { accumulateEvents, eventsOf, serverSentEvent } from '../../src/providers/stream-events.ts';
import type { MessageParams, MessageResponse, MessagesProvider, StreamEvent } from '../../src/providers/types.ts';
import { TEST_AGENTS, waitFor } from '../helpers.ts';

const PARAMS: MessageParams = { model: 'claude-sonnet-5-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] };
const MESSAGE: MessageResponse = {
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-5-5',
  content: [{ type: 'text', text: 'Hello, streaming world!' }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 12, output_tokens: 6 },
};

test('eventsOf: a message as the Messages API streams it, and back again', (t) => {
  const events = eventsOf(MESSAGE, 10);
  t.deepEqual(
    events.map((e) => e.type),
    [
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ],
  );
  t.deepEqual(
    events.flatMap((e) => (e.type === 'content_block_delta' ? [(e.delta as { text: string }).text] : [])),
    ['Hello, str', 'eaming wor', 'ld!'],
  );
  const start = events[0] as Extract<StreamEvent, { type: 'message_start' }>;
  t.deepEqual(start.message.content, []);
  t.is(start.message.stop_reason, null);
  t.is(start.message.usage.output_tokens, 1, 'message_start counts one output token, as the API does');
  t.deepEqual(accumulateEvents(events), MESSAGE);
});

test('accumulateEvents refuses events out of order', (t) => {
  t.throws(() => accumulateEvents([{ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'x' } }]), { message: /before message_start/ });
  t.throws(() => accumulateEvents([eventsOf(MESSAGE)[0], { type: 'content_block_delta', index: 3, delta: { type: 'text_delta', text: 'x' } }]), {
    message: /block 3, which has not started/,
  });
});

/** A server that answers every POST with `events` as server-sent events, then ends (or stalls, and records when the client went away). */
async function sseServer(
  events: StreamEvent[],
  { stallAfter }: { stallAfter?: number } = {},
): Promise<{ url: string; closedEarly: () => number; close: () => Promise<void> }> {
  let closedEarly = 0;
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'request-id': 'req_sse_1' });
      const sent = stallAfter ?? events.length;
      for (const event of events.slice(0, sent)) response.write(serverSentEvent(event));
      if (stallAfter === undefined) response.end();
      else response.on('close', () => closedEarly++);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    closedEarly: () => closedEarly,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

test('the real SDK streams through the anthropic provider: every event, then the final message with its request id', async (t) => {
  const events = eventsOf(MESSAGE, 5);
  const server = await sseServer(events);
  const provider = createAnthropicProvider({ apiKey: 'test', baseURL: server.url });
  try {
    const stream = provider.streamMessage!(PARAMS, { timeoutMs: 5_000 });
    const received: StreamEvent[] = [];
    for await (const event of stream) received.push(event);
    // The SDK accumulates the message into message_start's own object as the events arrive,
    // so that one is compared by its id; every other event arrives exactly as sent.
    t.deepEqual(
      received.map((e) => e.type),
      events.map((e) => e.type),
    );
    t.is((received[0] as Extract<StreamEvent, { type: 'message_start' }>).message.id, 'msg_1');
    t.deepEqual(received.slice(1), events.slice(1));
    const final = await stream.finalMessage();
    // The SDK adds fields of its own (parsed_output, stop_details); every field of the message is there as sent.
    t.like(final, MESSAGE);
    t.is(final._request_id, 'req_sse_1');
  } finally {
    await provider.close();
    await server.close();
  }
});

test('leaving the SDK stream early cancels the request: the server sees its connection closed', async (t) => {
  const server = await sseServer(eventsOf(MESSAGE, 5), { stallAfter: 3 });
  const provider = createAnthropicProvider({ apiKey: 'test', baseURL: server.url });
  try {
    const stream = provider.streamMessage!(PARAMS, { timeoutMs: 5_000 });
    let seen = 0;
    for await (const event of stream) {
      t.truthy(event.type);
      if (++seen === 2) break;
    }
    await waitFor(() => server.closedEarly() === 1, 'the server to see the request cancelled');
    await t.throwsAsync(stream.finalMessage());
  } finally {
    await provider.close();
    await server.close();
  }
});

const overloaded = () => new UpstreamError({ status: 529, errorType: 'overloaded_error', message: 'upstream answered 529' });

function orchestratorWith(provider: MessagesProvider, extra: Partial<OrchestratorOptions> = {}): Orchestrator {
  return new Orchestrator({ agents: TEST_AGENTS, provider, retry: { baseDelayMs: 1, maxDelayMs: 1 }, ...extra });
}

async function drain(stream: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

test('a failure before the first event is retried like any attempt; the slot is held until the last event', async (t) => {
  const provider = new ScriptedStreamProvider([{ failAfter: 0, error: overloaded() }, {}]);
  const orchestrator = orchestratorWith(provider, { maxConcurrent: 1 });
  const stream = orchestrator.executeAgentStream('python-expert', 'stream me');
  const iterator = stream[Symbol.asyncIterator]();
  const first = await iterator.next();
  t.is(first.value?.type, 'message_start');
  t.is(provider.calls, 2);
  t.is(orchestrator.stats().retries, 1);
  t.is(orchestrator.inFlight, 1, 'the concurrency slot is held while the stream is open');
  const events = [first.value!, ...(await drain(stream))];
  t.is(orchestrator.inFlight, 0);
  const result = await stream.result;
  t.is(result.attempts, 2);
  t.is(result.requestId, 'req_2');
  t.is(result.output, (accumulateEvents(events).content[0] as { text: string }).text);
  t.is(result.chunks, events.filter((e) => e.type === 'content_block_delta').length, 'output chunks: the deltas');
  t.like(orchestrator.stats(), { calls: 1, succeeded: 1, failed: 0, upstreamAttempts: 2, streams: 1 });
});

test('after the first event nothing is retried: a mid-stream failure ends the stream with a StreamInterruptedError saying how much was delivered', async (t) => {
  const provider = new ScriptedStreamProvider([{ failAfter: 3, error: overloaded() }, {}]);
  const orchestrator = orchestratorWith(provider, { circuit: { failureThreshold: 1, cooldownMs: 60_000 } });
  const stream = orchestrator.executeAgentStream('python-expert', 'fail midway');
  const seen: StreamEvent[] = [];
  const error = await t.throwsAsync(
    async () => {
      for await (const event of stream) seen.push(event);
    },
    { instanceOf: StreamInterruptedError, code: 'AP_ERR_STREAM_INTERRUPTED' },
  );
  t.is(seen.length, 3, 'the events before the failure reached the caller');
  t.like(error, { deliveredEvents: 3, deliveredTextChars: 16, reason: 'overloaded_error' });
  t.true(error.cause instanceof UpstreamError);
  t.regex(error.message, /after 3 events \(16 characters of text\)/);
  await t.throwsAsync(stream.result, { instanceOf: StreamInterruptedError });
  t.is(provider.calls, 1, 'never retried after output reached the caller');
  t.is(orchestrator.circuitState('claude-sonnet-5-5'), 'open');
  t.is(orchestrator.inFlight, 0);
  t.like(orchestrator.stats(), { calls: 1, succeeded: 0, failed: 1, retries: 0, streamsInterrupted: 1 });
  await t.throwsAsync(drain(orchestrator.executeAgentStream('python-expert', 'while open')), { instanceOf: CircuitOpenError });
  t.is(provider.calls, 1, 'an open circuit stops streamed calls before they go upstream');
});

test('a consumer that leaves early cancels the upstream stream and frees the slot; it is counted as cancelled', async (t) => {
  const provider = new ScriptedStreamProvider([{ stallAfter: 3 }]);
  const orchestrator = orchestratorWith(provider);
  const stream = orchestrator.executeAgentStream('python-expert', 'leave early');
  let seen = 0;
  for await (const event of stream) {
    t.truthy(event);
    if (++seen === 2) break;
  }
  t.is(provider.returned, 1, "the provider's iterator was returned (the request cancelled)");
  t.true(provider.signals[0]!.aborted);
  t.true(provider.signals[0]!.reason instanceof AbortedError);
  t.is(orchestrator.inFlight, 0);
  await t.throwsAsync(stream.result, { instanceOf: AbortedError });
  t.like(orchestrator.stats(), { succeeded: 0, failed: 1, streamsCancelled: 1, streamsInterrupted: 0 });
});

test('the deadline cuts a stalled stream even while nobody reads it; the next read says why', async (t) => {
  const clock = new ManualClock();
  const provider = new ScriptedStreamProvider([{ stallAfter: 1 }]);
  const orchestrator = orchestratorWith(provider, { clock, deadlineMs: 1_000, idleTimeoutMs: 5_000 });
  const stream = orchestrator.executeAgentStream('python-expert', 'stall');
  const iterator = stream[Symbol.asyncIterator]();
  await iterator.next();
  const pending = iterator.next();
  t.is(orchestrator.inFlight, 1);
  clock.advance(999);
  t.is(orchestrator.inFlight, 1);
  clock.advance(1);
  t.is(orchestrator.inFlight, 0, 'released at the deadline');
  t.true(provider.signals[0]!.aborted);
  const error = await t.throwsAsync(pending, { instanceOf: StreamInterruptedError });
  t.true(error.cause instanceof TimeoutError);
  t.regex((error.cause as Error).message, /deadline of 1000 ms/);
});

test('the idle timeout cuts a stream that stops sending, and only while a read waits', async (t) => {
  const clock = new ManualClock();
  const provider = new ScriptedStreamProvider([{ stallAfter: 2 }]);
  const orchestrator = orchestratorWith(provider, { clock, idleTimeoutMs: 500 });
  const stream = orchestrator.executeAgentStream('python-expert', 'go quiet');
  const iterator = stream[Symbol.asyncIterator]();
  await iterator.next();
  clock.advance(2_000); // the consumer is slow to ask: not idle
  t.false(provider.signals[0]!.aborted);
  await iterator.next();
  const pending = iterator.next(); // the upstream stalls here
  await waitFor(() => provider.waiting, 'the stalled read');
  clock.advance(499);
  t.false(provider.signals[0]!.aborted);
  clock.advance(1);
  t.true(provider.signals[0]!.aborted);
  const error = await t.throwsAsync(pending, { instanceOf: StreamInterruptedError });
  t.like(error.cause, { code: 'AP_ERR_TIMEOUT', kind: 'idle' });
  t.is(orchestrator.inFlight, 0);
});

test('the first-chunk timeout is retried like an attempt timeout; the error says what timed out', async (t) => {
  const clock = new ManualClock({ autoAdvanceSleeps: true });
  const provider = new ScriptedStreamProvider([{ stallAfter: 0 }, { stallAfter: 0 }]);
  const orchestrator = orchestratorWith(provider, { clock, firstChunkTimeoutMs: 200, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } });
  const reading = drain(orchestrator.executeAgentStream('python-expert', 'slow start'));
  await waitFor(() => provider.calls === 1, 'the first attempt');
  clock.advance(200);
  await waitFor(() => provider.calls === 2, 'the retry');
  clock.advance(200);
  await t.throwsAsync(reading, { instanceOf: TimeoutError, message: /no first chunk of the stream within 200 ms/ });
  t.is(provider.calls, 2);
});

test("the caller's signal before the first event cancels the attempt, with no retry", async (t) => {
  const provider = new ScriptedStreamProvider([{ stallAfter: 0 }]);
  const orchestrator = orchestratorWith(provider);
  const controller = new AbortController();
  const reading = drain(orchestrator.executeAgentStream('python-expert', 'abort me', { signal: controller.signal }));
  await waitFor(() => provider.calls === 1, 'the attempt to start');
  controller.abort('changed my mind');
  await t.throwsAsync(reading, { instanceOf: AbortedError });
  await waitFor(() => orchestrator.inFlight === 0, 'the slot to be released');
  t.is(provider.calls, 1);
  t.true(provider.signals[0]!.aborted);
});

test('a streamed call looks up the cache first: a hit is replayed as a stream, and a completed stream is stored', async (t) => {
  const cache = await ResponseCache.open({});
  const provider = new ScriptedStreamProvider([{}]);
  const orchestrator = orchestratorWith(provider, { cache });
  const stored = await orchestrator.executeAgent('python-expert', 'cached question');
  const replay = orchestrator.executeAgentStream('python-expert', 'cached question');
  const replayed = await drain(replay);
  const result = await replay.result;
  t.like(result, { cached: true, cacheTier: 'memory', output: stored.output, estimatedCostUsd: 0, attempts: 0 });
  t.is((accumulateEvents(replayed).content[0] as { text: string }).text, stored.output);
  t.is(provider.calls, 0);
  const fresh = orchestrator.executeAgentStream('python-expert', 'a new question');
  await drain(fresh);
  t.is(provider.calls, 1);
  await waitFor(() => cache.stats().sets === 2, 'the write');
  const again = orchestrator.executeAgentStream('python-expert', 'a new question');
  await drain(again);
  t.like(await again.result, { cached: true, output: (await fresh.result).output });
  t.is(provider.calls, 1, 'the completed stream was stored and replayed');
  await cache.close();
});

test('the in-process provider streams the same answer it gives whole', async (t) => {
  const orchestrator = orchestratorWith(createInProcessProvider());
  const whole = await orchestrator.executeAgent('python-expert', 'same answer', { cache: 'bypass' });
  const events = await drain(orchestrator.executeAgentStream('python-expert', 'same answer', { cache: 'bypass' }));
  const text = events.flatMap((e) => (e.type === 'content_block_delta' ? [(e.delta as { text: string }).text] : [])).join('');
  t.is(text, whole.output);
  t.true(events.filter((e) => e.type === 'content_block_delta').length > 1, 'in several chunks');
});

test('a provider without streamMessage is refused with a config error naming it', async (t) => {
  const provider: MessagesProvider = {
    name: 'whole-only',
    createMessage: () => Promise.resolve({ ...MESSAGE }),
    toError: (e) => e,
    close: () => Promise.resolve(),
  };
  const orchestrator = orchestratorWith(provider);
  const error = await t.throwsAsync(drain(orchestrator.executeAgentStream('python-expert', 'stream?')));
  t.is((error as { code?: string }).code, 'AP_ERR_CONFIG');
  t.regex(error.message, /whole-only provider cannot stream/);
});

test('close({ abortInFlight }) cuts an open stream; close() waits for one to end', async (t) => {
  const provider = new ScriptedStreamProvider([{ stallAfter: 1 }, {}]);
  const orchestrator = orchestratorWith(provider);
  const stream = orchestrator.executeAgentStream('python-expert', 'cut me');
  const iterator = stream[Symbol.asyncIterator]();
  await iterator.next();
  await orchestrator.close({ abortInFlight: true });
  t.is(orchestrator.inFlight, 0);
  const error = await t.throwsAsync(iterator.next(), { instanceOf: StreamInterruptedError });
  t.like(error.cause, { code: 'AP_ERR_CLOSED' });

  const other = orchestratorWith(new ScriptedStreamProvider([{}]));
  const live = other.executeAgentStream('python-expert', 'finish me');
  const liveIterator = live[Symbol.asyncIterator]();
  await liveIterator.next();
  let closed = false;
  const closing = other.close().then(() => (closed = true));
  await new Promise<void>((resolve) => setImmediate(resolve));
  t.false(closed, 'close() waits for the open stream');
  await drain(live);
  await closing;
  t.true(closed);
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { ResponseCache } from '../../src/cache/response-cache.ts';
import { ManualClock } from '../../src/clock.ts';
import { AbortedError, CircuitOpenError, TimeoutError, UpstreamError } from '../../src/errors.ts';
import { Orchestrator, type OpenedStream, type OrchestratorOptions } from '../../src/orchestrator/orchestrator.ts';
import { createAnthropicProvider } from '../../src/providers/anthropic.ts';
import { createInProcessProvider } from '../../src/providers/in-process.ts';
import { messageFor } from '../../src/providers/simulator/respond.ts';
import { accumulateEvents, eventsOf, serverSentEvent, streamOfEvents } from '../../src/providers/stream-events.ts';
import type {
  CreateMessageOptions,
  MessageParams,
  MessageResponse,
  MessagesProvider,
  ProviderResult,
  ProviderStream,
  StreamEvent,
} from '../../src/providers/types.ts';
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

/** One scripted upstream stream: events, then optionally a failure after `failAfter` of them (0: before the first). */
interface Script {
  events?: StreamEvent[];
  failAfter?: number;
  error?: unknown;
  /** Stops sending after `stallAfter` events, until aborted. */
  stallAfter?: number;
}

/** A provider whose streams follow a script per call, recording what the orchestrator did with them. */
class ScriptedStreamProvider implements MessagesProvider {
  readonly name = 'scripted';
  calls = 0;
  returned = 0;
  readonly signals: Array<AbortSignal | undefined> = [];
  constructor(private readonly scripts: Script[]) {}

  createMessage(params: MessageParams): Promise<ProviderResult> {
    return Promise.resolve({ ...messageFor(params, 'msg_whole'), _request_id: 'req_whole' });
  }

  streamMessage(params: MessageParams, options: CreateMessageOptions): ProviderStream {
    const script = this.scripts[this.calls++] ?? {};
    this.signals.push(options.signal);
    const message: ProviderResult = { ...messageFor(params, `msg_${this.calls}`), _request_id: `req_${this.calls}` };
    const events = script.events ?? eventsOf(message);
    if (script.failAfter === undefined && script.stallAfter === undefined) {
      const inner = streamOfEvents(events, message, options.signal);
      return {
        [Symbol.asyncIterator]: () => {
          const it = inner[Symbol.asyncIterator]();
          return { next: () => it.next(), return: () => (this.returned++, it.return!()) };
        },
        finalMessage: () => inner.finalMessage(),
      };
    }
    let sent = 0;
    const left = () => this.returned++;
    return {
      [Symbol.asyncIterator]() {
        return {
          async next(): Promise<IteratorResult<StreamEvent>> {
            await new Promise<void>((resolve) => setImmediate(resolve));
            if (options.signal?.aborted) throw options.signal.reason;
            if (sent === script.failAfter) throw script.error;
            if (sent === script.stallAfter) {
              // Rejects with the signal's reason, as fetch does.
              await new Promise<void>((_, reject) =>
                options.signal?.addEventListener('abort', () => reject(options.signal!.reason as unknown), { once: true }),
              );
            }
            return { value: events[sent++], done: false };
          },
          async return(): Promise<IteratorResult<StreamEvent>> {
            left();
            return { value: undefined, done: true };
          },
        };
      },
      finalMessage: () => Promise.reject(new Error('no final message')),
    };
  }

  toError = (error: unknown) => error;
  close = () => Promise.resolve();
}

const overloaded = () => new UpstreamError({ status: 529, errorType: 'overloaded_error', message: 'upstream answered 529' });

function orchestratorWith(provider: MessagesProvider, extra: Partial<OrchestratorOptions> = {}): Orchestrator {
  return new Orchestrator({ agents: TEST_AGENTS, provider, retry: { baseDelayMs: 1, maxDelayMs: 1 }, ...extra });
}

async function drain(opened: OpenedStream): Promise<StreamEvent[]> {
  if (opened.source !== 'upstream') throw new Error('expected an upstream stream');
  const events: StreamEvent[] = [];
  for await (const event of opened.events) events.push(event);
  return events;
}

test('a failure before the first event is retried like any attempt; the slot is held until the last event', async (t) => {
  const provider = new ScriptedStreamProvider([{ failAfter: 0, error: overloaded() }, {}]);
  const orchestrator = orchestratorWith(provider, { maxConcurrent: 1 });
  const opened = await orchestrator.openStream('python-expert', 'stream me');
  t.is(opened.source, 'upstream');
  if (opened.source !== 'upstream') return;
  t.is(opened.attempts, 2);
  t.is(provider.calls, 2);
  t.is(orchestrator.stats().retries, 1);
  t.is(orchestrator.inFlight, 1, 'the concurrency slot is held while the stream is open');
  const events = await drain(opened);
  t.is(orchestrator.inFlight, 0);
  const final = await opened.events.finalMessage();
  const { _request_id, ...whole } = final;
  t.is(_request_id, 'req_2');
  t.deepEqual(accumulateEvents(events), whole);
  t.like(orchestrator.stats(), { calls: 1, succeeded: 1, failed: 0, upstreamAttempts: 2 });
});

test('after the first event nothing is retried: a mid-stream failure ends the stream with the error, and the breaker counts it', async (t) => {
  const provider = new ScriptedStreamProvider([{ failAfter: 2, error: overloaded() }, {}]);
  const orchestrator = orchestratorWith(provider, { circuit: { failureThreshold: 1, cooldownMs: 60_000 } });
  const opened = await orchestrator.openStream('python-expert', 'fail midway');
  if (opened.source !== 'upstream') return t.fail('expected an upstream stream');
  const seen: StreamEvent[] = [];
  const error = await t.throwsAsync(async () => {
    for await (const event of opened.events) seen.push(event);
  });
  t.is(seen.length, 2, 'the two events before the failure reached the caller');
  t.true(error instanceof UpstreamError);
  t.is(provider.calls, 1, 'never retried after output reached the caller');
  t.is(orchestrator.circuitState('claude-sonnet-5-5'), 'open');
  t.is(orchestrator.inFlight, 0);
  t.like(orchestrator.stats(), { calls: 1, succeeded: 0, failed: 1, retries: 0 });
  await t.throwsAsync(orchestrator.openStream('python-expert', 'while open'), { instanceOf: CircuitOpenError });
  t.is(provider.calls, 1, 'an open circuit stops streamed calls before they go upstream');
});

test('a consumer that leaves early cancels the upstream stream and frees the slot', async (t) => {
  const provider = new ScriptedStreamProvider([{ stallAfter: 3 }]);
  const orchestrator = orchestratorWith(provider);
  const opened = await orchestrator.openStream('python-expert', 'leave early');
  if (opened.source !== 'upstream') return t.fail('expected an upstream stream');
  let seen = 0;
  for await (const event of opened.events) {
    t.truthy(event);
    if (++seen === 2) break;
  }
  t.is(provider.returned, 1, "the provider's iterator was returned (the request cancelled)");
  t.true(provider.signals[0]!.aborted);
  t.true(provider.signals[0]!.reason instanceof AbortedError);
  t.is(orchestrator.inFlight, 0);
  t.like(orchestrator.stats(), { succeeded: 0, failed: 1 });
});

test('the deadline cuts a stalled stream even while nobody reads it; the next read says why', async (t) => {
  const clock = new ManualClock();
  const provider = new ScriptedStreamProvider([{ stallAfter: 1 }]);
  const orchestrator = orchestratorWith(provider, { clock, deadlineMs: 1_000 });
  const opened = await orchestrator.openStream('python-expert', 'stall');
  if (opened.source !== 'upstream') return t.fail('expected an upstream stream');
  t.is(orchestrator.inFlight, 1);
  clock.advance(999);
  t.is(orchestrator.inFlight, 1);
  clock.advance(1);
  t.is(orchestrator.inFlight, 0, 'released at the deadline, not at the next read');
  t.true(provider.signals[0]!.aborted);
  await t.throwsAsync(opened.events.next(), { instanceOf: TimeoutError, message: /deadline/ });
});

test("the caller's signal before the first event cancels the attempt, with no retry", async (t) => {
  const provider = new ScriptedStreamProvider([{ stallAfter: 0 }]);
  const orchestrator = orchestratorWith(provider);
  const controller = new AbortController();
  const opening = orchestrator.openStream('python-expert', 'abort me', { signal: controller.signal });
  await waitFor(() => provider.calls === 1, 'the attempt to start');
  controller.abort('changed my mind');
  await t.throwsAsync(opening, { instanceOf: AbortedError });
  t.is(provider.calls, 1);
  t.is(orchestrator.inFlight, 0);
});

test('a streamed call looks up the cache first: a hit is the stored message, and nothing goes upstream', async (t) => {
  const cache = await ResponseCache.open({});
  const provider = new ScriptedStreamProvider([]);
  const orchestrator = orchestratorWith(provider, { cache });
  const stored = await orchestrator.executeAgent('python-expert', 'cached question');
  const opened = await orchestrator.openStream('python-expert', 'cached question');
  t.is(opened.source, 'cache');
  if (opened.source !== 'cache') return;
  t.is(opened.tier, 'memory');
  t.is((opened.message.content[0] as { text: string }).text, stored.output);
  t.is(provider.calls, 0);
  const bypass = await orchestrator.openStream('python-expert', 'cached question', { cache: 'bypass' });
  t.is(bypass.source, 'upstream');
  if (bypass.source === 'upstream') await drain(bypass);
  await cache.close();
});

test('the in-process provider streams the same answer it gives whole', async (t) => {
  const orchestrator = orchestratorWith(createInProcessProvider());
  const whole = await orchestrator.executeAgent('python-expert', 'same answer', { cache: 'bypass' });
  const opened = await orchestrator.openStream('python-expert', 'same answer', { cache: 'bypass' });
  const events = await drain(opened);
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
  const error = await t.throwsAsync(orchestrator.openStream('python-expert', 'stream?'));
  t.is((error as { code?: string }).code, 'AP_ERR_CONFIG');
  t.regex(error.message, /whole-only provider cannot stream/);
});

test('close({ abortInFlight }) cuts an open stream; close() waits for one to end', async (t) => {
  const provider = new ScriptedStreamProvider([{ stallAfter: 1 }, {}]);
  const orchestrator = orchestratorWith(provider);
  const opened = await orchestrator.openStream('python-expert', 'cut me');
  if (opened.source !== 'upstream') return t.fail('expected an upstream stream');
  await orchestrator.close({ abortInFlight: true });
  t.is(orchestrator.inFlight, 0);
  await t.throwsAsync(opened.events.next(), { code: 'AP_ERR_CLOSED' });

  const other = orchestratorWith(new ScriptedStreamProvider([{}]));
  const live = await other.openStream('python-expert', 'finish me');
  let closed = false;
  const closing = other.close().then(() => (closed = true));
  await new Promise<void>((resolve) => setImmediate(resolve));
  t.false(closed, 'close() waits for the open stream');
  await drain(live);
  await closing;
  t.true(closed);
});

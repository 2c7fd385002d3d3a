import test from 'ava';
import { createAnthropicProvider } from '../../src/providers/anthropic.ts';
import { answerFor, messageFor } from '../../src/providers/simulator/respond.ts';
import { startSimulator, type RunningSimulator } from '../../src/providers/simulator/server.ts';
import { parseTokensPerSecond, parseTtft, planStream, streamSteps } from '../../src/providers/simulator/stream.ts';
import { accumulateEvents } from '../../src/providers/stream-events.ts';
import type { MessageParams, StreamEvent } from '../../src/providers/types.ts';
import { UpstreamError, type UsageError } from '../../src/errors.ts';

const PARAMS: MessageParams = { model: 'claude-sonnet-5-5', max_tokens: 300, messages: [{ role: 'user', content: 'stream this' }] };

async function withSimulator(options: Parameters<typeof startSimulator>[0], run: (sim: RunningSimulator) => Promise<void>): Promise<void> {
  const sim = await startSimulator(options);
  try {
    await run(sim);
  } finally {
    await sim.close();
  }
}

/** Every event of one streamed request through the real SDK, or the error that ended it after `events`. */
async function streamThroughSdk(sim: RunningSimulator): Promise<{ events: StreamEvent[]; error?: unknown }> {
  const provider = createAnthropicProvider({ apiKey: 'k', baseURL: sim.url });
  const events: StreamEvent[] = [];
  try {
    for await (const event of provider.streamMessage!(PARAMS, { timeoutMs: 5_000, signal: AbortSignal.timeout(2_000) })) events.push(event);
    return { events };
  } catch (error) {
    return { events, error: provider.toError(error, 5_000) };
  } finally {
    await provider.close({ force: true });
  }
}

test('the pacing of a streamed answer: the first token at once with message_start, then each delta when its tokens are generated', (t) => {
  const message = messageFor(PARAMS, 'msg_1', answerFor(PARAMS));
  const steps = streamSteps(message, 100); // 100 tokens a second: 10 ms a token
  t.is(steps[0].atMs, 0);
  t.regex(steps[0].text, /^event: message_start\n.*\nevent: content_block_start\n.*\nevent: ping\n.*\nevent: content_block_delta\n/s);
  const text = (message.content[0] as { text: string }).text;
  const deltas = Math.ceil(text.length / 16);
  t.is(steps.length, deltas, 'one write per delta (the last carries the closing events)');
  // Each further delta is 16 characters, 4 tokens: 40 ms apart (the last may be shorter).
  t.is(steps[1].atMs, 40);
  t.is(steps[deltas - 2].atMs, 40 * (deltas - 2));
  t.regex(steps.at(-1)!.text, /event: content_block_stop\n.*\nevent: message_delta\n.*\nevent: message_stop\n/s);
  t.is(
    steps.reduce((sum, s) => sum + s.events, 0),
    2 + deltas + 3,
    'message_start, content_block_start, deltas, content_block_stop, message_delta, message_stop',
  );
  t.is(streamSteps(message, Infinity).length, 1, 'an unlimited output rate sends everything in one write');
});

test('the stream plan: ttft from its own model or the latency model, the output rate from its own setting or +MS/token', (t) => {
  const random = () => 0.5;
  const latency = { model: { kind: 'fixed' as const, ms: 70 }, perOutputTokenMs: 20 };
  t.like(planStream({}, latency, random), { ttftMs: 70, tokensPerSecond: 50, faultAfterChunks: 3 });
  t.like(planStream({ ttft: parseTtft('fixed:300'), tokensPerSecond: 60, faultAfterChunks: 5 }, latency, random), {
    ttftMs: 300,
    tokensPerSecond: 60,
    faultAfterChunks: 5,
  });
  t.is(planStream({}, { model: { kind: 'fixed', ms: 0 }, perOutputTokenMs: 0 }, random).tokensPerSecond, Infinity);
  t.like(parseTtft('lognormal:300,1200'), { kind: 'lognormal', medianMs: 300, p99Ms: 1200 });
  t.throws(() => parseTtft('fixed:10+1/token'), { code: 'AP_ERR_USAGE', message: /ttft .*no \+MS\/token/ });
  t.is(t.throws<UsageError>(() => parseTtft('often'), { code: 'AP_ERR_USAGE', message: /^ttft must look like fixed:MS/ })?.field, 'ttft');
  t.is(parseTokensPerSecond('60'), 60);
  t.throws(() => parseTokensPerSecond('0'), { code: 'AP_ERR_USAGE', message: /tokens-per-second must be a positive number, got "0"/ });
});

test('the real SDK parses a simulated stream: every event in order, the same answer as the whole one, and the simulator counts the stream', async (t) => {
  await withSimulator({ streaming: { tokensPerSecond: 2_000 } }, async (sim) => {
    const { events, error } = await streamThroughSdk(sim);
    t.is(error, undefined);
    t.deepEqual(
      [...new Set(events.map((e) => e.type))],
      ['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop'],
    );
    const whole = messageFor(PARAMS, 'x', answerFor(PARAMS));
    const streamed = accumulateEvents(events);
    t.deepEqual(streamed.content, whole.content);
    t.deepEqual(streamed.usage.output_tokens, whole.usage.output_tokens);
    t.is(streamed.stop_reason, 'end_turn');
    await new Promise((resolve) => setTimeout(resolve, 20));
    t.like(sim.stats().streams, { started: 1, open: 0, completed: 1, faulted: 0, clientLeft: 0 });
    t.is(sim.stats().responsesByStatus['200'], 1);
  });
});

test('a mid-stream error event after N chunks: the SDK throws it, read as an overloaded 529 that says it came mid-stream', async (t) => {
  await withSimulator({ streaming: { faultAfterChunks: 4 } }, async (sim) => {
    sim.scheduleFaults(['stream_error']);
    const { events, error } = await streamThroughSdk(sim);
    t.is(events.length, 4);
    t.true(error instanceof UpstreamError);
    t.like(error, { status: 529, errorType: 'overloaded_error', code: 'AP_ERR_UPSTREAM' });
    t.regex((error as Error).message, /the stream reported overloaded_error/);
    t.like(sim.stats().streams, { started: 1, faulted: 1, completed: 0 });
    t.is(sim.stats().faults.stream_error, 1);
  });
});

test('a connection reset mid-stream and an event that is not JSON: each ends the stream with an error after the chunks already sent', async (t) => {
  await withSimulator({ streaming: { faultAfterChunks: 3 } }, async (sim) => {
    sim.scheduleFaults(['stream_reset', 'stream_malformed']);
    const reset = await streamThroughSdk(sim);
    t.is(reset.events.length, 3);
    t.like(reset.error, { errorType: 'connection_error' });
    const malformed = await streamThroughSdk(sim);
    t.is(malformed.events.length, 3);
    t.like(malformed.error, { errorType: 'client_error' });
    t.like(sim.stats().streams, { started: 2, faulted: 2 });
  });
});

test('a stall mid-stream sends nothing more and holds the connection until the client gives up', async (t) => {
  await withSimulator({ streaming: { faultAfterChunks: 2 } }, async (sim) => {
    sim.scheduleFaults(['stream_stall']);
    const provider = createAnthropicProvider({ apiKey: 'k', baseURL: sim.url });
    const controller = new AbortController();
    const events: StreamEvent[] = [];
    const reading = (async () => {
      for await (const event of provider.streamMessage!(PARAMS, { timeoutMs: 5_000, signal: controller.signal })) events.push(event);
    })();
    while (events.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 50));
    t.is(events.length, 2, 'nothing after the stall');
    t.is(sim.stats().streams.open, 1, 'the connection is still open');
    controller.abort();
    await reading.catch(() => {});
    while (sim.stats().streams.open > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    t.like(sim.stats().streams, { started: 1, open: 0, faulted: 1 });
    await provider.close({ force: true });
  });
});

test('whole requests are never hit by a mid-stream fault; status faults strike a streamed request before its stream starts', async (t) => {
  await withSimulator({}, async (sim) => {
    sim.scheduleFaults(['stream_error', '529']);
    const whole = await fetch(`${sim.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': 'k' }, body: JSON.stringify(PARAMS) });
    t.is(whole.status, 200);
    const { events, error } = await streamThroughSdk(sim);
    t.is(events.length, 0);
    t.like(error, { status: 529, errorType: 'overloaded_error' });
    t.is(sim.stats().streams.started, 0);
    const bad = await fetch(`${sim.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': 'k' }, body: JSON.stringify({ ...PARAMS, stream: 'yes' }) });
    t.is(bad.status, 400);
    t.regex(await bad.text(), /stream: Input should be a valid boolean/);
  });
});

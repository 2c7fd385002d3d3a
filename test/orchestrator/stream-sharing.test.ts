import test from 'ava';
import { AbortedError } from '../../src/errors.ts';
import { Orchestrator, type OrchestratorOptions } from '../../src/orchestrator/orchestrator.ts';
import { SharedStream, type StreamSource } from '../../src/orchestrator/shared-stream.ts';
import { messageFor } from '../../src/providers/simulator/respond.ts';
import { eventsOf, replayReader } from '../../src/providers/stream-events.ts';
import type { MessageParams, ProviderResult, StreamEvent } from '../../src/providers/types.ts';
import { TEST_AGENTS, waitFor } from '../helpers.ts';
import { ScriptedStreamProvider } from './scripted-stream-provider.ts';

function orchestratorWith(provider: ScriptedStreamProvider, extra: Partial<OrchestratorOptions> = {}): Orchestrator {
  return new Orchestrator({ agents: TEST_AGENTS, provider, retry: { baseDelayMs: 1, maxDelayMs: 1 }, ...extra });
}

async function readAll(iterator: AsyncIterator<StreamEvent>, into: StreamEvent[] = []): Promise<StreamEvent[]> {
  for (;;) {
    const step = await iterator.next();
    if (step.done) return into;
    into.push(step.value);
  }
}

test('identical streams share one upstream: a joiner arriving after any number of delivered events receives all of them, in order, then the live ones', async (t) => {
  // How many events one answer streams (the same request always gets the same answer).
  const probe = orchestratorWith(new ScriptedStreamProvider([{}]));
  const total = (await readAll(probe.executeAgentStream('python-expert', 'shared answer')[Symbol.asyncIterator]())).length;
  t.true(total > 5);
  for (let joinAfter = 0; joinAfter < total; joinAfter++) {
    const provider = new ScriptedStreamProvider([{}, {}]);
    const orchestrator = orchestratorWith(provider);
    const first = orchestrator.executeAgentStream('python-expert', 'shared answer')[Symbol.asyncIterator]();
    const firstEvents: StreamEvent[] = [];
    for (let i = 0; i < joinAfter; i++) firstEvents.push((await first.next()).value as StreamEvent);
    const joiner = orchestrator.executeAgentStream('python-expert', 'shared answer');
    const [a, b] = await Promise.all([readAll(first, firstEvents), readAll(joiner[Symbol.asyncIterator]())]);
    t.is(provider.calls, 1, `one upstream call (joined after ${joinAfter} events)`);
    t.is(b.length, total, `the joiner received every event (joined after ${joinAfter})`);
    t.deepEqual(b, a);
    t.like(await joiner.result, { coalesced: true, attempts: 0 });
    t.like(orchestrator.stats(), { calls: 2, coalesced: 1, succeeded: 2 });
  }
});

test('one caller leaving does not end a shared stream for the others; the last one leaving cancels the upstream', async (t) => {
  const provider = new ScriptedStreamProvider([{}]);
  const orchestrator = orchestratorWith(provider);
  const first = orchestrator.executeAgentStream('python-expert', 'leave me');
  const second = orchestrator.executeAgentStream('python-expert', 'leave me');
  const firstIterator = first[Symbol.asyncIterator]();
  await firstIterator.next();
  await firstIterator.next();
  await firstIterator.return();
  const rest = await readAll(second[Symbol.asyncIterator]());
  t.is(rest.at(-1)?.type, 'message_stop');
  t.is(provider.returned, 0, 'the upstream was not cancelled');
  t.like(await second.result, { coalesced: true });
  await t.throwsAsync(first.result, { instanceOf: AbortedError });

  const stalled = new ScriptedStreamProvider([{ stallAfter: 3 }]);
  const other = orchestratorWith(stalled);
  const a = other.executeAgentStream('python-expert', 'everyone leaves')[Symbol.asyncIterator]();
  const b = other.executeAgentStream('python-expert', 'everyone leaves')[Symbol.asyncIterator]();
  await a.next();
  await b.next();
  await a.return();
  t.false(stalled.signals[0]!.aborted, 'one reader is left');
  await b.return();
  t.true(stalled.signals[0]!.aborted, 'the last reader out cancelled the upstream');
  t.is(stalled.returned, 1);
  await waitFor(() => other.inFlight === 0, 'the slot to be released');
  t.like(other.stats(), { streamsCancelled: 2 });
});

test("a joiner's own signal ends only its own reading", async (t) => {
  const provider = new ScriptedStreamProvider([{}]);
  const orchestrator = orchestratorWith(provider);
  const owner = orchestrator.executeAgentStream('python-expert', 'signals');
  const controller = new AbortController();
  const joiner = orchestrator.executeAgentStream('python-expert', 'signals', { signal: controller.signal });
  const ownerIterator = owner[Symbol.asyncIterator]();
  const joinerIterator = joiner[Symbol.asyncIterator]();
  await ownerIterator.next();
  await joinerIterator.next();
  const pending = joinerIterator.next();
  controller.abort('enough');
  await t.throwsAsync(pending, { instanceOf: AbortedError });
  const rest = await readAll(ownerIterator);
  t.is(rest.at(-1)?.type, 'message_stop');
  t.false(provider.signals[0]!.aborted);
  t.like(await owner.result, { coalesced: false });
});

test('streams past the replay bound take no new joiners: an identical call then goes upstream on its own', async (t) => {
  const provider = new ScriptedStreamProvider([{}, {}]);
  const orchestrator = orchestratorWith(provider, { streamReplayBytes: 600 });
  const first = orchestrator.executeAgentStream('python-expert', 'long answer')[Symbol.asyncIterator]();
  for (let i = 0; i < 6; i++) await first.next(); // past 600 bytes (160 counted per event at least)
  const late = orchestrator.executeAgentStream('python-expert', 'long answer');
  const [a, b] = await Promise.all([readAll(first), readAll(late[Symbol.asyncIterator]())]);
  t.true(a.length > 0);
  t.is(b[0].type, 'message_start');
  t.is(provider.calls, 2, 'the late call did not join');
  t.like(await late.result, { coalesced: false });
});

/** A source of `events` whose reads are counted. */
function countingSource(events: StreamEvent[], final: ProviderResult): StreamSource & { reads: number } {
  const reader = replayReader(events);
  const source = {
    reads: 0,
    next: () => {
      source.reads++;
      return reader.next();
    },
    return: () => reader.return(),
    finalMessage: () => Promise.resolve(final),
  };
  return source;
}

test('past its bound a shared stream keeps only what its slowest reader has yet to read, and never reads ahead of its fastest', async (t) => {
  const params: MessageParams = { model: 'claude-sonnet-5-5', max_tokens: 4000, messages: [{ role: 'user', content: 'x' }] };
  const message = { ...messageFor(params, 'msg_long'), content: [{ type: 'text' as const, text: 'word '.repeat(2_000) }] };
  const events = eventsOf(message);
  const source = countingSource(events, message);
  const shared = new SharedStream(
    Promise.resolve(source),
    () => {},
    4_000,
    () => performance.now(),
  );
  const fast = shared.join();
  const slow = shared.join();
  let maxKept = 0;
  const fastEvents: StreamEvent[] = [];
  const slowEvents: StreamEvent[] = [];
  for (let i = 0; i < events.length; i++) {
    fastEvents.push((await fast.next()).value!);
    if (i % 2 === 0) slowEvents.push((await slow.next()).value!);
    t.true(source.reads <= i + 1, 'nothing is read ahead of the fastest reader');
    maxKept = Math.max(maxKept, shared.keptEvents);
  }
  t.false(shared.joinable, 'past the bound nobody may join');
  // The slow reader lags by half the stream; the kept events are its lag (at most twice it, as drops are amortised).
  t.true(maxKept <= events.length, `kept ${maxKept} of ${events.length}`);
  await readAll(slow, slowEvents);
  t.deepEqual(fastEvents, events, 'the fast reader read every event in order');
  t.deepEqual(slowEvents, events, 'so did the slow one, while events were dropped behind it');
  t.true(shared.keptEvents <= 2, `once both read everything only the last events may be kept, kept ${shared.keptEvents}`);
  const { _stream_pacing: pacing, ...final } = (await shared.over)!;
  t.deepEqual(final, message);
  t.is(pacing?.chunkGapsMs.length, events.filter((e) => e.type === 'content_block_delta').length - 1, 'a gap for every delta after the first');
});

test("a completed stream is stored with how it arrived; replay: paced plays it back at that pace on the caller's clock, the default at once", async (t) => {
  const { ManualClock } = await import('../../src/clock.ts');
  const { ResponseCache } = await import('../../src/cache/response-cache.ts');
  const clock = new ManualClock({ autoAdvanceSleeps: true });
  // The upstream: its first delta 120 ms after the request (message_start at 100, then 10 ms an event), each later event 10 ms after the one before.
  const provider = new ScriptedStreamProvider([{}]);
  const inner = provider.streamMessage.bind(provider);
  provider.streamMessage = (p, options) => {
    const stream = inner(p, options);
    return {
      [Symbol.asyncIterator]: () => {
        const it = stream[Symbol.asyncIterator]();
        let sent = 0;
        return {
          next: async () => {
            const step = await it.next();
            if (!step.done) clock.advance(sent++ === 0 ? 100 : 10);
            return step;
          },
          return: () => it.return!(),
        };
      },
      finalMessage: () => stream.finalMessage(),
    };
  };
  const cache = await ResponseCache.open({});
  const orchestrator = orchestratorWith(provider, { cache, clock });
  const live = orchestrator.executeAgentStream('python-expert', 'pace me');
  for await (const event of live) void event;
  const first = await live.result;
  t.is(first.timeToFirstChunkMs, 120);
  await waitFor(() => cache.stats().sets === 1, 'the cache write');

  const paced = orchestrator.executeAgentStream('python-expert', 'pace me', { replay: 'paced' });
  const gaps: number[] = [];
  let last: number | undefined;
  for await (const event of paced)
    if (event.type === 'content_block_delta') {
      if (last !== undefined) gaps.push(clock.now() - last);
      last = clock.now();
    }
  const replayed = await paced.result;
  t.like(replayed, { cached: true, timeToFirstChunkMs: 120, chunks: first.chunks, output: first.output });
  t.deepEqual(
    gaps,
    Array.from({ length: first.chunks - 1 }, () => 10),
    'every later chunk 10 ms after the one before, as recorded',
  );

  const atOnce = orchestrator.executeAgentStream('python-expert', 'pace me');
  for await (const event of atOnce) void event;
  t.like(await atOnce.result, { cached: true, timeToFirstChunkMs: 0 });
  t.is(provider.calls, 1);
  await cache.close();
});

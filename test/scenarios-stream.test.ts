import test from 'ava';
import { Readable } from 'node:stream';
import { Orchestrator } from '../src/orchestrator/orchestrator.ts';
import { ResponseCache } from '../src/cache/response-cache.ts';
import { createInProcessProvider } from '../src/providers/in-process.ts';
import { serverSentEvents } from '../src/load/sse.ts';
import { timeStream } from '../src/scenarios/stream-timing.ts';
import { serverSentEvent, eventsOf } from '../src/providers/stream-events.ts';
import { messageFor } from '../src/providers/simulator/respond.ts';
import type { StreamEvent } from '../src/providers/types.ts';
import { TEST_AGENTS, waitFor } from './helpers.ts';

test('timeStream: the first delta, the gaps between deltas, and no output rate for a replay from the cache', async (t) => {
  const cache = await ResponseCache.open({});
  const orchestrator = new Orchestrator({ agents: TEST_AGENTS, provider: createInProcessProvider(), cache });
  const stream = orchestrator.executeAgentStream('python-expert', 'time me');
  const before = performance.now();
  const live = await timeStream(stream);
  const result = await stream.result;
  t.true(live.firstChunkAt >= before);
  t.is(live.chunkGapsMs!.length, result.chunks - 1);
  t.true(live.outputTokensPerSecond! > 0, 'a generated answer has an output rate');
  await waitFor(() => cache.stats().sets === 1, 'the cache write');
  const replay = await timeStream(orchestrator.executeAgentStream('python-expert', 'time me'));
  t.is(replay.chunkGapsMs!.length, result.chunks - 1);
  t.is(replay.outputTokensPerSecond, undefined, 'a replay generates nothing');
  await orchestrator.close();
  await cache.close();
});

test('serverSentEvents: blocks split across network chunks are put together, pings skipped, an error event thrown as its type', async (t) => {
  const message = messageFor({ model: 'claude-sonnet-5-5', max_tokens: 100, messages: [{ role: 'user', content: 'sse' }] }, 'msg_1');
  const events = eventsOf(message);
  const text = events.map(serverSentEvent).join('') + 'event: ping\ndata: {"type": "ping"}\n\n';
  // Cut into 7-byte pieces: every block spans several chunks.
  const pieces = Array.from({ length: Math.ceil(text.length / 7) }, (_, i) => Buffer.from(text.slice(i * 7, i * 7 + 7)));
  const read: StreamEvent[] = [];
  for await (const event of serverSentEvents(Readable.from(pieces))) read.push(event);
  t.deepEqual(read, events);
  const failing = Readable.from([
    serverSentEvent(events[0]),
    'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n',
  ]);
  const error = await t.throwsAsync(async () => {
    for await (const event of serverSentEvents(failing)) void event;
  });
  t.like(error, { code: 'AP_ERR_CONNECTION', errorType: 'overloaded_error' });
});

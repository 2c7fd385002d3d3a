import test from 'ava';
import { AbortedError, StreamInterruptedError, TimeoutError } from '../../src/errors.ts';
import { Orchestrator, type OrchestratorOptions } from '../../src/orchestrator/orchestrator.ts';
import { createAnthropicProvider } from '../../src/providers/anthropic.ts';
import type { FaultType } from '../../src/providers/simulator/faults.ts';
import { startSimulator, type RunningSimulator } from '../../src/providers/simulator/server.ts';
import type { StreamEvent } from '../../src/providers/types.ts';
import { TEST_AGENTS, waitFor } from '../helpers.ts';

/** The orchestrator on the real SDK over real HTTP to the simulator, streaming at 2,000 tokens a second. */
async function withStack(
  run: (orchestrator: Orchestrator, sim: RunningSimulator) => Promise<void>,
  extra: Partial<OrchestratorOptions> = {},
  faultAfterChunks = 4,
): Promise<void> {
  const sim = await startSimulator({ streaming: { tokensPerSecond: 2_000, faultAfterChunks } });
  const orchestrator = new Orchestrator({
    agents: TEST_AGENTS,
    provider: createAnthropicProvider({ apiKey: 'k', baseURL: sim.url }),
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    ...extra,
  });
  try {
    await run(orchestrator, sim);
  } finally {
    await orchestrator.close({ abortInFlight: true });
    await sim.close();
  }
}

const openStreams = (sim: RunningSimulator) => sim.stats().streams.open;

test('a streamed call through the real SDK: every event, the same answer as a whole call, the time to first chunk measured', async (t) => {
  await withStack(async (orchestrator, sim) => {
    const whole = await orchestrator.executeAgent('python-expert', 'one answer', { cache: 'bypass' });
    const stream = orchestrator.executeAgentStream('python-expert', 'one answer', { cache: 'bypass' });
    const text: string[] = [];
    for await (const chunk of stream.text()) text.push(chunk);
    const result = await stream.result;
    t.is(text.join(''), whole.output);
    t.true(text.length > 1);
    t.like(result, { output: whole.output, usage: whole.usage, attempts: 1, cached: false, coalesced: false });
    t.regex(result.requestId!, /^req_sim_/);
    t.true(result.timeToFirstChunkMs > 0 && result.timeToFirstChunkMs <= result.latencyMs);
    t.like(sim.stats().streams, { started: 1, completed: 1, open: 0 });
  });
});

test('leaving a stream early (break, or the signal) closes its connection: the simulator sees it leave', async (t) => {
  await withStack(async (orchestrator, sim) => {
    for await (const event of orchestrator.executeAgentStream('python-expert', 'break out', { cache: 'bypass' }))
      if (event.type === 'content_block_delta') break;
    await waitFor(() => openStreams(sim) === 0, 'the connection to close');
    const controller = new AbortController();
    const stream = orchestrator.executeAgentStream('python-expert', 'abort me', { cache: 'bypass', signal: controller.signal });
    await t.throwsAsync(
      async () => {
        for await (const event of stream) if (event.type === 'content_block_delta') controller.abort('stop');
      },
      { instanceOf: AbortedError },
    );
    await waitFor(() => openStreams(sim) === 0, 'the second connection to close');
    t.is(sim.stats().streams.clientLeft, 2);
    t.like(orchestrator.stats(), { streamsCancelled: 2, failed: 2 });
    t.is(orchestrator.inFlight, 0);
  });
});

const midStream: Array<{ fault: FaultType; reason: string }> = [
  { fault: 'stream_error', reason: 'overloaded_error' },
  { fault: 'stream_reset', reason: 'connection_error' },
  { fault: 'stream_malformed', reason: 'client_error' },
];

for (const { fault, reason } of midStream) {
  test(`${fault} after 4 events: a StreamInterruptedError (${reason}) after exactly those events, never retried`, async (t) => {
    await withStack(async (orchestrator, sim) => {
      sim.scheduleFaults([fault]);
      const seen: StreamEvent[] = [];
      const error = await t.throwsAsync(
        async () => {
          for await (const event of orchestrator.executeAgentStream('python-expert', `fault ${fault}`)) seen.push(event);
        },
        { instanceOf: StreamInterruptedError },
      );
      t.is(seen.length, 4);
      t.like(error, { deliveredEvents: 4, reason });
      t.is(sim.stats().requests, 1, 'not retried');
      t.like(orchestrator.stats(), { streamsInterrupted: 1 });
      await waitFor(() => openStreams(sim) === 0, 'the connection to close');
    });
  });
}

test('a stall mid-stream is cut by the idle timeout, and its connection closed', async (t) => {
  await withStack(
    async (orchestrator, sim) => {
      sim.scheduleFaults(['stream_stall']);
      const error = await t.throwsAsync(
        async () => {
          for await (const event of orchestrator.executeAgentStream('python-expert', 'stall')) void event;
        },
        { instanceOf: StreamInterruptedError },
      );
      t.true(error.cause instanceof TimeoutError);
      t.is((error.cause as TimeoutError).kind, 'idle');
      await waitFor(() => openStreams(sim) === 0, 'the connection to close');
      t.is(sim.stats().streams.faulted, 1);
    },
    { idleTimeoutMs: 150 },
  );
});

test('a status before the stream starts (529) is retried, and the stream then completes', async (t) => {
  await withStack(async (orchestrator, sim) => {
    sim.scheduleFaults(['529']);
    const stream = orchestrator.executeAgentStream('python-expert', 'retry me');
    for await (const event of stream) void event;
    t.like(await stream.result, { attempts: 2 });
    t.is(sim.stats().requests, 2);
    t.like(sim.stats().streams, { started: 1, completed: 1 });
  });
});

test('only a completed stream is stored: one that failed mid-stream or was left is never, so the next call goes upstream again', async (t) => {
  const { ResponseCache } = await import('../../src/cache/response-cache.ts');
  const cache = await ResponseCache.open({});
  await withStack(
    async (orchestrator, sim) => {
      sim.scheduleFaults(['stream_error']);
      await t.throwsAsync(async () => {
        for await (const event of orchestrator.executeAgentStream('python-expert', 'fails then works')) void event;
      });
      for await (const event of orchestrator.executeAgentStream('python-expert', 'left then works')) if (event.type === 'content_block_delta') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
      t.is(cache.stats().sets, 0, 'nothing stored');
      for (const task of ['fails then works', 'left then works']) {
        const stream = orchestrator.executeAgentStream('python-expert', task);
        for await (const event of stream) void event;
        t.like(await stream.result, { cached: false, attempts: 1 });
      }
      t.is(sim.stats().streams.started, 4, 'both went upstream again');
      await waitFor(() => cache.stats().sets === 2, 'the completed ones stored');
    },
    { cache },
  );
  await cache.close();
});

import test from 'ava';
import type { AddressInfo } from 'node:net';
import { request } from 'node:http';
import { Stream } from '@anthropic-ai/sdk/core/streaming';
import { rootLogger } from '../../src/logger.ts';
import { Orchestrator } from '../../src/orchestrator/orchestrator.ts';
import { ResponseCache } from '../../src/cache/response-cache.ts';
import { createAnthropicProvider } from '../../src/providers/anthropic.ts';
import { startSimulator, type RunningSimulator } from '../../src/providers/simulator/server.ts';
import { buildServer } from '../../src/server/app.ts';
import { TEST_AGENTS, waitFor } from '../helpers.ts';

interface Served {
  url: string;
  sim: RunningSimulator;
  orchestrator: Orchestrator;
  close(): Promise<void>;
}

/** `buildServer` over an orchestrator on the simulator, streaming at `tokensPerSecond`. */
async function serve(tokensPerSecond: number): Promise<Served> {
  const sim = await startSimulator({ streaming: { tokensPerSecond } });
  const cache = await ResponseCache.open({});
  const orchestrator = new Orchestrator({ agents: TEST_AGENTS, provider: createAnthropicProvider({ apiKey: 'k', baseURL: sim.url }), cache });
  const app = buildServer({ orchestrator, stats: () => ({}), logger: rootLogger });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    sim,
    orchestrator,
    close: async () => {
      await app.close();
      await orchestrator.close({ abortInFlight: true });
      await cache.close();
      await sim.close();
    },
  };
}

/** The server-sent events of a response body, as `{ event, data }`. */
function parseEvents(body: string): Array<{ event: string; data: Record<string, unknown> }> {
  return body
    .split('\n\n')
    .filter((block) => block.trim())
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? '';
      const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? 'null') as Record<string, unknown>;
      return { event, data };
    });
}

const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('POST /v1/agents/:agent/stream relays the stream as the Messages API writes it, then the result; a repeat is replayed from the cache', async (t) => {
  const served = await serve(5_000);
  try {
    const response = await post(`${served.url}/v1/agents/python-expert/stream`, { task: 'Stream generators' });
    t.is(response.status, 200);
    t.regex(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    const events = parseEvents(await response.text());
    const types = events.map((e) => e.event);
    t.is(types[0], 'message_start');
    t.deepEqual(types.slice(-3), ['message_delta', 'message_stop', 'agentperf.result']);
    for (const { event, data } of events) t.is(data.type, event, 'each event names its data type, as the Messages API does');
    const text = events.flatMap(({ data }) => (data.type === 'content_block_delta' ? [(data.delta as { text: string }).text] : [])).join('');
    const result = events.at(-1)!.data.result as Record<string, unknown>;
    t.like(result, { agent: 'python-expert', output: text, cached: false });
    t.true((result.timeToFirstChunkMs as number) > 0);
    const again = parseEvents(await (await post(`${served.url}/v1/agents/python-expert/stream`, { task: 'Stream generators' })).text());
    t.like(again.at(-1)!.data.result, { cached: true, cacheTier: 'memory', output: text });
    t.is(served.sim.stats().streams.started, 1, 'the repeat did not go upstream');
  } finally {
    await served.close();
  }
});

test('a stream that cannot start gets its status and the JSON error, like execute', async (t) => {
  const served = await serve(5_000);
  try {
    const unknown = await post(`${served.url}/v1/agents/no-such-agent/stream`, { task: 'x' });
    t.is(unknown.status, 404);
    t.like(((await unknown.json()) as { error: object }).error, { code: 'AP_ERR_UNKNOWN_AGENT' });
    const bad = await post(`${served.url}/v1/agents/python-expert/stream`, { task: 'x', temperature: 3 });
    t.is(bad.status, 400);
    t.like(((await bad.json()) as { error: object }).error, { code: 'AP_ERR_VALIDATION', field: 'temperature' });
    served.sim.scheduleFaults(['400']);
    const refused = await post(`${served.url}/v1/agents/python-expert/stream`, { task: 'refused upstream' });
    t.is(refused.status, 502);
    t.like(((await refused.json()) as { error: object }).error, { code: 'AP_ERR_UPSTREAM' });
  } finally {
    await served.close();
  }
});

test('a failure mid-stream ends the relayed stream with an error event saying what happened', async (t) => {
  const served = await serve(5_000);
  try {
    served.sim.scheduleFaults(['stream_error']);
    const events = parseEvents(await (await post(`${served.url}/v1/agents/python-expert/stream`, { task: 'fail midway' })).text());
    t.is(events.length, 4, 'three events, then the error');
    t.is(events.at(-1)!.event, 'error');
    t.like(events.at(-1)!.data, { type: 'error', error: { type: 'overloaded_error', code: 'AP_ERR_STREAM_INTERRUPTED' } });
  } finally {
    await served.close();
  }
});

test('a client that disconnects mid-stream cancels the upstream call: the simulator sees its stream leave', async (t) => {
  const served = await serve(200); // about 20 ms a delta: the stream lasts long enough to leave it
  try {
    await new Promise<void>((resolve, reject) => {
      const req = request(`${served.url}/v1/agents/python-expert/stream`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        let seen = '';
        res.on('data', (chunk: Buffer) => {
          seen += chunk.toString();
          if (seen.includes('content_block_delta')) {
            req.destroy();
            resolve();
          }
        });
        res.on('error', () => {});
      });
      req.on('error', () => {});
      req.on('close', () => resolve());
      setTimeout(() => reject(new Error('no delta arrived')), 10_000).unref();
      req.end(JSON.stringify({ task: 'leave early' }));
    });
    await waitFor(() => served.sim.stats().streams.clientLeft === 1, 'the upstream stream to be cancelled');
    t.is(served.sim.stats().streams.open, 0);
    t.like(served.orchestrator.stats(), { streamsCancelled: 1 });
    t.is(served.orchestrator.inFlight, 0);
  } finally {
    await served.close();
  }
});

test('the real SDK reads the relayed stream as it reads the Messages API (its stream parser, pointed at the route)', async (t) => {
  const served = await serve(5_000);
  try {
    // The SDK's own server-sent-event parser on the route's response.
    const response = await post(`${served.url}/v1/agents/python-expert/stream`, { task: 'read me with the SDK' });
    const types: string[] = [];
    for await (const event of Stream.fromSSEResponse<{ type: string }>(response, new AbortController())) types.push(event.type);
    t.is(types[0], 'message_start');
    t.is(types.at(-1), 'agentperf.result');
    t.true(types.includes('content_block_delta'));
  } finally {
    await served.close();
  }
});

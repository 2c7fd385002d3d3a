import test from 'ava';
import { parseFaults, drawFault, NO_FAULTS } from '../../src/providers/simulator/faults.ts';
import { parseLatency, sampleLatencyMs } from '../../src/providers/simulator/latency.ts';
import { startSimulator } from '../../src/providers/simulator/server.ts';
import { startSimulatorInWorker } from '../../src/providers/simulator/worker.ts';
import { mulberry32 } from '../../src/random.ts';
import { percentile } from '../../src/stats/percentiles.ts';

const body = (content = 'hello', extra: object = {}) =>
  JSON.stringify({ model: 'claude-sonnet-5-5', max_tokens: 300, messages: [{ role: 'user', content }], ...extra });
const post = (url: string, payload: string, headers: Record<string, string> = { 'x-api-key': 'k' }) =>
  fetch(`${url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: payload });

/** The Messages API's answer, as these tests read it. */
type Answer = {
  type: string;
  role: string;
  model: string;
  content: Array<{ type: string; text: string }>;
  stop_reason: string;
  usage: { input_tokens: number; output_tokens: number };
};

test('answers with the Messages API shape, a request-id, and the same text for the same request', async (t) => {
  const sim = await startSimulator();
  try {
    const first = await post(sim.url, body());
    const json = (await first.json()) as Answer;
    t.is(first.status, 200);
    t.regex(first.headers.get('request-id')!, /^req_sim_/);
    t.is(json.type, 'message');
    t.is(json.role, 'assistant');
    t.is(json.model, 'claude-sonnet-5-5');
    t.is(json.content[0].type, 'text');
    t.is(json.stop_reason, 'end_turn');
    t.is(json.usage.input_tokens, 2); // "hello": 5 characters, 4 a token
    t.is(json.usage.output_tokens, Math.ceil(json.content[0].text.length / 4));
    const again = (await (await post(sim.url, body())).json()) as Answer;
    t.is(again.content[0].text, json.content[0].text);
    const other = (await (await post(sim.url, body('something else'))).json()) as Answer;
    t.not(other.content[0].text, json.content[0].text);
  } finally {
    await sim.close();
  }
});

test('max_tokens cuts the answer and says so', async (t) => {
  const sim = await startSimulator();
  try {
    const json = (await (
      await post(sim.url, JSON.stringify({ model: 'claude-haiku-5-5', max_tokens: 3, messages: [{ role: 'user', content: 'x' }] }))
    ).json()) as Answer;
    t.is(json.stop_reason, 'max_tokens');
    t.is(json.usage.output_tokens, 3);
  } finally {
    await sim.close();
  }
});

const errors: Array<[string, string, Record<string, string> | undefined, number, string]> = [
  ['no API key', body(), {}, 401, 'authentication_error'],
  ['invalid JSON', '{', undefined, 400, 'invalid_request_error'],
  ['an unknown model', JSON.stringify({ model: 'claude-nope', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }), undefined, 404, 'not_found_error'],
  ['no messages', JSON.stringify({ model: 'claude-sonnet-5-5', max_tokens: 5, messages: [] }), undefined, 400, 'invalid_request_error'],
  ['temperature on a model that rejects it', body('x', { temperature: 0.5 }), undefined, 400, 'invalid_request_error'],
  ['max_tokens over the limit', body('x', { max_tokens: 1_000_000 }), undefined, 400, 'invalid_request_error'],
];
for (const [title, payload, headers, status, type] of errors) {
  test(`answers ${title} with ${status} ${type} in the API's error shape`, async (t) => {
    const sim = await startSimulator();
    try {
      const response = await post(sim.url, payload, headers ?? { 'x-api-key': 'k' });
      t.is(response.status, status);
      const json = (await response.json()) as { type: string; error: { type: string; message: string } };
      t.is(json.type, 'error');
      t.is(json.error.type, type);
      t.true(json.error.message.length > 0);
    } finally {
      await sim.close();
    }
  });
}

test('a body over the size limit gets 413', async (t) => {
  const sim = await startSimulator({ maxBodyBytes: 1_000 });
  try {
    const response = await post(sim.url, body('x'.repeat(5_000)));
    t.is(response.status, 413);
  } finally {
    await sim.close();
  }
});

test('scheduled faults come in order; 429 carries retry-after headers', async (t) => {
  const sim = await startSimulator({ faults: { schedule: ['429', '529', 'ok', '500'], retryAfterMs: 1_500 } });
  try {
    const r1 = await post(sim.url, body());
    t.is(r1.status, 429);
    t.is(r1.headers.get('retry-after-ms'), '1500');
    t.is(r1.headers.get('retry-after'), '2');
    t.is(((await r1.json()) as { error: { type: string } }).error.type, 'rate_limit_error');
    const r2 = await post(sim.url, body());
    t.is(r2.status, 529);
    t.is(((await r2.json()) as { error: { type: string } }).error.type, 'overloaded_error');
    t.is((await post(sim.url, body())).status, 200);
    t.is((await post(sim.url, body())).status, 500);
    t.deepEqual(sim.stats().faults, { '429': 1, '529': 1, '500': 1 });
  } finally {
    await sim.close();
  }
});

test('reset destroys the connection and malformed sends a body that is not JSON', async (t) => {
  const sim = await startSimulator({ faults: { schedule: ['reset', 'malformed'] } });
  try {
    await t.throwsAsync(post(sim.url, body()));
    const malformed = await post(sim.url, body());
    t.is(malformed.status, 200);
    await t.throwsAsync(malformed.json());
  } finally {
    await sim.close();
  }
});

test('fault rates are drawn in proportion, deterministically for a seed', (t) => {
  const plan = { ...parseFaults('429:0.1,529:0.05'), schedule: [] };
  const draw = (seed: number) => {
    const random = mulberry32(seed);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 20_000; i++) {
      const f = drawFault(plan, random) ?? 'ok';
      counts[f] = (counts[f] ?? 0) + 1;
    }
    return counts;
  };
  const counts = draw(3);
  t.deepEqual(counts, draw(3));
  t.true(Math.abs(counts['429'] / 20_000 - 0.1) < 0.01);
  t.true(Math.abs(counts['529'] / 20_000 - 0.05) < 0.01);
  t.is(drawFault({ ...NO_FAULTS, schedule: [] }, Math.random), undefined);
});

test('bad fault and latency specs name the rule', (t) => {
  for (const spec of ['429', 'teapot:0.1', '429:2', '429:0.6,500:0.6']) t.is((t.throws(() => parseFaults(spec)) as { code?: string }).code, 'AP_ERR_USAGE');
  for (const spec of ['fast', 'fixed:-1', 'uniform:9-3', 'lognormal:0,10', 'lognormal:50,10']) {
    const error = t.throws(() => parseLatency(spec));
    t.true(error.message.startsWith('latency must look like'));
  }
});

test('the log-normal model hits its median and p99', (t) => {
  const settings = parseLatency('lognormal:40,400');
  const random = mulberry32(11);
  const samples = Array.from({ length: 50_000 }, () => sampleLatencyMs(settings, random, 0)).sort((a, b) => a - b);
  t.true(Math.abs(percentile(samples, 50) / 40 - 1) < 0.05, `median ${percentile(samples, 50)}`);
  t.true(Math.abs(percentile(samples, 99) / 400 - 1) < 0.1, `p99 ${percentile(samples, 99)}`);
  t.is(sampleLatencyMs(parseLatency('fixed:10+0.5/token'), random, 100), 60);
});

test('runs in a worker thread and reports stats across the thread boundary', async (t) => {
  const sim = await startSimulatorInWorker();
  try {
    await sim.scheduleFaults(['500']);
    t.is((await post(sim.url, body())).status, 500);
    t.is((await post(sim.url, body())).status, 200);
    const stats = await sim.stats();
    t.is(stats.requests, 2);
    t.deepEqual(stats.responsesByStatus, { '200': 1, '500': 1 });
  } finally {
    await sim.close();
  }
});

test('latencyFrom request: the same request takes the same time whatever came before it', async (t) => {
  const { answerFor } = await import('../../src/providers/simulator/respond.ts');
  const { requestLatencyMs } = await import('../../src/providers/simulator/latency.ts');
  const settings = parseLatency('lognormal:40,250');
  const seedOf = (content: string) => answerFor({ model: 'claude-sonnet-5-5', max_tokens: 300, messages: [{ role: 'user', content }] }).requestSeed;
  const latencies = (order: string[], from: 'sequence' | 'request') => {
    const sequence = mulberry32(9);
    return Object.fromEntries(order.map((q) => [q, requestLatencyMs(settings, from, sequence, seedOf(q), 11, 0)]));
  };
  const forward = latencies(['q1', 'q2', 'q3'], 'request');
  t.deepEqual(latencies(['q3', 'q2', 'q1'], 'request'), forward);
  t.not(forward.q1, forward.q2);
  // Drawn in arrival order instead, the same request gets another time.
  t.notDeepEqual(latencies(['q3', 'q2', 'q1'], 'sequence'), latencies(['q1', 'q2', 'q3'], 'sequence'));
});

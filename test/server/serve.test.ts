import test from 'ava';
import { request } from 'undici';
import { run as startServe, type RunningServer } from '../../src/commands/serve.ts';
import { runLoadTest } from '../../src/load/run.ts';
import { cacheHitScenario, mixedStreamScenario } from '../../src/scenarios/agent.ts';
import { rootLogger } from '../../src/logger.ts';

// One server for the file: instrumentation is one per process.
let server: RunningServer;
test.before(async () => {
  server = await startServe({ host: '127.0.0.1', port: 0, latency: 'fixed:1', seed: 1, maxConcurrent: 50, maxQueued: 1000, bodyLimitBytes: 4096 });
});
test.after.always(async () => server?.close());

const post = async (path: string, body: string, contentType = 'application/json') => {
  const response = await request(`${server.url}${path}`, { method: 'POST', body, headers: { 'content-type': contentType } });
  return {
    status: response.statusCode,
    body: (await response.body.json()) as { error?: { code: string; message: string; field?: string } } & Record<string, unknown>,
  };
};

test.serial('execute answers with the agent result', async (t) => {
  const { status, body } = await post('/v1/agents/python-expert/execute', JSON.stringify({ task: 'Explain generators' }));
  t.is(status, 200);
  t.is(body.agent, 'python-expert');
  t.is(typeof body.output, 'string');
  t.is(body.cached, false);
  const again = await post('/v1/agents/python-expert/execute', JSON.stringify({ task: 'Explain generators' }));
  t.is(again.body.cached, true);
});

test.serial('bad requests get a 4xx naming the field and the rule', async (t) => {
  const cases: Array<[string, string, number, string, RegExp, string?]> = [
    ['/v1/agents/python-expert/execute', JSON.stringify({ task: 7 }), 400, 'AP_ERR_VALIDATION', /task/],
    ['/v1/agents/python-expert/execute', JSON.stringify({}), 400, 'AP_ERR_VALIDATION', /task/],
    ['/v1/agents/python-expert/execute', JSON.stringify({ task: 'x', extra: 1 }), 400, 'AP_ERR_VALIDATION', /extra/],
    ['/v1/agents/python-expert/execute', JSON.stringify({ task: 'x', temperature: 3 }), 400, 'AP_ERR_VALIDATION', /temperature/],
    ['/v1/agents/python-expert/execute', JSON.stringify({ task: '   ' }), 400, 'AP_ERR_TASK_EMPTY', /task must be a non-empty string/],
    ['/v1/agents/python-expert/execute', '{"task": ', 400, 'AP_ERR_BAD_JSON', /valid JSON/],
    ['/v1/agents/no-such-agent/execute', JSON.stringify({ task: 'x' }), 404, 'AP_ERR_UNKNOWN_AGENT', /agent must be one of the configured agents/],
    ['/v1/agents/python-expert/execute', 'task=x', 415, 'AP_ERR_MEDIA_TYPE', /application\/json/, 'application/x-www-form-urlencoded'],
    ['/v1/agents/python-expert/execute', JSON.stringify({ task: 'x'.repeat(5000) }), 413, 'AP_ERR_BODY_TOO_LARGE', /at most 4096 bytes/],
  ];
  for (const [path, body, status, code, message, contentType] of cases) {
    const response = await post(path, body, contentType);
    t.is(response.status, status, body.slice(0, 40));
    t.is(response.body.error?.code, code, body.slice(0, 40));
    t.regex(response.body.error?.message ?? '', message);
  }
});

test.serial('healthz, stats and Prometheus metrics are served', async (t) => {
  const health = await request(`${server.url}/healthz`);
  t.deepEqual(await health.body.json(), { status: 'ok' });
  const stats = (await (await request(`${server.url}/stats`)).body.json()) as { latency: { agentLatency: { count: number } }; counters: { calls: number } };
  t.true(stats.latency.agentLatency.count >= 2);
  t.true(stats.counters.calls >= 2);
  const metrics = await request(`${server.url}/metrics`);
  t.is(metrics.statusCode, 200);
  const text = await metrics.body.text();
  t.regex(text, /^agentperf_agent_calls_total\{.*agentperf_cache_result="hit".*\} \d+/m);
  t.regex(text, /^gen_ai_client_operation_duration_seconds_count\{/m);
  const missing = await request(`${server.url}/nope`);
  t.is(missing.statusCode, 404);
  await missing.body.dump();
});

test.serial('the load engine drives serve over HTTP: every call a cache hit, none failed', async (t) => {
  const before = (await (await request(`${server.url}/stats`)).body.json()) as { counters: { calls: number } };
  const { report } = await runLoadTest({
    scenario: cacheHitScenario,
    context: { target: { kind: 'http', url: server.url }, settings: { warm: '16' }, seed: 1, log: rootLogger },
    shape: { kind: 'open', pattern: 'constant', stages: [{ durationMs: 1000, fromRate: 200, toRate: 200 }], maxInFlight: 1000 },
    warmupMs: 0,
    drainTimeoutMs: 5000,
    thresholds: [],
  });
  t.is(report.result.completed, 200);
  t.is(report.result.errors, 0);
  const after = (await (await request(`${server.url}/stats`)).body.json()) as { counters: { calls: number } };
  // 16 warm-up calls and 200 measured ones reached the server.
  t.is(after.counters.calls - before.counters.calls, 216);
});

test.serial("the streamed mix drives serve's stream route over HTTP: every iteration streamed, time to first chunk measured, none failed", async (t) => {
  const { report } = await runLoadTest({
    scenario: mixedStreamScenario,
    context: { target: { kind: 'http', url: server.url }, settings: { warm: '4' }, seed: 1, log: rootLogger },
    shape: { kind: 'open', pattern: 'constant', stages: [{ durationMs: 1000, fromRate: 20, toRate: 20 }], maxInFlight: 1000 },
    warmupMs: 0,
    drainTimeoutMs: 10_000,
    thresholds: [],
  });
  t.is(report.result.errors, 0, JSON.stringify(report.result.errorsByType));
  t.is(report.result.completed, 20);
  t.is(report.result.stream?.streams, 20);
  t.true(report.result.stream!.timeToFirstChunk.p50 > 0);
  t.true(report.result.stream!.timeToFirstChunk.p50 <= report.result.latency.p50, 'the first chunk comes before the end');
});

// Single-flight across instances through a real redis-server: instances (stacks with links of
// their own) asking the same question at once send one request upstream (the simulator
// counts), and nothing waits forever: a failed leader, a dead one, a bound.
import test, { type ExecutionContext } from 'ava';
import { createClient } from '@redis/client';
import { Cancellation } from '../../src/cancellation.ts';
import { systemClock } from '../../src/clock.ts';
import { createAnthropicProvider } from '../../src/providers/anthropic.ts';
import { startSimulator, type RunningSimulator } from '../../src/providers/simulator/server.ts';
import { RedisLink } from '../../src/redis/link.ts';
import { RedisSingleFlight } from '../../src/redis/single-flight.ts';
import { openStack, type Stack } from '../../src/stack.ts';
import { TEST_AGENTS } from '../helpers.ts';
import { redisAvailable, startRedis, type RedisServer } from '../servers.ts';

const maybe = redisAvailable('single-flight.test.ts') ? test : test.skip;
const AGENT = TEST_AGENTS[0];

function instance(simulator: RunningSimulator, redis: RedisServer): Promise<Stack> {
  return openStack({
    agents: TEST_AGENTS,
    provider: { kind: 'given', provider: createAnthropicProvider({ apiKey: 'k', baseURL: simulator.url }) },
    cache: { kind: 'memory', redis: { url: redis.url, namespace: 'sf', timeoutMs: 500 }, env: { AGENTPERF_CACHE_SECRET: 's'.repeat(40) } },
    orchestrator: { maxConcurrent: 16, retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 } },
  });
}

async function setUp(t: ExecutionContext, n: number, latencyMs = 300) {
  const redis = await startRedis();
  const simulator = await startSimulator({ latency: { model: { kind: 'fixed', ms: latencyMs }, perOutputTokenMs: 0 } });
  const stacks: Stack[] = [];
  for (let i = 0; i < n; i++) stacks.push(await instance(simulator, redis));
  t.teardown(async () => {
    for (const s of stacks) await s.close();
    await simulator.close();
    await redis.stop();
  });
  return { redis, simulator, stacks };
}

maybe(
  'three instances asking the same question at once: one request upstream, the others answered with its answer; different questions each go upstream',
  async (t) => {
    const { simulator, stacks } = await setUp(t, 3);
    const results = await Promise.all(stacks.map((s) => s.orchestrator.executeAgent(AGENT.name, 'the same question')));
    t.is(simulator.stats().requests, 1, 'one upstream call for three instances');
    t.is(results.filter((r) => r.attempts === 1 && !r.cached).length, 1, 'one led');
    t.is(results.filter((r) => r.cached && r.cacheTier === 'redis').length, 2, 'two were answered from its entry');
    t.is(new Set(results.map((r) => r.output)).size, 1, 'the same answer');
    t.is(
      stacks.reduce((n, s) => n + s.orchestrator.stats().answeredByOtherInstance, 0),
      2,
    );
    await Promise.all(stacks.map((s, i) => s.orchestrator.executeAgent(AGENT.name, `question ${i}`)));
    t.is(simulator.stats().requests, 4, "never another question's answer: three more requests");
  },
);

maybe(
  'a leader that fails lets the others go upstream themselves at once; a dead one (its lease left to expire) holds them only until its lease ends',
  async (t) => {
    const { redis, simulator, stacks } = await setUp(t, 2);
    const [a, b] = stacks;
    simulator.scheduleFaults(['500']);
    const failing = a.orchestrator.executeAgent(AGENT.name, 'the leader fails');
    while (simulator.stats().requests === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const other = await b.orchestrator.executeAgent(AGENT.name, 'the leader fails');
    await t.throwsAsync(failing, { message: /500/ });
    t.is(other.attempts, 1, 'it went upstream itself');
    t.is(simulator.stats().requests, 2);

    // A dead leader: a lease taken straight in Redis (as a process killed mid-call leaves it), 400 ms left.
    const key = await keyOfTask(a, redis, 'nobody answers');
    const client = createClient({ url: redis.url });
    await client.connect();
    await client.set(`sf:flight:${key}`, 'a-dead-instance', { expiration: { type: 'PX', value: 400 } });
    await client.quit();
    const started = performance.now();
    const waited = await b.orchestrator.executeAgent(AGENT.name, 'nobody answers');
    const ms = performance.now() - started;
    t.is(waited.attempts, 1);
    t.true(ms >= 400 + 300 - 50, `it waited for the lease (400 ms), then asked itself (300 ms): ${ms.toFixed(0)} ms`);
  },
);

maybe('a waiter never waits past its bound, and Redis down means going alone at once', async (t) => {
  const redis = await startRedis();
  const link = RedisLink.open({ url: redis.url, namespace: 'bound', timeoutMs: 200 });
  t.teardown(async () => {
    await link.close();
    await redis.stop();
  });
  await link.connected(2_000);
  const flight = new RedisSingleFlight({ link, read: async () => undefined, clock: systemClock, maxWaitMs: 250 });
  const leader = await flight.join('k', new Cancellation(), Date.now() + 60_000);
  t.is(leader.kind, 'lead');
  const started = performance.now();
  t.like(await flight.join('k', new Cancellation(), performance.now() + 60_000), { kind: 'alone', reason: 'timeout' });
  t.true(performance.now() - started >= 250);
  if (leader.kind === 'lead') leader.lease.release();
  await redis.kill();
  t.like(await flight.join('k2', new Cancellation(), performance.now() + 60_000), { kind: 'alone', reason: 'redis' });
});

/**
 * The cache key of `task`, as the orchestrator makes it: `stack` asks it once (its answer lands in
 * Redis under that key), and the entry is then removed again, so the next asker misses.
 */
async function keyOfTask(stack: Stack, redis: RedisServer, task: string): Promise<string> {
  const client = createClient({ url: redis.url });
  await client.connect();
  try {
    const before = new Set(await client.keys('sf:entry:*'));
    await stack.orchestrator.executeAgent(AGENT.name, task);
    let added: string[] = [];
    for (let i = 0; i < 200 && added.length === 0; i++) {
      added = (await client.keys('sf:entry:*')).filter((k) => !before.has(k));
      if (added.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await client.del(added);
    return added[0].slice('sf:entry:'.length);
  } finally {
    await client.quit();
  }
}

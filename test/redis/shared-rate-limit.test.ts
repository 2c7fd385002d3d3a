// Rate limits shared through a real redis-server by several instances (stacks with links of
// their own, as separate processes would have), against a simulator that enforces the
// organisation's limit and counts what it refused.
import test from 'ava';
import { Cancellation } from '../../src/cancellation.ts';
import { systemClock } from '../../src/clock.ts';
import { rootLogger } from '../../src/logger.ts';
import { createAnthropicProvider } from '../../src/providers/anthropic.ts';
import { startSimulator, type RunningSimulator } from '../../src/providers/simulator/server.ts';
import { RedisLink } from '../../src/redis/link.ts';
import { InstanceCount, SharedModelRateLimiter } from '../../src/redis/shared-rate-limit.ts';
import { openStack, type Stack } from '../../src/stack.ts';
import { TEST_AGENTS } from '../helpers.ts';
import { redisAvailable, startRedis, type RedisServer } from '../servers.ts';

const maybe = redisAvailable('shared-rate-limit.test.ts') ? test.serial : test.serial.skip;
const AGENT = TEST_AGENTS[0];
const SECRET_ENV = { AGENTPERF_CACHE_SECRET: 's'.repeat(40) };

/** One instance: its own provider connection, cache and (when `redis`) its own link to the shared Redis. */
function instance(simulator: RunningSimulator, requestsPerMinute: number, redis?: RedisServer): Promise<Stack> {
  return openStack({
    agents: TEST_AGENTS,
    provider: { kind: 'given', provider: createAnthropicProvider({ apiKey: 'k', baseURL: simulator.url }) },
    cache: { kind: 'memory', ...(redis ? { redis: { url: redis.url, namespace: 'rl', timeoutMs: 500 } } : {}), env: SECRET_ENV },
    orchestrator: { maxConcurrent: 64, rateLimits: { [AGENT.model]: { requestsPerMinute } } },
  });
}

const burst = (stack: Stack, prefix: string, n: number) =>
  Promise.all(Array.from({ length: n }, (_, i) => stack.orchestrator.executeAgent(AGENT.name, `${prefix} ${i}`)));

maybe(
  'two instances keep to one limit of 110 a minute between them: the simulator enforcing 120 refuses nothing, also after one restarts; alone, each spends its whole limit and together they earn 429s',
  async (t) => {
    // The limit is set below the organisation's, as it should be: a client's bucket refills from
    // when it sent, the API's from when the request arrived, so a client pacing at exactly the
    // organisation's rate loses each race by the network delay (a one-off run here at 120 of 120 had 2 of 124 refused).
    const redis = await startRedis();
    const simulator = await startSimulator({ limits: { rpm: 120 } });
    const [a, b] = [await instance(simulator, 110, redis), await instance(simulator, 110, redis)];
    t.teardown(async () => {
      await a.close();
      await b.close();
      await simulator.close();
      await redis.stop();
    });
    const started = performance.now();
    const results = (await Promise.all([burst(a, 'a', 57), burst(b, 'b', 57)])).flat();
    t.is(results.length, 114, 'every call answered');
    t.is(simulator.stats().refused.rpm, 0, JSON.stringify(simulator.stats().refused));
    t.is(simulator.stats().admitted, 114);
    // 110 at once, then 1.83 a second: the last 4 waited on our side, about 2 s.
    t.true(performance.now() - started >= 1_500, `${(performance.now() - started).toFixed(0)} ms`);

    // One instance restarts (a new process: a new link, a new id): the budget it spent is still spent.
    await b.close();
    const restarted = await instance(simulator, 110, redis);
    t.teardown(() => restarted.close());
    const again = performance.now();
    await burst(restarted, 'restarted', 3);
    t.true(performance.now() - again >= 1_000, 'it waited for the shared bucket, which its restart did not refill');
    t.is(simulator.stats().refused.rpm, 0);

    // The control: without Redis each instance has a whole bucket of its own, and together they overdraw the organisation's.
    const control = await startSimulator({ limits: { rpm: 120 } });
    const [c, d] = [await instance(control, 110), await instance(control, 110)];
    t.teardown(async () => {
      await c.close();
      await d.close();
      await control.close();
    });
    await Promise.allSettled([burst(c, 'c', 62), burst(d, 'd', 62)]);
    t.true(control.stats().refused.rpm > 0, 'alone, they earn 429s');
  },
);

maybe("a 429's retry-after holds every instance off, not just the one that got it", async (t) => {
  const redis = await startRedis();
  const simulator = await startSimulator({ faults: { retryAfterMs: 1_000 } });
  const [a, b] = [await instance(simulator, 10_000, redis), await instance(simulator, 10_000, redis)];
  t.teardown(async () => {
    await a.close();
    await b.close();
    await simulator.close();
    await redis.stop();
  });
  simulator.scheduleFaults(['429']);
  const first = a.orchestrator.executeAgent(AGENT.name, 'gets the 429');
  while ((simulator.stats().responsesByStatus[429] ?? 0) === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  // Let a's retry delay be told to Redis.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const other = await b.orchestrator.executeAgent(AGENT.name, 'another instance, another question');
  t.true(other.latencyMs >= 700, `b waited ${other.latencyMs.toFixed(0)} ms of a's retry-after of 1 s`);
  t.is(other.attempts, 1, 'b never got a 429 itself');
  t.is((await first).attempts, 2);
});

maybe('Redis down: each instance keeps to its share of the limit (the limit over the live instances it last saw), starting empty', async (t) => {
  const redis = await startRedis();
  const links = [
    RedisLink.open({ url: redis.url, namespace: 'share', timeoutMs: 200 }),
    RedisLink.open({ url: redis.url, namespace: 'share', timeoutMs: 200 }),
  ];
  const counts = links.map((link) => new InstanceCount(link));
  t.teardown(async () => {
    for (const c of counts) c.close();
    for (const l of links) await l.close();
    await redis.stop();
  });
  for (const link of links) await link.connected(2_000);
  while (counts.some((c) => c.live < 2)) await new Promise((resolve) => setTimeout(resolve, 50));
  const limiter = new SharedModelRateLimiter({
    link: links[0],
    instances: counts[0],
    model: AGENT.model,
    limit: { requestsPerMinute: 60 },
    clock: systemClock,
    logger: rootLogger,
  });
  await redis.kill();
  // 60 a minute over 2 instances: a share of 30 a minute, one request every 2 s, starting empty
  // (the shared budget may be spent): the first waits 2 s, not 1 (the whole limit's pace), and
  // none goes at once (a full share on every instance would burst past the limit together).
  const cancellation = new Cancellation();
  const started = performance.now();
  await limiter.acquire(1, cancellation);
  const first = performance.now() - started;
  t.true(first >= 1_900 && first < 3_000, `the first took ${first.toFixed(0)} ms`);
  await limiter.acquire(1, cancellation);
  const second = performance.now() - started - first;
  t.true(second >= 1_900 && second < 3_000, `the second took ${second.toFixed(0)} ms more`);
});

// `agentperf bench cache --redis`, small, against a real redis-server: its figures are what the
// traffic implies (one instance and three sharing a Redis send each question upstream once;
// three alone send it once each), and without a Redis to measure it says how to give one.
import test from 'ava';
import { benchCacheRedis } from '../../src/bench/cache-redis.ts';
import { formatRedisCacheBench } from '../../src/report/bench.ts';
import { runCli } from '../helpers.ts';
import { redisAvailable, startRedis } from '../servers.ts';

const maybe = redisAvailable('bench-cache-redis.test.ts') ? test : test.skip;

maybe('bench cache --redis: verified hits, the miss with and without Redis, and three instances against one', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const result = await benchCacheRedis({ url: redis.url, hitIterations: 300, missRounds: 2, questions: 12, repeats: 3 });
  t.is(result.redisHit4KiB.count, 300);
  t.is(result.missWithRedis.count, 400);
  t.is(result.missMemoryOnly.count, 400);
  t.is(result.leaseTake.count, 200);
  t.true(result.missWithRedis.p50 > result.missMemoryOnly.p50, 'a round trip costs more than a Map lookup');
  t.deepEqual(
    result.instances.map((f) => [f.instances, f.redis, f.calls, f.upstreamCalls, Number(f.hitRate.toFixed(3))]),
    [
      [1, false, 36, 12, 0.667],
      // Each question's 3 askings land on 3 different instances: alone, each asks upstream.
      [3, false, 36, 36, 0],
      [3, true, 36, 12, 0.667],
    ],
  );
  t.regex(formatRedisCacheBench(result), /Redis hit, 4 KiB, verified .* p99 <= 1 ms: (met|MISSED)/s);
});

test('bench cache --redis with no Redis to measure exits 2 and says how to give one', async (t) => {
  const ran = await runCli(['bench', 'cache', '--redis'], { env: { AGENTPERF_REDIS_URL: '' } });
  t.is(ran.code, 2);
  t.regex(
    ran.stderr,
    /AP_ERR_USAGE: bench cache --redis needs a Redis to measure: give its URL \(--redis redis:\/\/127\.0\.0\.1:6379\), or set AGENTPERF_REDIS_URL/,
  );
});

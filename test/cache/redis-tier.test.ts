// The Redis tier against a real redis-server started for each test: entries shared between
// caches (instances), every read verified, forged and oversized entries never served,
// namespaces and secrets kept apart, and Redis killed mid-run never failing a call.
import test from 'ava';
import { createClient, RESP_TYPES } from '@redis/client';
import { encodeEntry } from '../../src/cache/entry-format.ts';
import type { ResponseCache } from '../../src/cache/response-cache.ts';
import { EntrySigner } from '../../src/cache/signing.ts';
import { ErrorCode } from '../../src/errors.ts';
import { validateRedisOptions, type RedisLinkStats } from '../../src/redis/link.ts';
import { openCache, openStack } from '../../src/stack.ts';
import { join } from 'node:path';
import type { AgentResult } from '../../src/orchestrator/result.ts';
import { runCli, TEST_AGENTS } from '../helpers.ts';
import { redisAvailable, startRedis, type RedisServer } from '../servers.ts';
import { startInstrumentation } from '../../instrumentation/start.ts';
import { collectPoints, inMemoryReader } from '../instrumentation/helpers.ts';
import { keyFor, OTHER_SECRET, responseFor, SECRET, tempRoot } from './helpers.ts';

const available = redisAvailable('redis-tier.test.ts');
const maybe = available ? test : test.skip;
// The instrumentation is the process's own: the tests that start it run one at a time.
const maybeSerial = available ? test.serial : test.serial.skip;

const env = (secret = SECRET): NodeJS.ProcessEnv => ({ AGENTPERF_CACHE_SECRET: secret });

/** A cache in front of the server. The budget is wide (1 s): these tests are about what is served, not about time; the last one is. */
async function redisCache(server: RedisServer, options: { namespace?: string; secret?: string } = {}): Promise<ResponseCache> {
  return (await openCache({ kind: 'memory', redis: { url: server.url, namespace: options.namespace ?? 'test', timeoutMs: 1_000 }, env: env(options.secret) }))!;
}

/** A plain client on the same server: what anyone who can write to Redis can do. */
async function raw(server: RedisServer) {
  const client = createClient({ url: server.url }).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  await client.connect();
  return client;
}

const link = (cache: ResponseCache) => (cache.stats().tiers[0] as unknown as { link: RedisLinkStats }).link;

/** The cache's tiers connect in the background; a test that needs Redis waits for it. */
async function connected(cache: ResponseCache): Promise<void> {
  await cache.ready();
}

maybe('two caches sharing one Redis: what one stored the other answers from, verified, as a redis hit; the entry expires by Redis at its TTL', async (t) => {
  const server = await startRedis();
  const [a, b] = [await redisCache(server), await redisCache(server)];
  t.teardown(async () => {
    await a.close();
    await b.close();
    await server.stop();
  });
  await connected(a);
  await connected(b);
  const key = keyFor('shared');
  await a.set(key, responseFor('shared', 'from a'), 60_000);
  t.is(b.fromMemory(key), undefined, 'b never saw it in memory');
  const hit = await b.fromTiers(key);
  t.is(hit?.tier, 'redis');
  t.deepEqual(hit?.value.content, [{ type: 'text', text: 'from a' }]);
  t.is(b.stats().hits.redis, 1);
  t.is(b.fromMemory(key)?.id, hit?.value.id, 'promoted to memory');
  const client = await raw(server);
  const ttl = await client.pTTL(`test:entry:${key}`);
  t.true(ttl > 55_000 && ttl <= 60_000, `PTTL ${ttl}`);
  t.regex(String(await client.get('test:secret-id')), /^[0-9a-f]{32}$/);
  await client.quit();
  t.is(b.stats().integrityFailures, 0);
});

maybeSerial(
  'an entry written straight into Redis is never served: unsigned JSON, signed under another secret, a valid entry under another key, a value past the bound; each an integrity failure, removed',
  async (t) => {
    const server = await startRedis();
    const cache = await redisCache(server);
    const client = await raw(server);
    const reader = inMemoryReader();
    const instrumentation = await startInstrumentation({ prometheus: false, metricReader: reader, spanExporter: 'none' });
    instrumentation.observeCache(cache);
    t.teardown(async () => {
      await cache.close();
      await client.quit();
      await instrumentation.stop();
      await server.stop();
    });
    await connected(cache);
    const now = Date.now();
    const meta = (key: string) => ({ key, createdAt: now, expiresAt: now + 60_000 });
    const payload = (task: string) => Buffer.from(JSON.stringify(responseFor(task, 'forged')));
    const forged = {
      unsigned: keyFor('unsigned'),
      otherSecret: keyFor('other-secret'),
      copied: keyFor('copied'),
      huge: keyFor('huge'),
    };
    await client.set(`test:entry:${forged.unsigned}`, payload('unsigned'));
    await client.set(
      `test:entry:${forged.otherSecret}`,
      encodeEntry(meta(forged.otherSecret), payload('other-secret'), new EntrySigner(Buffer.from(OTHER_SECRET))),
    );
    // A valid entry of another key, copied under this key's name.
    const donor = keyFor('donor');
    await cache.set(donor, responseFor('donor'), 60_000);
    await client.set(`test:entry:${forged.copied}`, (await client.get(`test:entry:${donor}`))!);
    // 5 MiB: past the 4 MiB entry bound plus its header room.
    await client.set(`test:entry:${forged.huge}`, Buffer.alloc(5 * 1024 * 1024, 0x41));
    for (const key of Object.values(forged)) t.is(await cache.fromTiers(key), undefined, `not served: ${key}`);
    t.is(cache.stats().integrityFailures, 4, JSON.stringify(cache.stats()));
    t.deepEqual((await collectPoints(reader, 'agentperf.cache.integrity_failures')).map((p) => [p.attributes.tier, p.attributes.reason, p.value]).sort(), [
      ['redis', 'key-mismatch', 1],
      ['redis', 'signature', 2],
      ['redis', 'too-large', 1],
    ]);
    t.is(cache.stats().hits.redis, 0);
    t.is(cache.stats().misses, 4);
    // Removed in the background.
    for (let i = 0; i < 100 && (await client.exists(Object.values(forged).map((k) => `test:entry:${k}`))) > 0; i++) await new Promise((r) => setTimeout(r, 10));
    t.is(await client.exists(Object.values(forged).map((k) => `test:entry:${k}`)), 0, 'each removed');
    t.truthy(await client.get(`test:entry:${donor}`), 'the genuine entry stays');
  },
);

maybe('namespaces keep tenants apart; a namespace written under another secret is left alone (nothing served, written or deleted)', async (t) => {
  const server = await startRedis();
  const tenantA = await redisCache(server, { namespace: 'tenant-a' });
  const tenantB = await redisCache(server, { namespace: 'tenant-b' });
  const intruder = await redisCache(server, { namespace: 'tenant-a', secret: OTHER_SECRET });
  t.teardown(async () => {
    for (const c of [tenantA, tenantB, intruder]) await c.close();
    await server.stop();
  });
  for (const c of [tenantA, tenantB, intruder]) await connected(c);
  const key = keyFor('tenant');
  await tenantA.set(key, responseFor('tenant', 'for a'), 60_000);
  t.is(await tenantB.fromTiers(key), undefined, "b never sees a's entry");
  t.deepEqual(intruder.foreignSecret(), {
    cacheSecretId: new EntrySigner(Buffer.from(SECRET)).secretId,
    givenSecretId: new EntrySigner(Buffer.from(OTHER_SECRET)).secretId,
  });
  t.is(await intruder.fromTiers(key), undefined);
  t.is(intruder.stats().integrityFailures, 0, 'another secret is recognised, not taken for tampering');
  await intruder.set(key, responseFor('tenant', 'overwritten'), 60_000);
  t.deepEqual((await tenantA.fromTiers(key))?.value.content, [{ type: 'text', text: 'for a' }], 'the intruder wrote nothing');
});

maybeSerial(
  'Redis killed mid-run: no call fails, each waits at most the budget, the link goes down and stops trying; restarted, a probe brings it back and hits resume; the metrics show each step',
  async (t) => {
    const server = await startRedis();
    const reader = inMemoryReader();
    const instrumentation = await startInstrumentation({ prometheus: false, metricReader: reader, spanExporter: 'none' });
    const stack = await openStack({
      agents: TEST_AGENTS,
      provider: { kind: 'in-process' },
      cache: { kind: 'memory', maxBytes: 1, redis: { url: server.url, namespace: 'run', timeoutMs: 20 }, env: env() },
      instrumentation,
    });
    t.teardown(async () => {
      await stack.close();
      await instrumentation.stop();
      await server.stop();
    });
    const up = async () => (await collectPoints(reader, 'agentperf.cache.tier.up')).map((p) => [p.attributes.tier, p.value]);
    const operations = async (outcome: string) =>
      (await collectPoints(reader, 'agentperf.cache.tier.operations')).find((p) => p.attributes.outcome === outcome)?.value;
    const redisHits = async () =>
      (await collectPoints(reader, 'agentperf.cache.requests')).find((p) => p.attributes.result === 'hit' && p.attributes.tier === 'redis')?.value;
    await stack.cache!.ready();
    const agent = TEST_AGENTS[0].name;
    const call = async (task: string) => {
      const started = performance.now();
      const result = await stack.orchestrator.executeAgent(agent, task);
      return { result, ms: performance.now() - started };
    };
    // memory holds nothing (1 byte): every repeat is answered by Redis.
    await call('one');
    t.is((await call('one')).result.cacheTier, 'redis');
    t.deepEqual(await up(), [['redis', 1]]);
    t.is(await redisHits(), 1);

    await server.kill();
    const during = [];
    for (let i = 0; i < 20; i++) during.push(await call(`during ${i % 4}`));
    t.true(
      during.every((d) => d.result.output.length > 0),
      'every call answered',
    );
    t.is(link(stack.cache!).state, 'down');
    t.true(link(stack.cache!).skipped > 0, JSON.stringify(link(stack.cache!)));
    t.is(link(stack.cache!).outages, 1);
    t.deepEqual(await up(), [['redis', 0]]);
    t.is(await operations('skipped'), link(stack.cache!).skipped);
    // The budget is 20 ms per operation (a read, then a write on a miss); a call never waits on a dead Redis beyond it.
    const slowest = Math.max(...during.map((d) => d.ms));
    t.true(slowest < 500, `slowest call ${slowest.toFixed(1)} ms`);

    await server.restart();
    // Back within the probe's cooldown (1 s, doubled per failed probe) and the client's reconnect (at most 2 s).
    let tier: string | undefined;
    for (let i = 0; i < 200 && tier !== 'redis'; i++) {
      await call('after');
      tier = (await call('after')).result.cacheTier;
      if (tier !== 'redis') await new Promise((r) => setTimeout(r, 50));
    }
    t.is(tier, 'redis', JSON.stringify(link(stack.cache!)));
    t.is(link(stack.cache!).state, 'up');
    t.true(stack.cache!.stats().tierErrors.redis > 0, 'the failures were counted');
    t.deepEqual(await up(), [['redis', 1]]);
    t.true(Number(await operations('ok')) > 3);
  },
);

test('bad Redis options are refused, each naming its field and rule', (t) => {
  const refused = (options: Parameters<typeof validateRedisOptions>[0], pattern: RegExp) => {
    const error = t.throws(() => validateRedisOptions(options));
    t.is((error as { code?: string }).code, ErrorCode.USAGE);
    t.regex(error.message, pattern);
  };
  refused({ url: 'not a url' }, /^redis must be a URL like redis:\/\/localhost:6379/);
  refused({ url: 'http://localhost:6379' }, /redis must be a redis:\/\/ or rediss:\/\/ URL/);
  refused({ url: 'redis://localhost', namespace: 'a b' }, /redis\.namespace must be 1 to 64 letters/);
  refused({ url: 'redis://localhost', timeoutMs: 0 }, /redis\.timeoutMs must be a number of ms above 0/);
  t.deepEqual(validateRedisOptions({ url: 'redis://localhost:6379' }), { url: 'redis://localhost:6379', namespace: 'agentperf', timeoutMs: 5 });
});

maybe(
  'from the CLI: two exec processes with caches of their own share an answer through Redis (the first one waits for its write before it exits); cache stats counts it; verify on an unreachable Redis exits 4 naming it',
  async (t) => {
    const server = await startRedis();
    t.teardown(() => server.stop());
    const root = await tempRoot();
    const cliEnv = { AGENTPERF_CACHE_SECRET: SECRET, AGENTPERF_CACHE_ROOTS: root, HOME: root, AGENTPERF_REDIS_URL: server.url };
    const exec = (dir: string) => runCli(['exec', 'python-expert', 'shared through redis', '--json', '--cache-dir', join(root, dir)], { env: cliEnv });
    const first = await exec('a');
    t.is(first.code, 0, first.stderr);
    t.false((JSON.parse(first.stdout) as AgentResult).cached);
    const second = await exec('b');
    t.is(second.code, 0, second.stderr);
    t.like(JSON.parse(second.stdout) as AgentResult, { cached: true, cacheTier: 'redis' });
    const stats = await runCli(['cache', 'stats', '--cache-dir', join(root, 'b'), '--json'], { env: cliEnv });
    t.is(stats.code, 0, stats.stderr);
    const redisTier = (JSON.parse(stats.stdout) as { tiers: Array<{ name: string; entries: number; link?: RedisLinkStats }> }).tiers.find(
      (tier) => tier.name === 'redis',
    );
    t.like(redisTier, { entries: 1, link: { connected: true, state: 'up' } });
    await server.kill();
    const verify = await runCli(['cache', 'verify', '--cache-dir', join(root, 'b')], { env: cliEnv });
    t.is(verify.code, 4);
    t.regex(verify.stderr, new RegExp(`AP_ERR_REDIS: redis at 127\\.0\\.0\\.1:${server.port} is not reachable`));
  },
);

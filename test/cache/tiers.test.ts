import test from 'ava';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ResponseCache } from '../../src/cache/response-cache.ts';
import { entryFile, keyFor, killWriterAfter, openCache, responseFor, SECRET, tempRoot } from './helpers.ts';

test('a new instance reads what an old one wrote', async (t) => {
  const root = await tempRoot();
  const key = keyFor('persist');
  const first = await openCache(root);
  await first.set(key, responseFor('persist', 'persisted answer'));
  await first.close();
  const second = await openCache(root);
  t.is(second.fromMemory(key), undefined);
  const value = (await second.fromTiers(key))?.value;
  t.is((value!.content[0] as { text: string }).text, 'persisted answer');
  t.is(second.fromMemory(key), value, 'a disk hit is promoted to memory');
  t.deepEqual(second.stats().hits, { memory: 1, disk: 1 });
  await second.close();
});

test('TTL: an expired entry is never served, in either tier', async (t) => {
  const root = await tempRoot();
  const time = { now: 1_000_000 };
  const key = keyFor('ttl');
  const cache = await openCache(root, { time, defaultTtlMs: 60_000 });
  await cache.set(key, responseFor('ttl'));
  time.now += 59_999;
  t.truthy(cache.fromMemory(key));
  time.now += 1;
  t.is(cache.fromMemory(key), undefined);
  t.is((await cache.fromTiers(key))?.value, undefined);
  t.is(cache.stats().expirations, 2);
  await t.throwsAsync(readFile(entryFile(root, key)), { code: 'ENOENT' });
  await cache.close();
});

test('the sweep removes expired entries from both tiers', async (t) => {
  const root = await tempRoot();
  const time = { now: 0 };
  const cache = await openCache(root, { time });
  await cache.set(keyFor('short'), responseFor('short'), 1_000);
  await cache.set(keyFor('long'), responseFor('long'), 100_000);
  time.now = 5_000;
  await cache.sweep();
  const stats = cache.stats();
  t.is(stats.memory.entries, 1);
  t.is(stats.tiers[0].entries, 1);
  t.is(stats.expirations, 2);
  await cache.close();
});

test('memory tier: LRU by bytes evicts the least recently used first', async (t) => {
  const entry = (i: number) => responseFor(`m${i}`, 'x'.repeat(1_000));
  const size = Buffer.byteLength(JSON.stringify(entry(0))); // what the tier counts per entry
  const cache = await ResponseCache.open({ memoryMaxBytes: 3 * size + 10 });
  for (const i of [0, 1, 2]) await cache.set(keyFor(`m${i}`), entry(i));
  t.truthy(cache.fromMemory(keyFor('m0'))); // m0 is now the most recent
  await cache.set(keyFor('m3'), entry(3));
  t.truthy(cache.fromMemory(keyFor('m0')));
  t.is(cache.fromMemory(keyFor('m1')), undefined, 'm1 was least recently used');
  t.true(cache.stats().memory.bytes <= 3 * size + 10);
  t.is(cache.stats().evictions.memory, 1);
  await cache.close();
});

test('disk tier: LRU by last access keeps it under its byte limit', async (t) => {
  const root = await tempRoot();
  const one = await (async () => {
    const probe = await openCache(root);
    await probe.set(keyFor('probe'), responseFor('probe', 'x'.repeat(1_000)));
    const size = probe.stats().tiers[0].bytes;
    await probe.clear();
    await probe.close();
    return size;
  })();
  const cache = await openCache(root, {
    disk: { dir: join(root, 'responses'), allowedRoots: [root], maxBytes: 3 * one + 10, env: { AGENTPERF_CACHE_SECRET: SECRET } },
    memoryMaxBytes: 1,
  });
  for (const i of [0, 1, 2]) await cache.set(keyFor(`d${i}`), responseFor(`d${i}`, 'x'.repeat(1_000)));
  t.truthy((await cache.fromTiers(keyFor('d0')))?.value); // touch d0
  await cache.set(keyFor('d3'), responseFor('d3', 'x'.repeat(1_000)));
  t.true(cache.stats().tiers[0].bytes <= 3 * one + 10);
  t.is(cache.stats().evictions.disk, 1);
  t.truthy((await cache.fromTiers(keyFor('d0')))?.value);
  t.is((await cache.fromTiers(keyFor('d1')))?.value, undefined, 'd1 was least recently used');
  await cache.close();
});

test('a 2 MiB response round-trips; one over the 4 MiB limit is not cached', async (t) => {
  const root = await tempRoot();
  const cache = await openCache(root, { memoryMaxBytes: 1 });
  const big = 'y'.repeat(2 * 1024 * 1024);
  await cache.set(keyFor('big'), responseFor('big', big));
  const back = (await cache.fromTiers(keyFor('big')))?.value;
  t.is((back!.content[0] as { text: string }).text, big);
  await cache.set(keyFor('huge'), responseFor('huge', 'z'.repeat(4 * 1024 * 1024 + 1)));
  t.is(cache.stats().oversize, 1);
  t.is((await cache.fromTiers(keyFor('huge')))?.value, undefined);
  await cache.close();
});

test('concurrent sets of one key leave one whole entry', async (t) => {
  const root = await tempRoot();
  const cache = await openCache(root, { memoryMaxBytes: 1 });
  const key = keyFor('race');
  await Promise.all(Array.from({ length: 20 }, (_, i) => cache.set(key, responseFor('race', `writer ${i} `.repeat(500)))));
  const value = (await cache.fromTiers(key))?.value;
  t.regex((value!.content[0] as { text: string }).text, /^(writer \d+ )+$/);
  t.is(cache.stats().integrityFailures, 0);
  t.deepEqual(await readdir(join(root, 'responses', 'tmp')), []);
  await cache.close();
});

test('opening reads the index snapshot; a new process sees files another wrote', async (t) => {
  const root = await tempRoot();
  const a = await openCache(root);
  const b = await openCache(root);
  await b.ready();
  await a.set(keyFor('from a'), responseFor('from a'));
  t.truthy((await b.fromTiers(keyFor('from a')))?.value);
  await a.close();
  await b.close();
  const c = await openCache(root);
  t.is(c.stats().tiers[0].entries, 1);
  await c.close();
});

test('a writer killed with SIGKILL mid-write leaves nothing torn that can be served', async (t) => {
  const root = await tempRoot();
  const written = await killWriterAfter(root, 50);
  const cache = await openCache(root);
  await cache.ready();
  let served = 0;
  for (let i = 0; i < written + 50; i++) {
    const value = (await cache.fromTiers(keyFor(`kill ${i}`)))?.value;
    if (value) {
      served++;
      t.is((value.content[0] as { text: string }).text, `complete answer ${i} `.repeat(2_000));
    }
  }
  t.true(served >= 50);
  t.is(cache.stats().integrityFailures, 0);
  t.deepEqual((await cache.verify()).failures, []);
  await cache.close();
});

test('entries written while the background scan runs stay in the index', async (t) => {
  const root = await tempRoot();
  const seed = await openCache(root, { memoryMaxBytes: 1 });
  for (let i = 0; i < 300; i++) await seed.set(keyFor(`seed ${i}`), responseFor(`seed ${i}`));
  await seed.close();
  const { rm } = await import('node:fs/promises');
  await rm(join(root, 'responses', 'index.bin')); // no snapshot: the scan finds everything
  const cache = await openCache(root, { memoryMaxBytes: 1 });
  await Promise.all(Array.from({ length: 100 }, (_, i) => cache.set(keyFor(`during ${i}`), responseFor(`during ${i}`))));
  await cache.ready();
  t.is(cache.stats().tiers[0].entries, 400);
  await cache.close();
  const reopened = await openCache(root);
  t.is(reopened.stats().tiers[0].entries, 400);
  await reopened.close();
});

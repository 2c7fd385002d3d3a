// The cache-tier seam: memory, then the shared tiers in order (read through, a hit promoted to
// memory, writes through to all), a tier that throws or is too slow counted as a miss, tier
// names as strings in stats and in an agent call's result.
import test from 'ava';
import { ResponseCache } from '../../src/cache/response-cache.ts';
import type { CacheTier, TierContext, TierRead } from '../../src/cache/tier.ts';
import { decodeEntry, encodeEntry, type EntryMeta } from '../../src/cache/entry-format.ts';
import { Orchestrator } from '../../src/orchestrator/orchestrator.ts';
import { createInProcessProvider } from '../../src/providers/in-process.ts';
import { EntrySigner } from '../../src/cache/signing.ts';
import { TEST_AGENTS } from '../helpers.ts';
import { keyFor, openCache, OTHER_SECRET, responseFor, SECRET, tempRoot } from './helpers.ts';

/**
 * A shared tier in a Map, holding signed entries as a Redis tier would: it signs and verifies
 * with the signer the cache gives it (TierContext); `get` can be made to fail or hang.
 */
class MapTier implements CacheTier {
  readonly entries = new Map<string, Buffer>();
  gets = 0;
  failWith: Error | undefined;
  hang = false;
  private context: TierContext | undefined;
  constructor(
    readonly name: string,
    readonly readTimeoutMs?: number,
  ) {}
  /** The tier factory: the cache opens it with its signer and its event sink. */
  readonly open = async (context: TierContext): Promise<CacheTier> => {
    this.context = context;
    return this;
  };
  async get(key: string): Promise<TierRead | undefined> {
    this.gets++;
    if (this.failWith) throw this.failWith;
    if (this.hang) return new Promise(() => {});
    const bytes = this.entries.get(key);
    if (!bytes) return undefined;
    const decoded = decodeEntry(bytes, key, this.context!.signer);
    if (!decoded.ok) {
      this.context!.onEvent('integrity', key, decoded.reason);
      this.entries.delete(key);
      return undefined;
    }
    return { payload: decoded.payload, meta: decoded.meta };
  }
  async set(key: string, meta: EntryMeta, payload: Buffer): Promise<void> {
    this.entries.set(key, encodeEntry(meta, payload, this.context!.signer));
  }
  async delete(key: string): Promise<void> {
    this.entries.delete(key);
  }
  async sweep(): Promise<number> {
    return 0;
  }
  stats() {
    return { entries: this.entries.size, bytes: [...this.entries.values()].reduce((sum, bytes) => sum + bytes.length, 0) };
  }
  async verify() {
    return { checked: this.entries.size, failures: [] };
  }
  async prune() {
    return { removed: 0, left: [] };
  }
  async clear(): Promise<void> {
    this.entries.clear();
  }
  async ready(): Promise<void> {}
  async close(): Promise<void> {}
}

/** A cache of shared tiers only, signing with the test secret (never the user's generated one). */
const sharedOnly = (tiers: MapTier[], secret = SECRET) =>
  ResponseCache.open({ tiers: tiers.map((tier) => tier.open), secret: { env: { AGENTPERF_CACHE_SECRET: secret } }, sweepIntervalMs: 3_600_000 });

test('shared tiers are read in order after memory, a hit is promoted, writes go through to all; stats name every tier', async (t) => {
  const root = await tempRoot();
  const shared = new MapTier('shared');
  const writer = await openCache(root, { tiers: [shared.open] });
  const key = keyFor('through');
  await writer.set(key, responseFor('through', 'to every tier'));
  t.is(shared.entries.size, 1, 'written through to the second shared tier');
  t.deepEqual(
    writer.stats().tiers.map((tier) => [tier.name, tier.entries]),
    [
      ['disk', 1],
      ['shared', 1],
    ],
  );
  await writer.clear();
  t.is(shared.entries.size, 0);

  // Only the second tier has it: disk misses, the shared tier answers, memory keeps it.
  await shared.set(
    key,
    { key, createdAt: Date.now(), expiresAt: Date.now() + 60_000 },
    Buffer.from(JSON.stringify(responseFor('through', 'from the second tier'))),
  );
  const hit = await writer.fromTiers(key);
  t.is(hit?.tier, 'shared');
  t.is((hit!.value.content[0] as { text: string }).text, 'from the second tier');
  t.truthy(writer.fromMemory(key), 'promoted to memory');
  t.deepEqual(writer.stats().hits, { memory: 1, disk: 0, shared: 1 });
  t.is(writer.stats().misses, 0);
  await writer.close();
});

test("a tier read that throws, or outlasts the tier's bound, is a miss, counted; the next tier is still read", async (t) => {
  const broken = new MapTier('broken');
  broken.failWith = new Error('connection refused');
  const slow = new MapTier('slow', 20);
  slow.hang = true;
  const last = new MapTier('last');
  const cache = await sharedOnly([broken, slow, last]);
  const key = keyFor('failing tiers');
  const started = performance.now();
  t.is(await cache.fromTiers(key), undefined);
  t.true(performance.now() - started < 2_000, 'the hanging read was given up at its bound');
  t.is(last.gets, 1, 'the tier after the failing ones was read');
  const stats = cache.stats();
  t.is(stats.misses, 1);
  t.deepEqual(stats.tierErrors, { broken: 1, slow: 1, last: 0 });
  await last.set(key, { key, createdAt: Date.now(), expiresAt: Date.now() + 60_000 }, Buffer.from(JSON.stringify(responseFor('failing tiers'))));
  t.is((await cache.fromTiers(key))?.tier, 'last');
  await cache.close();
});

test("an agent call answered by a shared tier says which (cacheTier is the tier's name)", async (t) => {
  const shared = new MapTier('shared');
  const cache = await sharedOnly([shared]);
  const provider = createInProcessProvider();
  const first = new Orchestrator({ agents: TEST_AGENTS, provider, cache });
  const answered = await first.executeAgent('python-expert', 'which tier?');
  t.is(answered.cacheTier, undefined);
  await first.close();
  // A second process: its memory is empty, the shared tier has the answer.
  const other = await sharedOnly([shared]);
  const second = new Orchestrator({ agents: TEST_AGENTS, provider: createInProcessProvider(), cache: other });
  const hit = await second.executeAgent('python-expert', 'which tier?');
  t.is(hit.cacheTier, 'shared');
  t.is(hit.output, answered.output);
  t.is((await second.executeAgent('python-expert', 'which tier?')).cacheTier, 'memory');
  await second.close();
  await cache.close();
  await other.close();
});

test('tier names must be unique and never "memory"', async (t) => {
  await t.throwsAsync(sharedOnly([new MapTier('a'), new MapTier('a')]), { message: /"a" is used twice/ });
  await t.throwsAsync(sharedOnly([new MapTier('memory')]), { message: /not "memory"/ });
});

test("every shared tier signs with the cache's one signer: a forged or foreign-signed entry in any tier is never served, and counted", async (t) => {
  const shared = new MapTier('shared');
  const cache = await sharedOnly([shared]);
  const key = keyFor('forged');
  const meta = { key, createdAt: Date.now(), expiresAt: Date.now() + 60_000 };
  const payload = Buffer.from(JSON.stringify(responseFor('forged', 'an answer nobody stored')));
  // Written straight into the store: under another secret, and signed properly then altered.
  shared.entries.set(key, encodeEntry(meta, payload, new EntrySigner(Buffer.from(OTHER_SECRET))));
  t.is(await cache.fromTiers(key), undefined);
  await cache.set(key, responseFor('forged', 'the real answer'));
  const stored = shared.entries.get(key)!;
  const altered = Buffer.from(stored);
  altered[altered.indexOf('real')] = 'f'.charCodeAt(0);
  shared.entries.set(key, altered);
  const fresh = await sharedOnly([shared]);
  t.is(await fresh.fromTiers(key), undefined);
  t.is(cache.stats().integrityFailures + fresh.stats().integrityFailures, 2);
  // The same secret in another process reads what this one signed.
  await cache.set(key, responseFor('forged', 'the real answer'));
  const again = await sharedOnly([shared]);
  t.is(((await again.fromTiers(key))!.value.content[0] as { text: string }).text, 'the real answer');
  for (const c of [cache, fresh, again]) await c.close();
});

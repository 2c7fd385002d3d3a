import test from 'ava';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { resolveCacheSecrets } from '../../src/cache/secret.ts';
import { decodeIndex, encodeIndex } from '../../src/cache/index-file.ts';
import { decodeEntry, encodeEntry } from '../../src/cache/entry-format.ts';
import { EntrySigner } from '../../src/cache/signing.ts';
import { entryFile, keyFor, killWriterAfter, openCache, OTHER_SECRET, responseFor, SECRET, tempRoot } from './helpers.ts';

// Hostile and unlucky states of a disk cache: an index that lies, files that are not entries,
// directories that lead elsewhere, a cache opened with the wrong secret. None may cost a valid
// entry, serve a bad one, crash or hang.

const indexFile = (root: string) => join(root, 'responses', 'index.bin');

async function filledCache(count: number, options: Parameters<typeof openCache>[1] = {}) {
  const root = await tempRoot();
  const keys = Array.from({ length: count }, (_, i) => keyFor(`task ${i}`));
  const cache = await openCache(root, options);
  for (const [i, key] of keys.entries()) await cache.set(key, responseFor(`task ${i}`));
  await cache.close();
  return { root, keys };
}

async function servedCount(root: string, keys: string[], options: Parameters<typeof openCache>[1] = {}): Promise<number> {
  const cache = await openCache(root, options);
  await cache.ready();
  await cache.sweep();
  let served = 0;
  for (const key of keys) if ((await cache.fromTiers(key))?.value) served++;
  await cache.close();
  return served;
}

test('an index with every size set to 0xffffffff costs no valid entry (30 of 30 still served)', async (t) => {
  const { root, keys } = await filledCache(30);
  const index = await readFile(indexFile(root));
  // Every record's size field (offset 32 within a 52-byte record after the 8-byte header).
  for (let offset = 8; offset + 52 <= index.length - 32; offset += 52) index.writeUInt32BE(0xffffffff, offset + 32);
  await writeFile(indexFile(root), index);
  t.is(await servedCount(root, keys), 30);
  t.is((await readdir(join(root, 'responses', 'entries'), { recursive: true })).filter((n) => n.length > 3).length, 30);
});

test('an index that says every entry expired long ago (even one signed by this cache) deletes none that is fresh', async (t) => {
  const { root, keys } = await filledCache(10);
  const records = keys.map((key) => ({ key, size: 500, lastAccess: 1, expiresAt: 1 }));
  // Signed with the cache's own secret: an old snapshot put back, or a bug, must still not delete.
  await writeFile(indexFile(root), encodeIndex(records, records.length, new EntrySigner(Buffer.from(SECRET))));
  t.is(await servedCount(root, keys), 10);
});

test('property: any bytes as the index (random, truncated, bit-flipped) lose no valid entry and serve no bad one', async (t) => {
  const { root, keys } = await filledCache(8);
  const good = await readFile(indexFile(root));
  const hostile = fc.oneof(
    fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
    fc.nat({ max: good.length }).map((n) => good.subarray(0, n)),
    fc.tuple(fc.nat({ max: good.length - 1 }), fc.integer({ min: 1, max: 255 })).map(([i, x]) => {
      const copy = Buffer.from(good);
      copy[i] = copy[i] ^ x;
      return copy;
    }),
    fc.tuple(fc.constantFrom(...Array.from({ length: 8 }, (_, i) => 8 + i * 52 + 32)), fc.integer({ min: 0, max: 0xffffffff })).map(([offset, size]) => {
      const copy = Buffer.from(good);
      copy.writeUInt32BE(size, offset);
      return copy;
    }),
  );
  await fc.assert(
    fc.asyncProperty(hostile, async (bytes) => {
      await writeFile(indexFile(root), bytes);
      return (await servedCount(root, keys)) === keys.length;
    }),
    { numRuns: 40 },
  );
  t.pass('every run kept all 8 entries');
});

test('decodeIndex refuses a signed record no writer makes (a size over the entry limit, a time that is not finite)', (t) => {
  const secret = new EntrySigner(Buffer.from(SECRET));
  const key = keyFor('x');
  const ok = decodeIndex(encodeIndex([{ key, size: 100, lastAccess: 1, expiresAt: 2 }], 1, secret), 1000, secret);
  t.true(ok.ok);
  t.deepEqual(decodeIndex(encodeIndex([{ key, size: 0xffffffff, lastAccess: 1, expiresAt: 2 }], 1, secret), 1000, secret), { ok: false, reason: 'record' });
  t.deepEqual(decodeIndex(encodeIndex([{ key, size: 10, lastAccess: Number.NaN, expiresAt: 2 }], 1, secret), 1000, secret), { ok: false, reason: 'record' });
  t.deepEqual(decodeIndex(encodeIndex([{ key, size: 10, lastAccess: 1, expiresAt: 2 }], 1, new EntrySigner(Buffer.from(OTHER_SECRET))), 1000, secret), {
    ok: false,
    reason: 'signature',
  });
});

const notEntries: Array<[string, (file: string) => Promise<void>]> = [
  ['a directory', (file) => mkdir(file)],
  ['a FIFO', async (file) => void execFileSync('mkfifo', [file])],
  [
    'a symlink to a file outside the cache',
    async (file) => {
      const outside = join(await tempRoot(), 'secret.txt');
      await writeFile(outside, 'not yours');
      await symlink(outside, file);
    },
  ],
];

for (const [what, make] of notEntries) {
  test(`${what} in an entry's place is reported, never served, never followed or blocked on, and left in place`, async (t) => {
    const { root, keys } = await filledCache(3);
    const file = entryFile(root, keys[0]);
    await rm(file);
    await make(file);
    const cache = await openCache(root);
    await cache.ready();
    t.is((await cache.fromTiers(keys[0]))?.value, undefined);
    t.truthy((await cache.fromTiers(keys[1]))?.value);
    t.is(cache.stats().integrityFailures, 1);
    const verified = await cache.verify();
    t.deepEqual(
      verified.failures.map((f) => f.reason),
      ['not-a-file'],
    );
    const pruned = await cache.prune();
    t.is(pruned.removed, 0);
    t.is(pruned.left.length, 1);
    await cache.close();
    t.truthy(await import('node:fs/promises').then((fs) => fs.lstat(file)), "not deleted: not the cache's to delete");
  });
}

for (const [what, make] of notEntries.slice(0, 2)) {
  test(`the CLI: exec and cache verify with ${what} in an entry's place exit cleanly, never hang`, async (t) => {
    const { runCli } = await import('../helpers.ts');
    const root = await tempRoot();
    const dir = join(root, 'responses');
    const env = { AGENTPERF_CACHE_ROOTS: root, AGENTPERF_CACHE_SECRET: SECRET };
    const exec = () => runCli(['exec', 'code-reviewer', 'Review: x = 1', '--json', '--cache-dir', dir], { env, timeoutMs: 30_000 });
    t.is((await exec()).code, 0);
    const entries = (await readdir(join(dir, 'entries'), { recursive: true })).filter((n) => n.length > 3);
    t.is(entries.length, 1);
    const file = join(dir, 'entries', entries[0]);
    await rm(file);
    await make(file);
    const again = await exec();
    t.is(again.code, 0, again.stderr);
    t.is((JSON.parse(again.stdout) as { cached: boolean }).cached, false);
    const verify = await runCli(['cache', 'verify', '--cache-dir', dir], { env, timeoutMs: 30_000 });
    t.is(verify.code, 1, verify.stderr);
    t.regex(verify.stdout, what === 'a FIFO' ? /FIFO/ : /directory/);
    t.notRegex(verify.stderr, /\n\s+at /, 'no stack trace');
  });
}

for (const sub of ['entries', 'tmp']) {
  test(`${sub}/ as a symlink out of the cache is refused with AP_ERR_CACHE_PATH; nothing is written outside`, async (t) => {
    const root = await tempRoot();
    const outside = await tempRoot();
    await mkdir(join(root, 'responses'), { mode: 0o700 });
    await symlink(outside, join(root, 'responses', sub));
    const error = await t.throwsAsync(openCache(root));
    t.is((error as { code?: string }).code, 'AP_ERR_CACHE_PATH');
    t.regex(error.message, new RegExp(`${sub}`));
    t.deepEqual(await readdir(outside), []);
  });
}

test('a symlinked shard is never written through or read from', async (t) => {
  const root = await tempRoot();
  const outside = await tempRoot();
  const key = keyFor('shard');
  await mkdir(join(root, 'responses', 'entries'), { recursive: true, mode: 0o700 });
  await symlink(outside, join(root, 'responses', 'entries', key.slice(0, 2)));
  const cache = await openCache(root);
  await t.throwsAsync(cache.set(key, responseFor('shard')), { code: 'AP_ERR_CACHE_PATH' } as never);
  t.is((await cache.fromTiers(key))?.value, undefined);
  await cache.close();
  t.deepEqual(await readdir(outside), []);
});

const badDirs: Array<[string, (root: string) => Promise<string>]> = [
  [
    'a regular file in the way',
    async (root) => {
      await writeFile(join(root, 'file'), 'x');
      return join(root, 'file', 'responses');
    },
  ],
  ['a name too long', async (root) => join(root, 'n'.repeat(300))],
  ['a NUL byte', async (root) => join(root, 'a\0b')],
];

for (const [what, make] of badDirs) {
  test(`a cache directory with ${what} is refused with AP_ERR_CACHE_PATH, not a stack`, async (t) => {
    const root = await tempRoot();
    const dir = await make(root);
    const error = await t.throwsAsync(openCache(root, { disk: { dir, allowedRoots: [root], env: { AGENTPERF_CACHE_SECRET: SECRET } } }));
    t.is((error as { code?: string }).code, 'AP_ERR_CACHE_PATH', error.message);
  });
}

test('a wrong secret is told from tampering: nothing served, nothing deleted, named as such; the right secret then serves all', async (t) => {
  const { root, keys } = await filledCache(5);
  const wrong = await openCache(root, { secret: OTHER_SECRET });
  await wrong.ready();
  for (const key of keys) t.is((await wrong.fromTiers(key))?.value, undefined);
  t.truthy(wrong.foreignSecret());
  t.is(wrong.stats().integrityFailures, 0, 'not counted as tampering');
  await wrong.set(keyFor('new'), responseFor('new'));
  const verified = await wrong.verify();
  t.truthy(verified.foreignSecret);
  await t.throwsAsync(wrong.prune(), { code: 'AP_ERR_CACHE_PATH' } as never);
  await wrong.close();
  t.is(await servedCount(root, keys), 5);
  t.is(await servedCount(root, [keyFor('new')]), 0, 'nothing was written under the wrong secret');
});

test('a cache from before the secret was recorded, opened with the wrong secret, is recognised by its entries and kept', async (t) => {
  const { root, keys } = await filledCache(5);
  await rm(join(root, 'responses', 'secret-id'));
  const wrong = await openCache(root, { secret: OTHER_SECRET });
  t.truthy(wrong.foreignSecret());
  await wrong.close();
  t.is(await servedCount(root, keys), 5);
});

test('under its own secret, one tampered entry among good ones is tampering: removed, the rest served', async (t) => {
  const { root, keys } = await filledCache(5);
  const file = entryFile(root, keys[2]);
  const bytes = await readFile(file);
  bytes[bytes.length - 1] ^= 1;
  await writeFile(file, bytes);
  const cache = await openCache(root);
  t.is(cache.foreignSecret(), undefined);
  let served = 0;
  for (const key of keys) if ((await cache.fromTiers(key))?.value) served++;
  t.is(served, 4);
  t.is(cache.stats().integrityFailures, 1);
  await cache.close();
  await t.throwsAsync(stat(file), { code: 'ENOENT' } as never);
});

test("cache clear is how a cache changes hands: then it is the new secret's", async (t) => {
  const { root } = await filledCache(2);
  const cache = await openCache(root, { secret: OTHER_SECRET });
  await cache.clear();
  t.is(cache.foreignSecret(), undefined);
  await cache.set(keyFor('mine'), responseFor('mine'));
  await cache.close();
  t.is(await servedCount(root, [keyFor('mine')], { secret: OTHER_SECRET }), 1);
});

test('a secret file readable by group or others is refused (unless allowed); one inside the cache directory is refused', async (t) => {
  const root = await tempRoot();
  const secretFile = join(root, 'config', 'cache-secret');
  await resolveCacheSecrets({ env: {}, secretFile });
  await chmod(secretFile, 0o644);
  const loose = await t.throwsAsync(resolveCacheSecrets({ env: {}, secretFile }));
  t.is((loose as { code?: string }).code, 'AP_ERR_CACHE_SECRET');
  t.regex(loose.message, /0644.*chmod 600/);
  t.truthy(await resolveCacheSecrets({ env: { AGENTPERF_CACHE_SECRET_ALLOW_LOOSE_MODE: '1' }, secretFile }));
  t.truthy(await resolveCacheSecrets({ env: {}, secretFile, allowLooseMode: true }));

  const cacheDir = join(root, 'responses');
  await mkdir(cacheDir, { mode: 0o700 });
  const inside = await t.throwsAsync(resolveCacheSecrets({ env: {}, secretFile: join(cacheDir, 'cache-secret'), cacheDir }));
  t.is((inside as { code?: string }).code, 'AP_ERR_CACHE_SECRET');
  t.regex(inside.message, /outside the cache directory/);
  await t.throwsAsync(stat(join(cacheDir, 'cache-secret')), { code: 'ENOENT' } as never);
});

test('property: an entry with any bytes changed, cut, swapped or spliced from another is never accepted', (t) => {
  const secret = new EntrySigner(Buffer.from(SECRET));
  const key = keyFor('property');
  const other = encodeEntry({ key: keyFor('other'), createdAt: 5, expiresAt: 9e12 }, Buffer.from(JSON.stringify(responseFor('other'))), secret);
  const good = encodeEntry({ key, createdAt: 1, expiresAt: 9e12 }, Buffer.from(JSON.stringify(responseFor('property'))), secret);
  t.true(decodeEntry(good, key, secret).ok);
  const mutated = fc.oneof(
    fc.uint8Array({ maxLength: good.length + 64 }).map((a) => Buffer.from(a)),
    fc.nat({ max: good.length - 1 }).map((n) => good.subarray(0, n)),
    fc.tuple(fc.nat({ max: good.length - 1 }), fc.integer({ min: 1, max: 255 })).map(([i, x]) => {
      const copy = Buffer.from(good);
      copy[i] = copy[i] ^ x;
      return copy;
    }),
    fc
      .tuple(fc.nat({ max: good.length - 2 }), fc.nat({ max: good.length - 2 }))
      .filter(([a, b]) => good[a] !== good[b])
      .map(([a, b]) => {
        const copy = Buffer.from(good);
        [copy[a], copy[b]] = [copy[b], copy[a]];
        return copy;
      }),
    fc.tuple(fc.nat({ max: Math.min(good.length, other.length) - 1 })).map(([cut]) => Buffer.concat([good.subarray(0, cut), other.subarray(cut)])),
  );
  fc.assert(
    fc.property(mutated, (bytes) => bytes.equals(good) || !decodeEntry(bytes, key, secret).ok),
    { numRuns: 2_000 },
  );
});

test('crash and corruption: a writer killed mid-write, then a damaged index on reopen: 0 valid entries lost', async (t) => {
  const { root, keys } = await filledCache(30);
  const written = await killWriterAfter(root, 40);
  const index = await readFile(indexFile(root));
  for (const damage of [
    (b: Buffer) => b.subarray(0, Math.floor(b.length / 2)),
    (b: Buffer) => {
      const copy = Buffer.from(b);
      for (let offset = 8; offset + 52 <= copy.length - 32; offset += 52) copy.writeUInt32BE(0xffffffff, offset + 32);
      return copy;
    },
    () => Buffer.alloc(0),
  ]) {
    await writeFile(indexFile(root), damage(index));
    const killedKeys = Array.from({ length: written }, (_, i) => keyFor(`kill ${i}`));
    t.is(await servedCount(root, keys), 30);
    t.is(await servedCount(root, killedKeys), written, 'every write the killed writer finished');
  }
});

test("prune removes a stray regular file but leaves a stray directory and an entry only too large for today's limit; verify reports both", async (t) => {
  const { root, keys } = await filledCache(2);
  const big = keyFor('big');
  const writer = await openCache(root);
  await writer.set(big, responseFor('big', 'x'.repeat(200_000)));
  await writer.close();
  const shard = join(root, 'responses', 'entries', keys[0].slice(0, 2));
  await writeFile(join(shard, 'stray.txt'), 'x');
  await mkdir(join(shard, 'stray-dir'));
  const small = await openCache(root, { maxEntryBytes: 100 });
  const verified = await small.verify();
  t.deepEqual(verified.failures.map((f) => f.reason).sort(), ['bad-name', 'not-a-file', 'too-large']);
  const pruned = await small.prune();
  t.is(pruned.removed, 1);
  t.is(pruned.left.length, 2);
  await small.close();
  t.is(await servedCount(root, [...keys, big]), 3, 'the large entry is still there for the usual limit');
});

test("a cache from before the secret was recorded, with a torn entry and a directory among its entries, is still recognised as another secret's", async (t) => {
  const { root, keys } = await filledCache(5);
  await rm(join(root, 'responses', 'secret-id'));
  await writeFile(entryFile(root, keys[0]), 'torn');
  await rm(entryFile(root, keys[1]));
  await mkdir(entryFile(root, keys[1]));
  const wrong = await openCache(root, { secret: OTHER_SECRET });
  t.truthy(wrong.foreignSecret());
  await wrong.close();
  t.is(await servedCount(root, keys.slice(2)), 3);
});

import test from 'ava';
import { readFile, truncate, writeFile } from 'node:fs/promises';
import { decodeEntry, encodeEntry } from '../../src/cache/entry-format.ts';
import { EntrySigner, secretId } from '../../src/cache/signing.ts';
import { entryFile, keyFor, openCache, OTHER_SECRET, responseFor, SECRET, tempRoot } from './helpers.ts';

type Tamper = (bytes: Buffer) => Buffer;

const flipAt =
  (index: (b: Buffer) => number): Tamper =>
  (bytes) => {
    const copy = Buffer.from(bytes);
    const i = index(copy);
    copy[i] = copy[i] ^ 0x01;
    return copy;
  };

const cases: Array<[string, Tamper]> = [
  ['one byte flipped in the payload', flipAt((b) => b.length - 40)],
  ['one byte flipped in the signature', flipAt((b) => b.length - 1)],
  ['one byte flipped in the metadata', flipAt((_b) => 12)],
  ['one byte flipped in the format version', flipAt(() => 3)],
  ['truncated', (b) => b.subarray(0, Math.floor(b.length / 2))],
  ['the signature stripped', (b) => b.subarray(0, b.length - 32)],
  ['empty', () => Buffer.alloc(0)],
];

for (const [title, tamper] of cases) {
  test(`an entry with ${title} is not served, is counted and removed`, async (t) => {
    const root = await tempRoot();
    const key = keyFor(title);
    const writer = await openCache(root);
    await writer.set(key, responseFor(title));
    await writer.close();
    const file = entryFile(root, key);
    await writeFile(file, tamper(await readFile(file)));
    const reader = await openCache(root);
    t.is((await reader.fromTiers(key))?.value, undefined);
    const stats = reader.stats();
    t.is(stats.integrityFailures, 1);
    t.is(stats.hits.disk, 0);
    await t.throwsAsync(readFile(file), { code: 'ENOENT' });
    await reader.close();
  });
}

test("a valid entry copied under another key's name is not served", async (t) => {
  const root = await tempRoot();
  const [a, b] = [keyFor('a'), keyFor('b')];
  const cache = await openCache(root);
  await cache.set(a, responseFor('a', 'the answer for a'));
  await cache.set(b, responseFor('b', 'the answer for b'));
  await cache.close();
  await writeFile(entryFile(root, b), await readFile(entryFile(root, a)));
  const reader = await openCache(root);
  t.is((await reader.fromTiers(b))?.value, undefined);
  t.is(reader.stats().integrityFailures, 1);
  await reader.close();
});

test('decodeEntry names the failure and verifies with the previous secret', (t) => {
  const key = keyFor('x');
  const meta = { key, createdAt: 1, expiresAt: 2 };
  const other = new EntrySigner(Buffer.from(OTHER_SECRET));
  const bytes = encodeEntry(meta, Buffer.from('{"a":1}'), other);
  t.deepEqual(decodeEntry(bytes, key, new EntrySigner(Buffer.from(SECRET))), { ok: false, reason: 'signature' });
  const viaPrevious = decodeEntry(bytes, key, new EntrySigner(Buffer.from(SECRET), Buffer.from(OTHER_SECRET)));
  t.true(viaPrevious.ok && viaPrevious.signedWithPrevious);
  t.deepEqual(decodeEntry(bytes, keyFor('y'), other), { ok: false, reason: 'key-mismatch' });
  t.deepEqual(decodeEntry(bytes.subarray(0, 10), key, other), { ok: false, reason: 'truncated' });
});

test("the signer knows a stored secret id: its own, the previous one of a rotation's, or another's", (t) => {
  const rotated = new EntrySigner(Buffer.from(SECRET), Buffer.from(OTHER_SECRET));
  t.is(rotated.secretId, secretId(Buffer.from(SECRET)));
  t.is(rotated.ownerOf(secretId(Buffer.from(SECRET))), 'current');
  t.is(rotated.ownerOf(secretId(Buffer.from(OTHER_SECRET))), 'previous');
  t.is(rotated.ownerOf(secretId(Buffer.from('t'.repeat(40)))), 'foreign');
  t.is(new EntrySigner(Buffer.from(SECRET)).ownerOf(secretId(Buffer.from(OTHER_SECRET))), 'foreign', 'without a rotation the old secret is another');
  // Known value, computed apart (Python's hmac): HMAC-SHA256('s' x 40, "agentperf cache secret id v1"), first 32 hex digits.
  t.is(rotated.secretId, 'deac85f7a8e5fe343eb77634e45d90eb');
  t.not(secretId(Buffer.from(SECRET)), secretId(Buffer.from(OTHER_SECRET)));
});

test('rotation: entries signed with the previous secret still verify and are re-signed on read', async (t) => {
  const root = await tempRoot();
  const key = keyFor('rotate');
  const old = await openCache(root, { secret: OTHER_SECRET });
  await old.set(key, responseFor('rotate', 'kept across rotation'));
  await old.close();
  const rotated = await openCache(root, { secret: SECRET, previous: OTHER_SECRET });
  const value = (await rotated.fromTiers(key))?.value;
  t.is((value!.content[0] as { text: string }).text, 'kept across rotation');
  await rotated.close();
  // Re-signed: the new secret alone now verifies it.
  let resigned = false;
  for (let i = 0; i < 1000 && !resigned; i++) {
    const bytes = await readFile(entryFile(root, key));
    resigned = decodeEntry(bytes, key, new EntrySigner(Buffer.from(SECRET))).ok;
    if (!resigned) await new Promise((r) => setImmediate(r));
  }
  t.true(resigned);
});

test('verify lists every failing entry; prune removes them', async (t) => {
  const root = await tempRoot();
  const cache = await openCache(root);
  const keys = ['v1', 'v2', 'v3'].map(keyFor);
  for (const [i, key] of keys.entries()) await cache.set(key, responseFor(`v${i}`));
  await truncate(entryFile(root, keys[1]), 20);
  const { checked, failures } = await cache.verify();
  t.is(checked, 3);
  t.deepEqual(
    failures.map((f) => [f.key, f.reason]),
    [[keys[1], 'truncated']],
  );
  t.is((await cache.prune()).removed, 1);
  t.deepEqual((await cache.verify()).failures, []);
  await cache.close();
});

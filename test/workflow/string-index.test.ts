import test from 'ava';
import { fnv1a, StringIndex } from '../../src/workflow/string-index.ts';

test('fnv1a matches the published FNV-1a 32-bit test vectors', (t) => {
  t.is(fnv1a(''), 0x811c9dc5);
  t.is(fnv1a('a'), 0xe40c292c);
  t.is(fnv1a('foobar'), 0xbf9cf968);
});

test('StringIndex finds every id at its position, misses what is absent, and reports the first duplicate', (t) => {
  const ids = Array.from({ length: 5_000 }, (_, i) => (i % 2 ? `step-${i}` : `s${i}`));
  const { index, duplicateAt } = StringIndex.build(ids);
  t.is(duplicateAt, undefined);
  for (let i = 0; i < ids.length; i++) t.is(index.get(ids[i]), i);
  t.is(index.get('s1'), -1);
  t.is(index.get(''), -1);
  t.is(StringIndex.build(['a', 'b', 'c', 'b', 'a']).duplicateAt, 3);
});

// The one interleaving every paired measurement takes its order from (src/measure/interleave.ts).
import test from 'ava';
import { abbaPairs, orderForRound, permutations, runInterleaved } from '../../src/measure/interleave.ts';

test('two items alternate AB, BA, AB, BA (ABBA)', (t) => {
  t.deepEqual(
    [0, 1, 2, 3].map((r) => orderForRound(['A', 'B'], r).join('')),
    ['AB', 'BA', 'AB', 'BA'],
  );
});

test('three items over a whole cycle: each in each position, and right after each other, equally often', (t) => {
  const items = ['a', 'b', 'c'];
  const rounds = Array.from({ length: 6 }, (_, r) => orderForRound(items, r));
  t.is(new Set(rounds.map((o) => o.join(''))).size, 6, 'every ordering once');
  for (const item of items)
    for (let position = 0; position < 3; position++) t.is(rounds.filter((o) => o[position] === item).length, 2, `${item} at ${position}`);
  const follows = new Map<string, number>();
  for (const o of rounds) for (let i = 1; i < o.length; i++) follows.set(o[i - 1] + o[i], (follows.get(o[i - 1] + o[i]) ?? 0) + 1);
  t.deepEqual([...follows.values()], [2, 2, 2, 2, 2, 2]);
});

test('permutations of four are the 24 orderings', (t) => {
  const all = permutations([1, 2, 3, 4]).map((p) => p.join(''));
  t.is(all.length, 24);
  t.is(new Set(all).size, 24);
});

test('runInterleaved takes ratios within a round, in the rotation of orders; abbaPairs puts each result on its side', async (t) => {
  const ran: string[] = [];
  const result = await runInterleaved(
    [
      { name: 'ref', block: async () => (ran.push('ref'), 2) },
      { name: 'slow', block: async () => (ran.push('slow'), 3) },
    ],
    4,
  );
  t.deepEqual(ran, ['ref', 'slow', 'slow', 'ref', 'ref', 'slow', 'slow', 'ref']);
  t.is(result.ratios.slow.median, 1.5);
  t.deepEqual(result.medians, { ref: 2, slow: 3 });
  const order: string[] = [];
  const pairs = await abbaPairs(
    0,
    2,
    async () => (order.push('a'), 'A'),
    async () => (order.push('b'), 'B'),
  );
  t.deepEqual(order, ['a', 'b', 'b', 'a']);
  t.deepEqual(pairs, [
    { a: 'A', b: 'B' },
    { a: 'A', b: 'B' },
  ]);
});

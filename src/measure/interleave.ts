import { performance } from 'node:perf_hooks';
import { median } from '../stats/percentiles.js';

/**
 * The one interleaving every paired comparison uses (ABBA): pair 0 runs A then B, pair 1 B then
 * A, and so on, so that whatever the machine drifts through over time falls on both sides
 * alike, and neither side always runs first. Pairs `from` to `from + count - 1` are run.
 */
export async function abbaPairs<T>(
  from: number,
  count: number,
  a: () => Promise<T>,
  b: () => Promise<T>,
  onPair?: (pair: number, results: { a: T; b: T }) => void,
): Promise<Array<{ a: T; b: T }>> {
  const out: Array<{ a: T; b: T }> = [];
  for (let pair = from; pair < from + count; pair++) {
    let first: T;
    let second: T;
    if (pair % 2 === 0) {
      first = await a();
      second = await b();
      out.push({ a: first, b: second });
    } else {
      first = await b();
      second = await a();
      out.push({ a: second, b: first });
    }
    onPair?.(pair, out.at(-1)!);
  }
  return out;
}

export interface Variant {
  name: string;
  /** Runs one block and returns its figure (e.g. µs per call). */
  block: () => Promise<number>;
}

export interface InterleavedResult {
  /** Each variant's figure per round, in round order. */
  samples: Record<string, number[]>;
  medians: Record<string, number>;
  /** Per-round ratio of each variant to the first (the reference), and its median. */
  ratios: Record<string, { perRound: number[]; median: number }>;
}

/** What one timed block of calls cost: wall time and main-thread busy time, per call. */
export interface BlockCost {
  wallUsPerCall: number;
  /** Event-loop active time per call: the main thread's own work, whatever other threads do. */
  busyUsPerCall: number;
}

/**
 * Times one block. No forced GC before it: tried, it reset the young generation and made
 * every block allocation-bound, which is not how a running process behaves.
 */
export async function measureBlock(calls: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<BlockCost> {
  const before = performance.eventLoopUtilization();
  const elapsedMs = await closedLoop(calls, concurrency, op);
  const used = performance.eventLoopUtilization(before);
  return { wallUsPerCall: (elapsedMs * 1000) / calls, busyUsPerCall: (used.active * 1000) / calls };
}

/** Every ordering of `items` (Heap's algorithm); used for up to 4 variants (24 orders). */
export function permutations<T>(items: readonly T[]): T[][] {
  const result: T[][] = [];
  const a = [...items];
  const c = new Array<number>(a.length).fill(0);
  result.push([...a]);
  for (let i = 1; i < a.length;) {
    if (c[i] < i) {
      const j = i % 2 === 0 ? 0 : c[i];
      [a[i], a[j]] = [a[j], a[i]];
      result.push([...a]);
      c[i]++;
      i = 1;
    } else {
      c[i] = 0;
      i++;
    }
  }
  return result;
}

/**
 * The order in which round `round` runs `items`: every ordering in turn (for up to 4 items; 2
 * items go AB, BA, AB, ...), so that over whole cycles each runs in each position, and after
 * each other, equally often. Beyond 4, forward and reversed. Every interleaved measurement
 * here takes its order from this (issue 26: a rotation and a per-round reversal were written by
 * hand, the reversal biased for 3 or more).
 */
export function orderForRound<T>(items: readonly T[], round: number): readonly T[] {
  const orders = items.length <= 4 ? permutations(items) : [items, [...items].reverse()];
  return orders[round % orders.length];
}

/**
 * Runs every variant once per round, cycling through every ordering of the variants, so each
 * variant runs in each position, and after each other variant, equally often. (A fixed order
 * reversed each round, ABC CBA, is biased: the edge variants run twice in a row at every
 * round boundary and the middle one never does; measured here, that moved a ratio by 3%.)
 * Ratios are taken within a round, then their median, which is what the README quotes: a
 * figure from one run, side by side.
 */
export async function runInterleaved(variants: readonly Variant[], rounds: number): Promise<InterleavedResult> {
  const samples: Record<string, number[]> = Object.fromEntries(variants.map((v) => [v.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const v of orderForRound(variants, round)) samples[v.name].push(await v.block());
  }
  const reference = variants[0].name;
  const medians = Object.fromEntries(variants.map((v) => [v.name, median(samples[v.name])]));
  const ratios = Object.fromEntries(
    variants.map((v) => {
      const perRound = samples[v.name].map((x, i) => x / samples[reference][i]);
      return [v.name, { perRound, median: median(perRound) }];
    }),
  );
  return { samples, medians, ratios };
}

/** Runs `total` async operations with `concurrency` workers; returns elapsed ms. */
export async function closedLoop(total: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const startedAt = performance.now();
  const worker = async () => {
    while (next < total) await op(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return performance.now() - startedAt;
}

import { median } from '../stats/percentiles.ts';

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

/**
 * Runs every variant once per round, alternating the order each round (ABBA...), so drift in
 * machine load falls on both sides. Ratios are taken within a round, then their median, which
 * is what the README quotes: a figure from one run, side by side.
 */
export async function runInterleaved(variants: readonly Variant[], rounds: number): Promise<InterleavedResult> {
  const samples: Record<string, number[]> = Object.fromEntries(variants.map((v) => [v.name, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? variants : [...variants].reverse();
    for (const v of order) samples[v.name]!.push(await v.block());
  }
  const reference = variants[0]!.name;
  const medians = Object.fromEntries(variants.map((v) => [v.name, median(samples[v.name]!)]));
  const ratios = Object.fromEntries(
    variants.map((v) => {
      const perRound = samples[v.name]!.map((x, i) => x / samples[reference]![i]!);
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

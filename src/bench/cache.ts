import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalRequest, keyOfCanonical } from '../cache/key.js';
import { ResponseCache, type CachedResponse } from '../cache/response-cache.js';
import { orderForRound } from '../measure/interleave.js';
import { messageFor } from '../providers/simulator/respond.js';
import type { MessageParams } from '../providers/types.js';
import { median } from '../stats/percentiles.js';
import { microsecondSummary, nanosecondHistogram, type PercentileSummary } from '../stats/hdr.js';

export interface CacheBenchOptions {
  /** Timed memory hits (and as many floor lookups), in rounds. */
  memoryIterations: number;
  diskIterations: number;
  setIterations: number;
  openEntries: number;
  openRepeats: number;
}

export const DEFAULT_CACHE_BENCH: CacheBenchOptions = {
  memoryIterations: 1_000_000,
  diskIterations: 5_000,
  setIterations: 2_000,
  openEntries: 100_000,
  openRepeats: 5,
};

export interface CacheBenchResult {
  options: CacheBenchOptions;
  memoryHit: PercentileSummary;
  floor: PercentileSummary;
  /** Memory-hit p50 over the floor's p50 (key + bare Map.get), measured in the same rounds. */
  memoryToFloorRatio: number;
  diskHit4KiB: PercentileSummary;
  set4KiB: PercentileSummary;
  open: { entries: number; medianMs: number; runsMs: number[]; reconcileMs: number };
}

export const SCOPE = { namespace: 'bench', provider: 'simulator', agentVersion: 1 };

export function paramsFor(i: number): MessageParams {
  return { model: 'claude-haiku-5-5', max_tokens: 1024, system: 'You answer briefly.', messages: [{ role: 'user', content: `bench question number ${i}` }] };
}

export function responseOfSize(i: number, bytes: number): CachedResponse {
  const message = messageFor(paramsFor(i), `msg_${i}`);
  const overhead = Buffer.byteLength(JSON.stringify({ ...message, content: [{ type: 'text', text: '' }] }));
  message.content = [{ type: 'text', text: 'x'.repeat(Math.max(0, bytes - overhead)) }];
  return message;
}

const elapsedNs = (start: bigint) => Number(process.hrtime.bigint() - start);

/**
 * The signed cache's costs: a memory hit (computing the key included, since the orchestrator
 * does that on every call) against the floor of the same key plus a bare Map.get, interleaved
 * in rounds; a verified disk hit and a set of a 4 KiB entry; and opening a 100,000-entry cache.
 */
export async function benchCache(options: CacheBenchOptions = DEFAULT_CACHE_BENCH): Promise<CacheBenchResult> {
  const root = await mkdtemp(join(tmpdir(), 'agentperf-bench-cache-'));
  const env = { AGENTPERF_CACHE_SECRET: 'b'.repeat(40) };
  try {
    // Memory hits against the floor, 100 distinct hot keys, interleaved in rounds of 10,000.
    const memoryCache = await ResponseCache.open({});
    const floorMap = new Map<string, CachedResponse>();
    const canonicals = Array.from({ length: 100 }, (_, i) => canonicalRequest(SCOPE, paramsFor(i)));
    for (const [i, canonical] of canonicals.entries()) {
      const value = responseOfSize(i, 1024);
      await memoryCache.set(keyOfCanonical(canonical), value);
      floorMap.set(keyOfCanonical(canonical), value);
    }
    const memoryHist = nanosecondHistogram();
    const floorHist = nanosecondHistogram();
    const round = 10_000;
    let sink = 0;
    // Both sides run through the same timing loop, so they pay the same indirection.
    const timeLookups = (histogram: typeof memoryHist, lookup: (key: string) => CachedResponse | undefined) => {
      for (let i = 0; i < round; i++) {
        const canonical = canonicals[i % 100];
        const start = process.hrtime.bigint();
        const hit = lookup(keyOfCanonical(canonical));
        histogram.recordValue(elapsedNs(start));
        if (hit) sink++;
      }
    };
    const memoryLookup = (key: string) => memoryCache.fromMemory(key);
    const floorLookup = (key: string) => floorMap.get(key);
    for (let done = 0, r = 0; done < options.memoryIterations; done += round, r++) {
      for (const [hist, lookup] of orderForRound(
        [
          [memoryHist, memoryLookup],
          [floorHist, floorLookup],
        ] as const,
        r,
      ))
        timeLookups(hist, lookup);
    }
    if (sink !== 2 * Math.ceil(options.memoryIterations / round) * round) throw new Error('bench: a memory lookup missed');
    await memoryCache.close();

    // Disk hits and sets of 4 KiB entries; a memory tier too small to hold any, so every read
    // goes to disk and is verified.
    const diskCache = await ResponseCache.open({
      memoryMaxBytes: 1,
      disk: { dir: join(root, 'disk'), allowedRoots: [root], env, maxBytes: 1024 * 1024 * 1024 },
    });
    const setHist = nanosecondHistogram();
    const keys: string[] = [];
    for (let i = 0; i < options.setIterations; i++) {
      const key = keyOfCanonical(canonicalRequest(SCOPE, paramsFor(i)));
      keys.push(key);
      const value = responseOfSize(i, 4096);
      const start = process.hrtime.bigint();
      await diskCache.set(key, value);
      setHist.recordValue(elapsedNs(start));
    }
    const diskHist = nanosecondHistogram();
    for (let i = 0; i < options.diskIterations; i++) {
      const start = process.hrtime.bigint();
      const hit = await diskCache.fromTiers(keys[i % keys.length]);
      diskHist.recordValue(elapsedNs(start));
      if (!hit) throw new Error('bench: a disk read missed');
    }
    await diskCache.close();

    // Opening a cache of many entries: fill it (small entries), close (writes the index), reopen.
    const openDir = join(root, 'open');
    const filler = await ResponseCache.open({ memoryMaxBytes: 1, disk: { dir: openDir, allowedRoots: [root], env, maxBytes: 1024 * 1024 * 1024 } });
    const small = responseOfSize(0, 200);
    const batch = 64;
    for (let i = 0; i < options.openEntries; i += batch) {
      await Promise.all(
        Array.from({ length: Math.min(batch, options.openEntries - i) }, (_, j) =>
          filler.set(keyOfCanonical(canonicalRequest(SCOPE, paramsFor(i + j))), small),
        ),
      );
    }
    await filler.close();
    const runsMs: number[] = [];
    let reconcileMs = 0;
    for (let i = 0; i < options.openRepeats; i++) {
      const start = performance.now();
      const opened = await ResponseCache.open({ disk: { dir: openDir, allowedRoots: [root], env, maxBytes: 1024 * 1024 * 1024 } });
      runsMs.push(performance.now() - start);
      const openedEntries = opened.stats().tiers[0].entries;
      if (openedEntries !== options.openEntries) throw new Error(`bench: opened ${openedEntries} entries, expected ${options.openEntries}`);
      const reconcileStart = performance.now();
      await opened.ready();
      reconcileMs = performance.now() - reconcileStart;
      await opened.close();
    }

    const memoryHit = microsecondSummary(memoryHist);
    const floor = microsecondSummary(floorHist);
    return {
      options,
      memoryHit,
      floor,
      memoryToFloorRatio: memoryHit.p50 / floor.p50,
      diskHit4KiB: microsecondSummary(diskHist),
      set4KiB: microsecondSummary(setHist),
      open: { entries: options.openEntries, medianMs: median(runsMs), runsMs, reconcileMs },
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

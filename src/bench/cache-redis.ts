/**
 * `agentperf bench cache --redis`: the Redis tier on loopback. A verified hit of a 4 KiB entry
 * (memory too small to hold it, so every read goes to Redis and is checked); what the tier adds
 * to a miss (a lookup of an absent key, against a memory-only cache in the same interleaved
 * rounds); and the hit rate and upstream calls of three instances against one with the same
 * traffic, with and without the shared Redis (instances are stacks of their own, each with its
 * own link, calling one simulator that counts what reaches it).
 */
import { canonicalRequest, keyOfCanonical } from '../cache/key.js';
import { ResponseCache } from '../cache/response-cache.js';
import { orderForRound } from '../measure/interleave.js';
import { startSimulator } from '../providers/simulator/server.js';
import { createAnthropicProvider } from '../providers/anthropic.js';
import { openCache, openStack, type Stack } from '../stack.js';
import { loadAgents } from '../config/agents.js';
import { microsecondSummary, nanosecondHistogram, type PercentileSummary } from '../stats/hdr.js';
import { Cancellation } from '../cancellation.js';
import { systemClock } from '../clock.js';
import { rootLogger } from '../logger.js';
import { RedisLink } from '../redis/link.js';
import { RedisSingleFlight } from '../redis/single-flight.js';
import { paramsFor, responseOfSize, SCOPE } from './cache.js';

export interface RedisCacheBenchOptions {
  url: string;
  hitIterations: number;
  missRounds: number;
  /** The traffic of the instance comparison: questions, each asked this many times. */
  questions: number;
  repeats: number;
}

export const DEFAULT_REDIS_CACHE_BENCH = { hitIterations: 20_000, missRounds: 20, questions: 60, repeats: 5 };

export interface InstancesFigure {
  instances: number;
  redis: boolean;
  calls: number;
  /** Calls answered without an upstream call of their own (cache hits, and calls that shared another's). */
  hitRate: number;
  upstreamCalls: number;
}

export interface RedisCacheBenchResult {
  options: RedisCacheBenchOptions;
  redisHit4KiB: PercentileSummary;
  /** A lookup of an absent key through memory and Redis, and through memory alone, in the same rounds. */
  missWithRedis: PercentileSummary;
  missMemoryOnly: PercentileSummary;
  /** What Redis adds to a miss (p50 against p50), µs. */
  missAddedUs: number;
  /** Taking a single-flight lease, the orchestrator's other Redis step before it goes upstream. */
  leaseTake: PercentileSummary;
  instances: InstancesFigure[];
}

const elapsedNs = (start: bigint) => Number(process.hrtime.bigint() - start);
const SECRET_ENV = { AGENTPERF_CACHE_SECRET: 'r'.repeat(40) };

export async function benchCacheRedis(options: RedisCacheBenchOptions): Promise<RedisCacheBenchResult> {
  // Its own namespace, cleared before and after: the bench never reads what something else stored.
  const namespace = `bench-${process.pid}`;
  const redis = { url: options.url, namespace, timeoutMs: 1_000 };
  const withRedis = (await openCache({ kind: 'memory', maxBytes: 1, redis, env: SECRET_ENV }))!;
  const memoryOnly = await ResponseCache.open({ memoryMaxBytes: 1 });
  try {
    await withRedis.clear();
    const keys = Array.from({ length: 500 }, (_, i) => keyOfCanonical(canonicalRequest(SCOPE, paramsFor(i))));
    for (const [i, key] of keys.entries()) await withRedis.set(key, responseOfSize(i, 4096));
    // Warm: the client, the script cache and the JIT, untimed.
    for (let i = 0; i < 1_000; i++) await withRedis.fromTiers(keys[i % keys.length]);
    const hits = nanosecondHistogram();
    for (let i = 0; i < options.hitIterations; i++) {
      const start = process.hrtime.bigint();
      const hit = await withRedis.fromTiers(keys[i % keys.length]);
      hits.recordValue(elapsedNs(start));
      if (hit?.tier !== 'redis') throw new Error('bench: a Redis read missed');
    }
    // Misses: keys nobody stored, through both caches, interleaved in rounds of 200.
    const missWith = nanosecondHistogram();
    const missWithout = nanosecondHistogram();
    const timeMisses = async (cache: ResponseCache, histogram: typeof missWith, round: number) => {
      for (let i = 0; i < 200; i++) {
        const key = keyOfCanonical(canonicalRequest(SCOPE, paramsFor(1_000_000 + round * 200 + i)));
        const start = process.hrtime.bigint();
        if (await cache.fromTiers(key)) throw new Error('bench: an absent key was found');
        histogram.recordValue(elapsedNs(start));
      }
    };
    for (let r = 0; r < options.missRounds; r++)
      for (const [cache, histogram] of orderForRound(
        [
          [withRedis, missWith],
          [memoryOnly, missWithout],
        ] as const,
        r,
      ))
        await timeMisses(cache, histogram, r);
    // The orchestrator's other Redis step on a miss: taking the single-flight lease (its release
    // runs in the background once the answer is stored).
    const link = RedisLink.open({ ...redis, logger: rootLogger });
    const leases = nanosecondHistogram();
    try {
      await link.connected(2_000);
      const flight = new RedisSingleFlight({ link, read: () => Promise.resolve(undefined), clock: systemClock });
      for (let i = 0; i < options.missRounds * 100; i++) {
        const start = process.hrtime.bigint();
        const joined = await flight.join(`lease-${i}`, new Cancellation(), Number.MAX_SAFE_INTEGER);
        leases.recordValue(elapsedNs(start));
        if (joined.kind !== 'lead') throw new Error(`bench: a lease was not taken (${joined.kind})`);
        joined.lease.release();
      }
    } finally {
      await link.close();
    }
    const missWithRedis = microsecondSummary(missWith);
    const missMemoryOnly = microsecondSummary(missWithout);
    return {
      options,
      redisHit4KiB: microsecondSummary(hits),
      missWithRedis,
      missMemoryOnly,
      missAddedUs: missWithRedis.p50 - missMemoryOnly.p50,
      leaseTake: microsecondSummary(leases),
      instances: [
        await instancesRun(options, 1, undefined),
        await instancesRun(options, 3, undefined),
        await instancesRun(options, 3, { ...redis, namespace: `${namespace}-instances` }),
      ],
    };
  } finally {
    await withRedis.clear().catch(() => {});
    await withRedis.close();
    await memoryOnly.close();
  }
}

/** The same traffic (each question asked `repeats` times, 20 calls at once, round-robin) over `n` instances. */
async function instancesRun(
  options: RedisCacheBenchOptions,
  n: number,
  redis: { url: string; namespace: string; timeoutMs: number } | undefined,
): Promise<InstancesFigure> {
  const simulator = await startSimulator({ latency: { model: { kind: 'fixed', ms: 20 }, perOutputTokenMs: 0 } });
  const agents = await loadAgents();
  const stacks: Stack[] = [];
  try {
    for (let i = 0; i < n; i++)
      stacks.push(
        await openStack({
          agents,
          provider: { kind: 'given', provider: createAnthropicProvider({ apiKey: 'bench', baseURL: simulator.url }) },
          cache: { kind: 'memory', ...(redis ? { redis } : {}), env: SECRET_ENV },
        }),
      );
    const agent = agents[0].name;
    const tasks = Array.from({ length: options.questions * options.repeats }, (_, i) => `instances question ${i % options.questions}`);
    // Each repeat of a question lands on the next instance: a question's answer stays with the
    // instance that asked it unless the instances share it.
    const instanceOf = (t: number) => (t + Math.floor(t / options.questions)) % n;
    let answered = 0;
    for (let wave = 0; wave < tasks.length; wave += 20) {
      const results = await Promise.all(tasks.slice(wave, wave + 20).map((task, i) => stacks[instanceOf(wave + i)].orchestrator.executeAgent(agent, task)));
      // Answered without an upstream call of its own: a cache hit, or a share of another call's (in this process or another).
      answered += results.filter((r) => r.cached || r.coalesced).length;
    }
    return { instances: n, redis: redis !== undefined, calls: tasks.length, hitRate: answered / tasks.length, upstreamCalls: simulator.stats().requests };
  } finally {
    if (redis) await stacks[0]?.cache?.clear().catch(() => {});
    for (const stack of stacks) await stack.close();
    await simulator.close();
  }
}

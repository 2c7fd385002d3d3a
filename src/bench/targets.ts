// Every benchmark's targets in one place: the benches measure against them and the report
// (src/report/bench.ts, a leaf) prints them, without importing a runner.

/** What the generator may spend waiting and scheduling at each rate, in % of one core (issue 17). */
export const SCHEDULER_CPU_TARGETS: Record<number, number> = { 500: 3, 5_000: 10 };
export const SCHEDULER_LAG_P99_TARGET_MS = 2;
/** The known-latency target of the accuracy check: every iteration takes this long. */
export const KNOWN_LATENCY_MS = 20;

export const PLANNING_TARGETS_MS: Record<number, number> = { 1_000: 1, 100_000: 150, 1_000_000: 2_000 };

export const CPU_TARGET_PCT = 5;
export const CPU_MOONSHOT_PCT = 2;
/** The precision the standard workload's figure must reach: its 95% interval at most this wide, in points. */
export const OVERHEAD_INTERVAL_TARGET_POINTS = 1;

/** The target: at most this many µs of main-thread CPU per upstream call. */
export const OWN_COST_TARGET_US = 10;

/** The analysis may hold at most this share of the heap it analyses. */
export const SNAPSHOT_MEMORY_TARGET = 0.25;

export const STARTUP_TARGET_MS = 300;

/** `bench streaming` (issue 27): time to first chunk added, CPU per relayed chunk, instrumentation's share of a streamed call, a cached replay's first chunk. */
export const STREAMING_TARGETS = { addedTtfcMs: 0.3, cpuPerChunkUs: 5, instrumentationPct: 5, replayFirstChunkUs: 50 } as const;

import { z } from 'zod';
import { parseConfig, readJsonFile } from './read.js';
import { ConfigError } from '../errors.js';

/**
 * The metrics the gate judges against a tolerance: latency, throughput, CPU (the process's and
 * the main thread's, per iteration), errors, memory, and for a scenario that streams its time to
 * first chunk (p95) and output tokens per second.
 */
export const METRICS = [
  'p50',
  'p95',
  'p99',
  'throughput',
  'cpu',
  'mainThread',
  'errorRate',
  'peakRss',
  'heapAfterGc',
  'ttfcP95',
  'outputTokensPerSecond',
] as const;
export type MetricName = (typeof METRICS)[number];

/** Metrics added after policies were first stored: a stored policy without them reads them as the default's. */
const LATER_METRICS: Partial<Record<MetricName, number>> = { ttfcP95: 0.1, outputTokensPerSecond: 0.1 };

/** How a gated scenario's blocks run unless the policy says otherwise: 20 closed-loop users, 1 s of warmup, 2 s measured. */
export const DEFAULT_BLOCK = { settings: {}, vus: 20, warmupMs: 1000, durationMs: 2000 } as const;

const GatedScenario = z.union([
  // A name alone gates that scenario with the default blocks.
  z
    .string()
    .min(1)
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- needed: without it the settings of a scenario given by name are typed {}
    .transform((name) => ({ name, ...DEFAULT_BLOCK, settings: {} as Record<string, string> })),
  z
    .object({
      name: z.string().min(1),
      settings: z.record(z.string(), z.string()).default({}),
      vus: z.number().int().min(1).max(10_000).default(DEFAULT_BLOCK.vus),
      warmupMs: z.number().int().min(0).default(DEFAULT_BLOCK.warmupMs),
      durationMs: z.number().int().min(100).default(DEFAULT_BLOCK.durationMs),
    })
    .strict(),
]);

const Tolerance = z.number().min(0).max(10);
export const PolicySchema = z
  .object({
    scenarios: z.array(GatedScenario).min(1).max(100),
    tolerances: z
      .object(
        Object.fromEntries(METRICS.map((m) => [m, LATER_METRICS[m] === undefined ? Tolerance : Tolerance.default(LATER_METRICS[m])])) as Record<
          MetricName,
          typeof Tolerance
        >,
      )
      .strict(),
    floors: z.object({ errorRate: z.number().min(0).max(1), peakRssBytes: z.number().min(0), heapAfterGcBytes: z.number().min(0) }).strict(),
    slos: z.record(
      z.string(),
      z
        .object({
          p95Ms: z.number().positive().optional(),
          p99Ms: z.number().positive().optional(),
          errorRate: z.number().min(0).max(1).optional(),
          throughput: z.number().min(0).optional(),
        })
        .strict(),
    ),
    /** Pairs (or candidate blocks) at the first look, added per look after it, and at most. */
    blocks: z.object({ initial: z.number().int().min(3).max(100), step: z.number().int().min(1).max(100), max: z.number().int().min(3).max(1000) }).strict(),
    /** How long the whole gate may measure, in ms: it adds blocks while a metric is undecided and this allows. */
    budgetMs: z.number().int().min(1000),
    overhead: z
      .object({
        pairs: z.number().int().min(0).max(1000),
        /** The most throughput instrumentation may cost, in %: an absolute limit, judged against the base's own figure. */
        maxPct: z.number().min(0).max(100),
        /**
         * The most main-thread CPU per iteration instrumentation may add, in %: reported by `run`
         * (a warning beyond it), not yet a gated metric. Older policies without it mean 5.
         */
        cpuMaxPct: z.number().min(0).max(1000).default(5),
        /** How many points more than the base's the candidate's overhead may cost. */
        tolerancePct: z.number().min(0).max(100),
        /** Iterations per slice, also the built-in scenarios' cycle; without it, slices of `sliceMs`. */
        sliceIterations: z.number().int().min(10).max(1_000_000).optional(),
        sliceMs: z.number().int().min(20).max(60_000),
        warmupPairs: z.number().int().min(0).max(100),
      })
      .strict(),
    /** Stored mode: how far this machine may measure from the baseline's on the reference workload, in %. */
    calibration: z.object({ bandPct: z.number().gt(0).max(100) }).strict(),
    alpha: z.number().gt(0).lt(0.5),
    inconclusive: z.enum(['exit3', 'pass', 'fail']),
  })
  .strict();

export type GatePolicy = z.infer<typeof PolicySchema>;

/**
 * The default policy: the `mixed` scenario (the standard workload), 10% tolerances (CodSpeed's
 * default regression threshold too; 15% for p99, the noisiest from block to block), the source
 * documents' SLOs, and a budget that keeps the default gate within 3 minutes on a 2-core
 * machine. Pairs are added while any metric is undecided: 5 at the first look, 3 more at each
 * look after it, up to 30 (10 looks in all, each at alpha / 10).
 */
export const DEFAULT_POLICY: GatePolicy = {
  scenarios: [{ name: 'mixed', ...DEFAULT_BLOCK, settings: {} }],
  tolerances: {
    p50: 0.1,
    p95: 0.1,
    p99: 0.15,
    throughput: 0.1,
    cpu: 0.1,
    mainThread: 0.1,
    errorRate: 0.1,
    peakRss: 0.1,
    heapAfterGc: 0.1,
    ttfcP95: 0.1,
    outputTokensPerSecond: 0.1,
  },
  floors: { errorRate: 0.001, peakRssBytes: 16 * 2 ** 20, heapAfterGcBytes: 4 * 2 ** 20 },
  slos: { mixed: { p95Ms: 500, p99Ms: 1000, errorRate: 0.01, throughput: 5 } },
  blocks: { initial: 5, step: 3, max: 30 },
  // 300 s: on a noisy 2-core runner 150 s (about 11 pairs) caught a 25% regression of a
  // service's own code in only 8 of 12 paired gates; about 22 pairs are needed (README, "Pairs until decided").
  budgetMs: 300_000,
  // 600-iteration slices: whole cycles of the built-in scenarios' questions.
  overhead: { pairs: 12, maxPct: 5, cpuMaxPct: 5, tolerancePct: 2, sliceIterations: 600, sliceMs: 250, warmupPairs: 3 },
  calibration: { bandPct: 15 },
  alpha: 0.05,
  inconclusive: 'exit3',
};

/**
 * The default policy of a project that names its own scenarios: the same rules, gating those
 * scenarios with the default blocks, and overhead slices sized by time (a project's scenario
 * has no cycle of questions to repeat, and its iterations may take a microsecond or a second).
 */
export function projectDefaultPolicy(scenarios: readonly string[]): GatePolicy {
  const { sliceIterations: _cycle, ...overhead } = DEFAULT_POLICY.overhead;
  return { ...DEFAULT_POLICY, scenarios: scenarios.map((name) => ({ name, ...DEFAULT_BLOCK, settings: {} })), overhead };
}

/**
 * Policy overrides on top of the defaults, field by field (objects merged one level deep):
 * a policy file, or the `gate` section of the project config.
 */
export function mergePolicy(raw: unknown, file?: string, base: GatePolicy = DEFAULT_POLICY, at?: string): GatePolicy {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(at ?? 'policy', `${at ?? 'the policy'} must be an object`, file);
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const under = (base as Record<string, unknown>)[key];
    merged[key] =
      under && typeof under === 'object' && !Array.isArray(under) && value && typeof value === 'object' && !Array.isArray(value)
        ? { ...under, ...value }
        : value;
  }
  const policy = parseConfig(merged, PolicySchema, file, at);
  const field = at ? `${at}.blocks.max` : 'blocks.max';
  if (policy.blocks.max < policy.blocks.initial) throw new ConfigError(field, `${field} must be at least ${at ? `${at}.` : ''}blocks.initial`, file);
  return policy;
}

/** A policy file (JSON) over the defaults; no file: the defaults. */
export async function loadPolicy(file: string | undefined, base: GatePolicy = DEFAULT_POLICY): Promise<GatePolicy> {
  if (!file) return base;
  return mergePolicy(await readJsonFile(file, 'policy'), file, base);
}

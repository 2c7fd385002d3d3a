import { z } from 'zod';
import { parseConfig, readJsonFile } from './read.js';
import { ConfigError } from '../errors.js';

/** The metrics the gate judges against a tolerance: latency, throughput, CPU (the process's and the main thread's, per iteration), errors, memory. */
export const METRICS = ['p50', 'p95', 'p99', 'throughput', 'cpu', 'mainThread', 'errorRate', 'peakRss', 'heapAfterGc'] as const;
export type MetricName = (typeof METRICS)[number];

/** How a gated scenario's blocks run unless the policy says otherwise: 20 closed-loop users, 1 s of warmup, 2 s measured. */
export const DEFAULT_BLOCK = { settings: {}, vus: 20, warmupMs: 1000, durationMs: 2000 } as const;

const GatedScenario = z.union([
  // A name alone gates that scenario with the default blocks.
  z.string().min(1).transform((name) => ({ name, ...DEFAULT_BLOCK, settings: {} as Record<string, string> })),
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
    scenarios: z.array(GatedScenario).min(1),
    tolerances: z.object(Object.fromEntries(METRICS.map((m) => [m, Tolerance])) as Record<MetricName, typeof Tolerance>).strict(),
    floors: z.object({ errorRate: z.number().min(0).max(1), peakRssBytes: z.number().min(0), heapAfterGcBytes: z.number().min(0) }).strict(),
    slos: z.record(z.string(), z.object({ p95Ms: z.number().positive().optional(), p99Ms: z.number().positive().optional(), errorRate: z.number().min(0).max(1).optional(), throughput: z.number().min(0).optional() }).strict()),
    blocks: z.object({ initial: z.number().int().min(3).max(100), step: z.number().int().min(1).max(100), max: z.number().int().min(3).max(1000) }).strict(),
    budgetMs: z.number().int().min(1000),
    overhead: z.object({ pairs: z.number().int().min(0).max(1000), maxPct: z.number().min(0).max(100), sliceIterations: z.number().int().min(10).max(1_000_000), warmupPairs: z.number().int().min(0).max(100) }).strict(),
    alpha: z.number().gt(0).lt(0.5),
    inconclusive: z.enum(['exit3', 'pass', 'fail']),
  })
  .strict();

export type GatePolicy = z.infer<typeof PolicySchema>;

/**
 * The default policy: the `mixed` scenario (the standard workload), 10% tolerances (15% for p99
 * and for CPU per iteration, the noisiest from block to block), the source documents' SLOs, and
 * a budget that keeps the default gate within 3 minutes on a 2-core machine.
 */
export const DEFAULT_POLICY: GatePolicy = {
  scenarios: [{ name: 'mixed', ...DEFAULT_BLOCK, settings: {} }],
  tolerances: { p50: 0.1, p95: 0.1, p99: 0.15, throughput: 0.1, cpu: 0.15, mainThread: 0.15, errorRate: 0.1, peakRss: 0.1, heapAfterGc: 0.1 },
  floors: { errorRate: 0.001, peakRssBytes: 16 * 2 ** 20, heapAfterGcBytes: 4 * 2 ** 20 },
  slos: { mixed: { p95Ms: 500, p99Ms: 1000, errorRate: 0.01, throughput: 5 } },
  blocks: { initial: 5, step: 2, max: 11 },
  budgetMs: 150_000,
  overhead: { pairs: 12, maxPct: 5, sliceIterations: 600, warmupPairs: 3 },
  alpha: 0.05,
  inconclusive: 'exit3',
};

/**
 * Policy overrides on top of the defaults, field by field (objects merged one level deep):
 * a policy file, or the `gate` section of the project config.
 */
export function mergePolicy(raw: unknown, file?: string, base: GatePolicy = DEFAULT_POLICY, at?: string): GatePolicy {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(at ?? 'policy', `${at ?? 'the policy'} must be an object`, file);
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const under = (base as Record<string, unknown>)[key];
    merged[key] = under && typeof under === 'object' && !Array.isArray(under) && value && typeof value === 'object' && !Array.isArray(value) ? { ...under, ...value } : value;
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

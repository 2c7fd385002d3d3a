/**
 * The stored baseline file (`<scenario>.<class>.json`), as a schema with bounds: a baseline is
 * input like any other, hand-edited or truncated as easily as a config, and the gate reads it
 * on the CI runner. Every number is finite and in a range a real measurement has, every list
 * and string is bounded, errors never exceed the iterations they happened in.
 */
import { z } from 'zod';
import { PolicySchema } from './policy.js';

/** v3: the calibration sampled between the blocks, the overhead's slices, and the policy the baseline was recorded under. */
export const BASELINE_SCHEMA = 'agentperf.baseline/v3';

/** A baseline file larger than this is refused before it is read (a real one is some tens of KiB). */
export const MAX_BASELINE_BYTES = 4 * 2 ** 20;

/** The most blocks a baseline may hold (`baseline update --blocks` stores at most this many). */
export const MAX_BASELINE_BLOCKS = 500;

const SCENARIO_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
const text = (max: number) => z.string().max(max);
const nonNegative = (max: number) => z.number().min(0).max(max);
const count = (max: number) => z.number().int().min(0).max(max);

const FingerprintSchema = z
  .object({
    cpuModel: text(256),
    cores: z.number().int().min(1).max(4096),
    memoryGiB: z
      .number()
      .positive()
      .max(2 ** 20),
    node: text(32),
    platform: text(32),
    arch: text(32),
    agentperf: text(32),
  })
  .strict();

const CalibrationSchema = z
  .object({
    threads: z.number().int().min(1).max(4096),
    samples: z
      .array(z.number().positive().max(1e7))
      .min(1)
      .max(2 * MAX_BASELINE_BLOCKS + 1),
  })
  .strict();

const BlockSpecSchema = z
  .object({
    scenario: z.string().regex(SCENARIO_NAME, 'must be a scenario name'),
    settings: z.record(text(64), text(4096)).refine((s) => Object.keys(s).length <= 64, 'must have at most 64 settings'),
    vus: z.number().int().min(1).max(10_000),
    warmupMs: count(3_600_000),
    durationMs: z.number().int().min(1).max(3_600_000),
    seed: count(2 ** 32 - 1),
  })
  .strict();

const BlockResultSchema = z
  .object({
    p50Ms: nonNegative(1e8),
    p95Ms: nonNegative(1e8),
    p99Ms: nonNegative(1e8),
    throughput: nonNegative(1e9),
    completed: z.number().int().min(1).max(1e12),
    errors: count(1e12),
    peakRssBytes: nonNegative(2 ** 50),
    heapAfterGcBytes: nonNegative(2 ** 50),
    cpuUsPerIteration: nonNegative(1e10),
    busyUsPerIteration: nonNegative(1e10),
    busySource: z.enum(['thread-cpu', 'event-loop']),
    // A scenario that streams (recorded since the gate judges them; absent in older baselines).
    ttfcP95Ms: nonNegative(1e8).optional(),
    outputTokensPerSecond: nonNegative(1e9).optional(),
  })
  .strict()
  .refine((b) => b.errors <= b.completed, { path: ['errors'], message: 'must be at most completed (errors are counted among the completed iterations)' });

const SliceSchema = z
  .object({
    instrumented: z.boolean(),
    durationMs: z.number().positive().max(1e8),
    iterations: z.number().int().min(1).max(1e10),
    errors: count(1e10),
    cpuUs: nonNegative(1e13),
    busyUs: nonNegative(1e13),
  })
  .strict()
  .refine((s) => s.errors <= s.iterations, { path: ['errors'], message: 'must be at most iterations' });

const ProcessSlicesSchema = z
  .array(SliceSchema)
  .min(2)
  .max(2_000)
  .refine(
    (slices) => slices.filter((s) => s.instrumented).length === slices.filter((s) => !s.instrumented).length,
    'must pair every slice with instrumentation on with one with it off',
  );

/** The overhead's slices, per process it was measured in. */
const OverheadSchema = z.object({ processes: z.array(ProcessSlicesSchema).min(1).max(16) }).strict();

const FunctionCostSchema = z
  .object({
    name: text(1024),
    location: text(4096),
    selfMs: nonNegative(1e9),
    totalMs: nonNegative(1e9),
    selfPct: nonNegative(100),
    totalPct: nonNegative(100),
  })
  .strict();

export const BaselineSchema = z
  .object({
    schema: z.literal(BASELINE_SCHEMA),
    scenario: z.string().regex(SCENARIO_NAME, 'must be a scenario name'),
    fingerprint: FingerprintSchema,
    calibration: CalibrationSchema,
    createdAt: z.iso.datetime(),
    spec: BlockSpecSchema,
    blocks: z.array(BlockResultSchema).min(2).max(MAX_BASELINE_BLOCKS),
    /** The observability overhead measured with it: for each process, its pairs of slices, off and on. */
    overhead: OverheadSchema.optional(),
    /** The gate policy the baseline was recorded under: the trusted policy of a gate against it. */
    policy: PolicySchema,
    /** The top functions by self time, to say which grew when the gate fails. */
    profile: z.array(FunctionCostSchema).max(100).optional(),
  })
  .strict();

export type Baseline = z.infer<typeof BaselineSchema>;

/**
 * The gate's decision procedure run on simulated blocks: how often a gate FAILs unchanged code,
 * and how often it catches a regression, with the looks, the Holm correction and the FAIL rule
 * exactly as `gatePaired` applies them. The block noise is set per metric from what blocks of
 * the standard workload showed on a 2-core machine (test/gate/error-rates.test.ts; the README
 * quotes the table).
 */
import type { GatePolicy } from '../config/policy.js';
import type { BlockResult } from '../measure/block.js';
import { normalFrom } from '../random.js';
import { judge, looksOf, type Verdict } from './verdict.js';

/** Block-to-block spread of each metric (standard deviation of its log), heavy-tailed. */
export interface BlockNoise {
  latency: number;
  throughput: number;
  cpu: number;
  mainThread: number;
  memory: number;
  /**
   * A per-block process speed (standard deviation of its log), shared by the block's latency,
   * throughput and CPU: fresh processes of the same code run at persistent different speeds on
   * a shared host (README, "Calibration"), which the per-metric noise above does not model.
   */
  process?: number;
}

/** What blocks of the standard workload showed here, quiet (1 s warmup, 2 s measured). */
export const MEASURED_NOISE: BlockNoise = { latency: 0.025, throughput: 0.015, cpu: 0.06, mainThread: 0.09, memory: 0.01 };

/** A regression as ratios of each metric (1 = unchanged). */
export interface Shift {
  latency?: number;
  throughput?: number;
  cpu?: number;
}

/** Student t with 3 degrees of freedom, scaled to unit standard deviation: heavy tails. */
function heavy(random: () => number): number {
  const z = normalFrom(random);
  const chi = (normalFrom(random) ** 2 + normalFrom(random) ** 2 + normalFrom(random) ** 2) / 3;
  return z / Math.sqrt(chi) / Math.sqrt(3);
}

function block(noise: BlockNoise, shift: Shift, random: () => number): BlockResult {
  const n = (sd: number) => Math.exp(sd * heavy(random));
  const slower = noise.process ? Math.exp(noise.process * normalFrom(random)) : 1;
  const lat = (shift.latency ?? 1) * slower * n(noise.latency);
  return {
    p50Ms: 20 * lat,
    p95Ms: 120 * lat * n(noise.latency / 2),
    p99Ms: 220 * lat * n(noise.latency),
    throughput: (540 * (shift.throughput ?? 1) * n(noise.throughput)) / slower,
    completed: 1000,
    errors: 0,
    peakRssBytes: 170 * 2 ** 20 * n(noise.memory),
    heapAfterGcBytes: 26 * 2 ** 20 * n(noise.memory),
    cpuUsPerIteration: 1100 * (shift.cpu ?? 1) * slower * n(noise.cpu),
    busyUsPerIteration: 600 * (shift.cpu ?? 1) * slower * n(noise.mainThread),
    busySource: 'thread-cpu',
  };
}

/** Runs `gates` simulated paired gates of the policy and counts their verdicts, and FAILs on `target` metrics. */
export function simulateGates(
  policy: GatePolicy,
  noise: BlockNoise,
  shift: Shift,
  gates: number,
  random: () => number,
  target?: (metric: string) => boolean,
  looks = looksOf(policy),
): Record<Verdict, number> & { onTarget: number; meanPairs: number } {
  const counts = { PASS: 0, FAIL: 0, INCONCLUSIVE: 0, onTarget: 0, meanPairs: 0 };
  for (let g = 0; g < gates; g++) {
    const a: BlockResult[] = [];
    const b: BlockResult[] = [];
    let overall: Verdict = 'INCONCLUSIVE';
    let failed: string[] = [];
    for (;;) {
      const want = a.length < policy.blocks.initial ? policy.blocks.initial : Math.min(policy.blocks.max, a.length + policy.blocks.step);
      while (a.length < want) {
        a.push(block(noise, {}, random));
        b.push(block(noise, shift, random));
      }
      const j = judge({ scenario: 'simulated', baseline: a, candidate: b, paired: true, policy: { ...policy, slos: {} }, looks });
      overall = j.overall;
      failed = j.metrics.filter((m) => m.verdict === 'FAIL').map((m) => m.metric);
      if (overall !== 'INCONCLUSIVE' || a.length >= policy.blocks.max) break;
    }
    counts[overall]++;
    counts.meanPairs += a.length / gates;
    if (failed.some((m) => !target || target(m))) counts.onTarget++;
  }
  return counts;
}

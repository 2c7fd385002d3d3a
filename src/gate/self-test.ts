import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_POLICY, type GatePolicy } from '../config/policy.js';
import { currentProject } from '../config/project.js';
import { gateAgainstBaselines, gatePaired, updateBaseline } from './run.js';
import type { Verdict } from './verdict.js';

/**
 * The gate's validation on the synthetic scenario (CPU work of a set size, so a slowdown is a
 * parameter): A/A gates of identical code must almost never FAIL, paired gates with 10% more
 * work must almost always FAIL, and gates with 20% more work against a stored baseline too.
 * The synthetic gate uses a 5% tolerance: a regression of exactly the tolerance can never be
 * credibly beyond it, so catching 10% needs a tolerance under 10%.
 */
export const SELF_TEST_POLICY: GatePolicy = {
  ...DEFAULT_POLICY,
  scenarios: [{ name: 'synthetic', settings: {}, vus: 1, warmupMs: 300, durationMs: 700 }],
  tolerances: { p50: 0.05, p95: 0.05, p99: 0.1, throughput: 0.05, errorRate: 0.1, peakRss: 0.1, heapAfterGc: 0.1 },
  slos: {},
  overhead: { pairs: 0, maxPct: 5 },
  blocks: { initial: 5, step: 2, max: 11 },
};

export interface SelfTestRow {
  name: string;
  gates: number;
  verdicts: Record<Verdict, number>;
  requirement: string;
  met: boolean;
}

export interface SelfTestResult {
  rows: SelfTestRow[];
  elapsedMs: number;
}

async function repeat(n: number, gate: () => Promise<Verdict>, progress: (line: string) => void, name: string): Promise<Record<Verdict, number>> {
  const verdicts: Record<Verdict, number> = { PASS: 0, FAIL: 0, INCONCLUSIVE: 0 };
  for (let i = 0; i < n; i++) {
    const v = await gate();
    verdicts[v]++;
    progress(`${name}: gate ${i + 1}/${n}: ${v}`);
  }
  return verdicts;
}

export async function gateSelfTest(gates: number, progress: (line: string) => void): Promise<SelfTestResult> {
  const startedAt = performance.now();
  const root = (await currentProject()).root; // the synthetic scenario is built in: any project runs it
  const quiet = () => {};
  const policy = SELF_TEST_POLICY;
  const same = await repeat(gates, async () => (await gatePaired({ root, settings: { factor: '1' } }, { root, settings: { factor: '1' } }, policy, quiet)).overall, progress, 'A/A paired');
  const slower10 = await repeat(gates, async () => (await gatePaired({ root, settings: { factor: '1' } }, { root, settings: { factor: '1.1' } }, policy, quiet)).overall, progress, '10% slower, paired');
  const dir = await mkdtemp(join(tmpdir(), 'agentperf-baselines-'));
  let slower20: Record<Verdict, number>;
  try {
    await updateBaseline(root, dir, policy, 'synthetic', 9, quiet);
    const candidate: GatePolicy = { ...policy, scenarios: [{ ...policy.scenarios[0]!, settings: { factor: '1.2' } }] };
    slower20 = await repeat(gates, async () => (await gateAgainstBaselines(root, dir, candidate, quiet)).overall, progress, '20% slower, stored baseline');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const allowedFalse = Math.max(1, Math.floor(gates / 20));
  const needCaught = gates - Math.max(1, Math.floor(gates / 20));
  return {
    rows: [
      { name: 'A/A: identical code, paired', gates, verdicts: same, requirement: `at most ${allowedFalse} FAIL (target 0)`, met: same.FAIL <= allowedFalse },
      { name: '10% slower candidate, paired', gates, verdicts: slower10, requirement: `caught (FAIL) at least ${needCaught} times`, met: slower10.FAIL >= needCaught },
      { name: '20% slower candidate, stored baseline', gates, verdicts: slower20, requirement: `caught (FAIL) at least ${needCaught} times`, met: slower20.FAIL >= needCaught },
    ],
    elapsedMs: performance.now() - startedAt,
  };
}

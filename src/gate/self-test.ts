/**
 * The gate's validation, on this machine, with the gate's own rules: paired gates of unchanged
 * code must almost never FAIL, and paired gates of a regressed candidate must almost always
 * FAIL, each case twice: on a quiet machine, and with a busy-loop process beside it (`noise`).
 * Two workloads:
 *
 * - the standard workload (the built-in `mixed` scenario, through the orchestrator), the
 *   overhead metric included, with the regressions a team ships, set through its settings:
 *   every upstream call 15% slower (`latencyScale=1.15`: the simulator's latency); a quarter
 *   more CPU on every upstream call, latency otherwise unchanged (`upstreamCpuUs`: busy work
 *   before each call, 25% of the process CPU an upstream call costs, measured first); a
 *   costlier instrumentation (`simulatedCostUs` in every traced call), set so that the overhead
 *   comes to about 10% of throughput, twice the 5% limit;
 * - a service like a user's (the built-in `service` scenario: its own CPU work, then an SDK call
 *   to the zero-latency simulator in the same process), gated with the defaults a project's own
 *   scenario gets, whose own code becomes 25% slower (`ownWorkScale=1.25`).
 *
 * The mixed cases use shorter blocks than the default gate (the policy below says which); the
 * rules are the same.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_BLOCK, DEFAULT_POLICY, projectDefaultPolicy, type GatePolicy } from '../config/policy.js';
import { runBlockProcess } from '../measure/block.js';
import { lostPct } from '../measure/overhead-figures.js';
import { runOverheadProcess } from '../measure/slices.js';
import { median } from '../stats/percentiles.js';
import { gatePaired, overheadSpecFor, specFor } from './run.js';
import type { Verdict } from './verdict.js';

/** The self-test's policy: the default gate's rules on the mixed scenario, with shorter blocks. */
export const SELF_TEST_POLICY: GatePolicy = {
  ...DEFAULT_POLICY,
  // 4 warm questions, not 256: a fresh process waits for the slowest of them before its block starts.
  scenarios: [{ ...DEFAULT_BLOCK, name: 'mixed', settings: { warm: '4' }, warmupMs: 400, durationMs: 800 }],
  // 5 pairs of 800 ms blocks make about 1,900 candidate iterations: zero errors in them bound
  // the rate under 0.2%, never under the default floor of 0.1%.
  floors: { ...DEFAULT_POLICY.floors, errorRate: 0.005 },
  overhead: { ...DEFAULT_POLICY.overhead, pairs: 8, sliceIterations: 200, warmupPairs: 1 },
  // The mixed cases' old maximum: 5 pairs, then 3 more, up to 8.
  blocks: { initial: 5, step: 3, max: 8 },
  budgetMs: 120_000,
};

export type SelfTestCaseName =
  | 'A/A'
  | 'upstream 15% slower'
  | 'a quarter more CPU per upstream call'
  | 'instrumentation costing 10% of throughput'
  | 'service A/A'
  | 'service: its own code 25% slower';

/**
 * The user-style service's gate: exactly the policy a project's own scenario gets by default
 * (projectDefaultPolicy), its blocks and overhead included, with a shorter budget (90 s, not
 * 150) so that 80 gates fit in the self-test; a shorter budget only ends undecided gates
 * sooner, as INCONCLUSIVE. 1,000 hashes make the service's own code about three quarters of an
 * iteration's main-thread CPU here (the rest is the SDK and the simulator).
 */
export const SERVICE_POLICY: GatePolicy = {
  ...projectDefaultPolicy(['service']),
  scenarios: [{ ...DEFAULT_BLOCK, name: 'service', settings: { rounds: '1000' } }],
  budgetMs: 90_000,
};

export interface SelfTestRow {
  name: SelfTestCaseName;
  noise: boolean;
  gates: number;
  verdicts: Record<Verdict, number>;
  /** Gates that FAILed on the metric the case is about (CPU, the overhead), or on any metric for the others. */
  failedOnTarget: number;
  requirement: string;
  met: boolean;
  elapsedMs: number;
}

export interface SelfTestResult {
  rows: SelfTestRow[];
  /** What the regressions were set to on this machine. */
  settings: { upstreamCpuUs: number; simulatedCostUs: number; simulatedCostLostPct: number };
  policy: GatePolicy;
  /** The policy of the user-style service's cases. */
  servicePolicy: GatePolicy;
  elapsedMs: number;
}

export interface SelfTestOptions {
  gates: number;
  /** Which conditions to run: quiet, busy (a CPU hog beside), or both (the default). */
  conditions?: Array<'quiet' | 'noise'>;
  cases?: SelfTestCaseName[];
  progress: (line: string) => void;
}

/** A busy loop in its own process: the neighbour a shared CI runner has. */
function startHog(): ChildProcess {
  return spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
}

/** 25% of the process CPU an upstream call costs, from plain blocks of the workload (about 3 in 5 calls go upstream). */
async function quarterOfUpstreamCpu(root: string, policy: GatePolicy): Promise<number> {
  const spec = specFor(policy.scenarios[0]);
  const blocks = [await runBlockProcess(root, spec), await runBlockProcess(root, spec)];
  return (0.25 * median(blocks.map((b) => b.cpuUsPerIteration))) / 0.6;
}

/**
 * The instrumentation cost per traced call that makes the overhead `targetPct` of throughput
 * here, within a point: measured with more and longer slices than a gate takes (so that the
 * figure is sure to a fraction of a point), and corrected by the secant through the last two
 * measurements (the loss grows with the cost, nearly in proportion).
 */
async function costForOverhead(
  root: string,
  policy: GatePolicy,
  targetPct: number,
  progress: (line: string) => void,
): Promise<{ costUs: number; lostPct: number }> {
  const precise: GatePolicy = { ...policy, overhead: { ...policy.overhead, pairs: 16, sliceIterations: 400, warmupPairs: 2 } };
  const measure = async (costUs: number) => {
    const m = await runOverheadProcess(root, overheadSpecFor(policy.scenarios[0], precise, {}, costUs));
    const lost = lostPct(m.throughput.estimate);
    progress(
      `  calibrating the costlier instrumentation: ${costUs.toFixed(0)} µs a call costs ${lost.toFixed(1)}% of throughput [${lostPct(m.throughput.high).toFixed(1)}, ${lostPct(m.throughput.low).toFixed(1)}]`,
    );
    return lost;
  };
  let previous = { costUs: 0, lost: await measure(0) };
  let current = { costUs: 1500, lost: await measure(1500) };
  for (let i = 0; i < 3 && Math.abs(current.lost - targetPct) > 1; i++) {
    const slope = (current.lost - previous.lost) / (current.costUs - previous.costUs);
    const next = slope > 0 ? current.costUs + (targetPct - current.lost) / slope : current.costUs * 1.5;
    previous = current;
    current = { costUs: Math.min(20_000, Math.max(50, next)), lost: 0 };
    current.lost = await measure(current.costUs);
  }
  return { costUs: current.costUs, lostPct: current.lost };
}

const requirements: Record<SelfTestCaseName, (gates: number) => { text: string; met: (row: Omit<SelfTestRow, 'requirement' | 'met'>) => boolean }> = {
  'A/A': (gates) => ({
    text: `at most ${Math.max(1, Math.floor(gates / 20))} FAIL in ${gates}`,
    met: (r) => r.verdicts.FAIL <= Math.max(1, Math.floor(gates / 20)),
  }),
  'upstream 15% slower': (gates) => ({
    text: `FAIL (blocking) at least ${gates - Math.max(1, Math.floor(gates / 20))} in ${gates}`,
    met: (r) => r.verdicts.FAIL >= gates - Math.max(1, Math.floor(gates / 20)),
  }),
  'a quarter more CPU per upstream call': (gates) => ({
    text: `FAIL on a CPU metric at least ${gates - Math.max(1, Math.floor(gates / 20))} in ${gates}`,
    met: (r) => r.failedOnTarget >= gates - Math.max(1, Math.floor(gates / 20)),
  }),
  'instrumentation costing 10% of throughput': (gates) => ({
    text: `FAIL on the overhead (limit 5%) at least ${gates - Math.max(1, Math.floor(gates / 20))} in ${gates}`,
    met: (r) => r.failedOnTarget >= gates - Math.max(1, Math.floor(gates / 20)),
  }),
  'service A/A': (gates) => ({
    text: `at most ${Math.max(1, Math.floor(gates / 20))} FAIL in ${gates}`,
    met: (r) => r.verdicts.FAIL <= Math.max(1, Math.floor(gates / 20)),
  }),
  'service: its own code 25% slower': (gates) => ({
    text: `FAIL (blocking) at least ${gates - Math.max(1, Math.floor(gates / 20))} in ${gates}`,
    met: (r) => r.verdicts.FAIL >= gates - Math.max(1, Math.floor(gates / 20)),
  }),
};

export const SELF_TEST_CASES: SelfTestCaseName[] = [
  'A/A',
  'upstream 15% slower',
  'a quarter more CPU per upstream call',
  'instrumentation costing 10% of throughput',
  'service A/A',
  'service: its own code 25% slower',
];
export const SERVICE_CASES: ReadonlySet<SelfTestCaseName> = new Set(['service A/A', 'service: its own code 25% slower']);

export async function gateSelfTest(options: SelfTestOptions): Promise<SelfTestResult> {
  const startedAt = performance.now();
  const policy = SELF_TEST_POLICY;
  // A directory of no project: `mixed` is the built-in workload, whatever project this runs from.
  const root = await mkdtemp(join(tmpdir(), 'agentperf-self-test-'));
  const quiet = () => {};
  try {
    const cases = options.cases ?? SELF_TEST_CASES;
    // The mixed cases' regressions are calibrated on this machine first (only when they run).
    const needs = (name: SelfTestCaseName) => cases.includes(name);
    options.progress('calibrating the regressions on this machine');
    const upstreamCpuUs = needs('a quarter more CPU per upstream call') ? await quarterOfUpstreamCpu(root, policy) : 0;
    if (upstreamCpuUs) options.progress(`  a quarter more CPU per upstream call: ${upstreamCpuUs.toFixed(0)} µs of busy work before each`);
    const overhead = needs('instrumentation costing 10% of throughput') ? await costForOverhead(root, policy, 10, options.progress) : { costUs: 0, lostPct: 0 };
    const candidateOf: Record<SelfTestCaseName, { settings: Record<string, string>; simulatedCostUs?: number; target?: (metric: string) => boolean }> = {
      'A/A': { settings: {} },
      'upstream 15% slower': { settings: { latencyScale: '1.15' } },
      'a quarter more CPU per upstream call': {
        settings: { upstreamCpuUs: String(Math.round(upstreamCpuUs)) },
        target: (m) => m === 'cpu' || m === 'mainThread',
      },
      'instrumentation costing 10% of throughput': { settings: {}, simulatedCostUs: overhead.costUs, target: (m) => m === 'overhead' },
      'service A/A': { settings: {} },
      'service: its own code 25% slower': { settings: { ownWorkScale: '1.25' } },
    };
    const rows: SelfTestRow[] = [];
    for (const condition of options.conditions ?? ['quiet', 'noise']) {
      for (const name of cases) {
        const hog = condition === 'noise' ? startHog() : undefined;
        const caseStarted = performance.now();
        try {
          const verdicts: Record<Verdict, number> = { PASS: 0, FAIL: 0, INCONCLUSIVE: 0 };
          let failedOnTarget = 0;
          const candidate = candidateOf[name];
          for (let i = 0; i < options.gates; i++) {
            const result = await gatePaired({ root }, { root, settings: candidate.settings }, SERVICE_CASES.has(name) ? SERVICE_POLICY : policy, quiet, {
              simulatedCostUs: candidate.simulatedCostUs,
              profileOnFail: false,
            });
            verdicts[result.overall]++;
            const failed = result.scenarios.flatMap((s) => s.judgement.metrics.filter((m) => m.verdict === 'FAIL').map((m) => m.metric));
            if (failed.length > 0 && (!candidate.target || failed.some(candidate.target))) failedOnTarget++;
            const undecided = result.scenarios.flatMap((s) => s.judgement.metrics.filter((m) => m.verdict === 'INCONCLUSIVE').map((m) => m.metric));
            const which = failed.length ? failed : result.overall === 'INCONCLUSIVE' ? undecided : [];
            options.progress(
              `${name}, ${condition}: gate ${i + 1}/${options.gates}: ${result.overall}${which.length ? ` (${which.join(', ')})` : ''}, ${result.scenarios[0].baselineBlocks} pairs`,
            );
          }
          const row = { name, noise: condition === 'noise', gates: options.gates, verdicts, failedOnTarget, elapsedMs: performance.now() - caseStarted };
          const requirement = requirements[name](options.gates);
          rows.push({ ...row, requirement: requirement.text, met: requirement.met(row) });
        } finally {
          hog?.kill();
        }
      }
    }
    return {
      rows,
      settings: { upstreamCpuUs, simulatedCostUs: overhead.costUs, simulatedCostLostPct: overhead.lostPct },
      policy,
      servicePolicy: SERVICE_POLICY,
      elapsedMs: performance.now() - startedAt,
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

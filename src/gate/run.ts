import { ErrorCode, ValidationError } from '../errors.js';
import { currentProject } from '../config/project.js';
import type { GatePolicy } from '../config/policy.js';
import { resolveScenario } from '../load/scenarios/index.js';
import { runLoadTest } from '../load/run.js';
import { rootLogger } from '../logger.js';
import { runBlockProcess, type BlockResult, type BlockSpec } from '../measure/block.js';
import { compareCalibration, measureCalibration } from '../measure/calibration.js';
import { abbaPairs } from '../measure/interleave.js';
import { lostPct, runOverheadProcess, type OverheadMeasurement, type OverheadSpec } from '../measure/slices.js';
import { findBottlenecks, type FunctionCost } from '../profiling/analyze.js';
import { withCpuProfile } from '../profiling/cpu.js';
import { findBaseline, writeBaseline, BASELINE_SCHEMA, type Baseline } from './baseline.js';
import { currentFingerprint } from './fingerprint.js';
import { judge, looksOf, type Judgement, type Verdict } from './verdict.js';

export interface ScenarioGate {
  scenario: string;
  mode: 'baseline' | 'paired';
  judgement: Judgement;
  baselineBlocks: number;
  candidateBlocks: number;
  /** The observability overhead measured for the candidate, when the policy asks for it. */
  overhead?: OverheadMeasurement;
  /** Stored-baseline mode: how this machine's speed compares with the baseline's machine, in %. */
  calibrationChangePct?: number;
  /** On FAIL: where the candidate spends its time, and how that grew against the baseline's profile. */
  profile?: Array<FunctionCost & { baselineSelfPct?: number }>;
}

export interface GateResult {
  schema: 'agentperf.gate/v2';
  overall: Verdict;
  against?: string;
  scenarios: ScenarioGate[];
  elapsedMs: number;
}

type Progress = (line: string) => void;
type GatedScenario = GatePolicy['scenarios'][number];

export function specFor(scenario: GatedScenario, seed = 1): BlockSpec {
  return { scenario: scenario.name, settings: scenario.settings, vus: scenario.vus, warmupMs: scenario.warmupMs, durationMs: scenario.durationMs, seed };
}

/** The overhead measurement for a gated scenario: its workload, in slices of the policy's size. */
export function overheadSpecFor(scenario: GatedScenario, policy: GatePolicy, settings: Record<string, string> = {}, simulatedCostUs?: number): OverheadSpec {
  return { scenario: scenario.name, settings: { ...scenario.settings, ...settings }, vus: scenario.vus, seed: 1, sliceIterations: policy.overhead.sliceIterations, pairs: policy.overhead.pairs, warmupPairs: policy.overhead.warmupPairs, simulatedCostUs };
}

/**
 * The policy's scenarios that a gate measures: all of them, or the ones asked for by name. A
 * name the policy does not gate, or a selection that leaves nothing to measure, is refused: an
 * empty gate would say PASS about nothing, and a mistyped name in CI would pass forever.
 */
export function gatedScenarios(policy: GatePolicy, names?: readonly string[], defined?: readonly string[]): GatePolicy['scenarios'] {
  const known = policy.scenarios.map((s) => s.name);
  const unknown = (names ?? []).filter((n) => !known.includes(n));
  if (unknown.length > 0) {
    throw new ValidationError(ErrorCode.SCENARIO, 'scenario', `scenario must be one the gate policy measures (${known.join(', ')}), got ${unknown.map((n) => JSON.stringify(n)).join(', ')}; add it to the policy's scenarios to gate it`);
  }
  const selected = policy.scenarios.filter((s) => !names || names.length === 0 || names.includes(s.name));
  if (selected.length === 0) throw new ValidationError(ErrorCode.SCENARIO, 'scenarios', 'the gate policy lists no scenario to measure: a gate of nothing is never a PASS');
  // Gated scenarios are named (the project's own or built-in), never paths: baselines are filed by name.
  const undefinedNames = defined ? selected.filter((s) => !defined.includes(s.name)) : [];
  if (undefinedNames.length > 0) {
    throw new ValidationError(ErrorCode.SCENARIO, 'scenarios', `the gate policy measures ${undefinedNames.map((s) => JSON.stringify(s.name)).join(', ')}, which the project does not define: scenarios must be one of ${defined!.join(', ')} (name a module in agentperf.config's scenarios to add one)`);
  }
  return selected;
}

/** The candidate's top functions by self time, from a short in-process profile of the scenario in the project at `root`. */
export async function profileCandidate(root: string, spec: BlockSpec): Promise<FunctionCost[]> {
  const scenario = await resolveScenario(spec.scenario, await currentProject(root));
  const { profile } = await withCpuProfile(() =>
    runLoadTest({ scenario, context: { target: { kind: 'in-process' }, settings: spec.settings, seed: spec.seed, log: rootLogger }, shape: { kind: 'closed', vus: spec.vus, durationMs: spec.durationMs }, warmupMs: spec.warmupMs, drainTimeoutMs: 30_000, thresholds: [] }),
  );
  return findBottlenecks(profile, 10).bySelf;
}

/** Writes a scenario's baseline: `blocks` fresh-process blocks of the project at `root`, the machine's calibration, the overhead, a profile. */
export async function updateBaseline(root: string, dir: string, policy: GatePolicy, name: string, blocks: number, progress: Progress): Promise<string> {
  const [scenario] = gatedScenarios(policy, [name]);
  const spec = specFor(scenario!);
  const calibration = measureCalibration();
  const results: BlockResult[] = [];
  for (let i = 0; i < blocks; i++) {
    results.push(await runBlockProcess(root, spec));
    progress(`  baseline ${name}: block ${i + 1}/${blocks}, ${results.at(-1)!.throughput.toFixed(1)}/s`);
  }
  const measured = policy.overhead.pairs > 0 ? await runOverheadProcess(root, overheadSpecFor(scenario!, policy)) : undefined;
  const overhead = measured && { lostPct: lostPct(measured.throughput.estimate), lowPct: lostPct(measured.throughput.high), highPct: lostPct(measured.throughput.low) };
  const baseline: Baseline = { schema: BASELINE_SCHEMA, scenario: name, fingerprint: currentFingerprint(), calibration, createdAt: new Date().toISOString(), spec, blocks: results, overhead, profile: await profileCandidate(root, spec) };
  return writeBaseline(dir, baseline);
}

function attachProfile(gate: ScenarioGate, profile: FunctionCost[], baselineProfile: FunctionCost[] | undefined): void {
  gate.profile = profile.map((f) => ({ ...f, baselineSelfPct: baselineProfile?.find((b) => b.name === f.name && b.location === f.location)?.selfPct }));
}

/** How many blocks (or pairs) the next look wants: the initial ones, then a step more, up to the maximum. */
const nextTarget = (policy: GatePolicy, have: number) => (have < policy.blocks.initial ? policy.blocks.initial : Math.min(policy.blocks.max, have + policy.blocks.step));

/**
 * The gate against stored baselines: this machine's calibration checked against the
 * baseline's (a machine that measures differently is not judged), the overhead measured, then
 * fresh candidate blocks judged; while undecided and the budget allows, more blocks. Baselines
 * of another class of machine are refused, never compared.
 */
export async function gateAgainstBaselines(root: string, dir: string, policy: GatePolicy, progress: Progress, scenarios?: string[], measuredOverhead?: OverheadMeasurement): Promise<GateResult> {
  const startedAt = performance.now();
  const fingerprint = currentFingerprint();
  const out: ScenarioGate[] = [];
  for (const scenario of gatedScenarios(policy, scenarios)) {
    const baseline = await findBaseline(dir, scenario.name, fingerprint);
    const calibration = compareCalibration(baseline.calibration, measureCalibration());
    progress(`  ${scenario.name}: this machine runs the reference workload ${Math.abs(calibration.changePct).toFixed(1)}% ${calibration.changePct > 0 ? 'slower' : 'faster'} than the baseline's`);
    const spec = specFor(scenario);
    const looks = looksOf(policy);
    const candidate: BlockResult[] = [];
    let overhead: OverheadMeasurement | undefined;
    let judgement: Judgement;
    if (calibration.refusal) {
      judgement = judge({ scenario: scenario.name, baseline: baseline.blocks, candidate: baseline.blocks, paired: false, policy, looks, refusal: calibration.refusal });
    } else {
      overhead = measuredOverhead ?? (policy.overhead.pairs > 0 ? await runOverheadProcess(root, overheadSpecFor(scenario, policy)) : undefined);
      for (;;) {
        const target = nextTarget(policy, candidate.length);
        while (candidate.length < target) {
          candidate.push(await runBlockProcess(root, spec));
          progress(`  ${scenario.name}: candidate block ${candidate.length}, ${candidate.at(-1)!.throughput.toFixed(1)}/s`);
        }
        judgement = judge({ scenario: scenario.name, baseline: baseline.blocks, candidate, paired: false, policy, looks, overhead });
        if (judgement.overall !== 'INCONCLUSIVE' || candidate.length >= policy.blocks.max || performance.now() - startedAt > policy.budgetMs) break;
      }
    }
    const gate: ScenarioGate = { scenario: scenario.name, mode: 'baseline', judgement, baselineBlocks: baseline.blocks.length, candidateBlocks: candidate.length, overhead, calibrationChangePct: calibration.changePct };
    if (judgement.overall === 'FAIL') attachProfile(gate, await profileCandidate(root, spec), baseline.profile);
    out.push(gate);
  }
  return finish(out, startedAt);
}

/**
 * One side of a paired gate: the project directory its blocks run in (this project, or the
 * same directory in a worktree of another commit) and any settings they run with.
 */
export interface Side {
  root: string;
  settings?: Record<string, string>;
}

export interface PairedGateOptions {
  /** Only these of the policy's scenarios. */
  scenarios?: string[];
  /** The git ref the baseline side is, for the report. */
  against?: string;
  /** A costlier instrumentation in the candidate, in µs per traced call (the self-test's). */
  simulatedCostUs?: number;
  /** Profile the candidate on FAIL (default); the self-test, which FAILs on purpose, does not. */
  profileOnFail?: boolean;
}

/**
 * The paired gate: baseline and candidate blocks alternate (ABBA) in fresh processes, judged
 * on per-pair log-ratios; pairs are added while a metric is undecided and the budget allows.
 * The candidate's observability overhead is measured first.
 */
export async function gatePaired(baselineSide: Side, candidateSide: Side, policy: GatePolicy, progress: Progress, options: PairedGateOptions = {}): Promise<GateResult> {
  const { scenarios, against, simulatedCostUs, profileOnFail = true } = options;
  const startedAt = performance.now();
  const out: ScenarioGate[] = [];
  for (const scenario of gatedScenarios(policy, scenarios)) {
    const spec = specFor(scenario);
    const sideSpec = (side: Side): BlockSpec => ({ ...spec, settings: { ...spec.settings, ...side.settings } });
    const overhead = policy.overhead.pairs > 0 ? await runOverheadProcess(candidateSide.root, overheadSpecFor(scenario, policy, candidateSide.settings, simulatedCostUs)) : undefined;
    if (overhead) progress(`  ${scenario.name}: observability overhead ${lostPct(overhead.throughput.estimate).toFixed(1)}% of throughput`);
    const a: BlockResult[] = [];
    const b: BlockResult[] = [];
    const looks = looksOf(policy);
    let judgement: Judgement;
    for (;;) {
      const target = nextTarget(policy, a.length);
      const pairs = await abbaPairs(
        a.length,
        target - a.length,
        () => runBlockProcess(baselineSide.root, sideSpec(baselineSide)),
        () => runBlockProcess(candidateSide.root, sideSpec(candidateSide)),
        (pair, r) => progress(`  ${scenario.name}: pair ${pair + 1}, baseline ${r.a.throughput.toFixed(1)}/s, candidate ${r.b.throughput.toFixed(1)}/s`),
      );
      for (const pair of pairs) {
        a.push(pair.a);
        b.push(pair.b);
      }
      judgement = judge({ scenario: scenario.name, baseline: a, candidate: b, paired: true, policy, looks, overhead });
      if (judgement.overall !== 'INCONCLUSIVE' || a.length >= policy.blocks.max || performance.now() - startedAt > policy.budgetMs) break;
    }
    const gate: ScenarioGate = { scenario: scenario.name, mode: 'paired', judgement, baselineBlocks: a.length, candidateBlocks: b.length, overhead };
    if (judgement.overall === 'FAIL' && profileOnFail) attachProfile(gate, await profileCandidate(candidateSide.root, sideSpec(candidateSide)), undefined);
    out.push(gate);
  }
  return finish(out, startedAt, against);
}

function finish(scenarios: ScenarioGate[], startedAt: number, against?: string): GateResult {
  const verdicts = scenarios.map((s) => s.judgement.overall);
  const overall: Verdict = verdicts.includes('FAIL') ? 'FAIL' : verdicts.includes('INCONCLUSIVE') ? 'INCONCLUSIVE' : 'PASS';
  return { schema: 'agentperf.gate/v2', overall, against, scenarios, elapsedMs: performance.now() - startedAt };
}

import { ErrorCode, ValidationError } from '../errors.js';
import { currentProject } from '../config/project.js';
import { resolveScenario } from '../load/scenarios/index.js';
import { rootLogger } from '../logger.js';
import { findBottlenecks, type FunctionCost } from '../profiling/analyze.js';
import { withCpuProfile } from '../profiling/cpu.js';
import { runLoadTest } from '../load/run.js';
import { mulberry32 } from '../random.js';
import { findBaseline, writeBaseline, type Baseline } from './baseline.js';
import { runBlockProcess, type BlockResult, type BlockSpec } from './block.js';
import { currentFingerprint } from './fingerprint.js';
import type { GatePolicy } from '../config/policy.js';
import { judge, type Judgement, type Verdict } from './verdict.js';


export interface ScenarioGate {
  scenario: string;
  mode: 'baseline' | 'paired';
  judgement: Judgement;
  baselineBlocks: number;
  candidateBlocks: number;
  /** On FAIL: where the candidate spends its time, and how that grew against the baseline's profile. */
  profile?: Array<FunctionCost & { baselineSelfPct?: number }>;
}

export interface GateResult {
  schema: 'agentperf.gate/v1';
  overall: Verdict;
  against?: string;
  scenarios: ScenarioGate[];
  elapsedMs: number;
}

type Progress = (line: string) => void;

export function specFor(policy: GatePolicy['scenarios'][number], seed: number, instrumented = false): BlockSpec {
  return { scenario: policy.name, settings: policy.settings, vus: policy.vus, warmupMs: policy.warmupMs, durationMs: policy.durationMs, instrumented, seed };
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

/** Throughput of interleaved plain and instrumented blocks, for the overhead metric. */
export interface OverheadBlocks {
  plain: number[];
  instrumented: number[];
  /** The plain blocks whole: the same runs a candidate block is, so the gate can count them as candidates. */
  plainBlocks: BlockResult[];
}

/** Interleaved plain and instrumented blocks (ABBA), in fresh processes: the overhead metric. */
export async function overheadBlocks(root: string, spec: BlockSpec, pairs: number, progress?: Progress): Promise<OverheadBlocks> {
  const instrumented: number[] = [];
  const plainBlocks: BlockResult[] = [];
  for (let i = 0; i < pairs; i++) {
    for (const on of i % 2 === 0 ? [false, true] : [true, false]) {
      const block = await runBlockProcess(root, { ...spec, instrumented: on });
      if (on) instrumented.push(block.throughput);
      else plainBlocks.push(block);
      progress?.(`  overhead: pair ${i + 1}/${pairs}, instrumentation ${on ? 'on' : 'off'}: ${block.throughput.toFixed(1)}/s`);
    }
  }
  return { plain: plainBlocks.map((b) => b.throughput), instrumented, plainBlocks };
}

/** The candidate's top functions by self time, from a short in-process profile of the scenario in the project at `root`. */
export async function profileCandidate(root: string, spec: BlockSpec): Promise<FunctionCost[]> {
  const scenario = await resolveScenario(spec.scenario, await currentProject(root));
  const { profile } = await withCpuProfile(() =>
    runLoadTest({ scenario, context: { target: { kind: 'in-process' }, settings: spec.settings, seed: spec.seed, log: rootLogger }, shape: { kind: 'closed', vus: spec.vus, durationMs: spec.durationMs }, warmupMs: spec.warmupMs, drainTimeoutMs: 30_000, thresholds: [] }),
  );
  return findBottlenecks(profile, 10).bySelf;
}

/** Writes a scenario's baseline: `blocks` fresh-process blocks of the project at `root`, the overhead pairs, a profile. */
export async function updateBaseline(root: string, dir: string, policy: GatePolicy, name: string, blocks: number, progress: Progress): Promise<string> {
  const [scenario] = gatedScenarios(policy, [name]);
  const spec = specFor(scenario!, 1);
  const results: BlockResult[] = [];
  for (let i = 0; i < blocks; i++) {
    results.push(await runBlockProcess(root, spec));
    progress(`  baseline ${name}: block ${i + 1}/${blocks}, ${results.at(-1)!.throughput.toFixed(1)}/s`);
  }
  const measured = policy.overhead.pairs > 0 ? await overheadBlocks(root, spec, policy.overhead.pairs) : undefined;
  const overhead = measured && { plain: measured.plain, instrumented: measured.instrumented }; // the throughputs, as baselines store them
  const { instrumented: _, ...stored } = spec;
  const baseline: Baseline = { schema: 'agentperf.baseline/v1', scenario: name, fingerprint: currentFingerprint(), createdAt: new Date().toISOString(), spec: stored, blocks: results, overhead, profile: await profileCandidate(root, spec) };
  return writeBaseline(dir, baseline);
}

function attachProfile(gate: ScenarioGate, profile: FunctionCost[], baselineProfile: FunctionCost[] | undefined): void {
  gate.profile = profile.map((f) => ({ ...f, baselineSelfPct: baselineProfile?.find((b) => b.name === f.name && b.location === f.location)?.selfPct }));
}

/**
 * The gate against stored baselines: fresh candidate blocks, judged; while a metric is
 * inconclusive and the budget allows, more blocks. Baselines from another fingerprint are
 * refused, never compared.
 */
export async function gateAgainstBaselines(root: string, dir: string, policy: GatePolicy, progress: Progress, scenarios?: string[], measuredOverhead?: OverheadBlocks): Promise<GateResult> {
  const startedAt = performance.now();
  const fingerprint = currentFingerprint();
  const out: ScenarioGate[] = [];
  for (const scenario of gatedScenarios(policy, scenarios)) {
    const baseline = await findBaseline(dir, scenario.name, fingerprint);
    const spec = specFor(scenario, 1);
    const candidate: BlockResult[] = [];
    const overhead = measuredOverhead ?? (policy.overhead.pairs > 0 ? await overheadBlocks(root, spec, policy.overhead.pairs) : undefined);
    // The overhead's uninstrumented blocks are candidate blocks already (same spec, fresh processes).
    candidate.push(...(overhead?.plainBlocks ?? []));
    let judgement: Judgement | undefined;
    let target = policy.blocks.initial;
    for (;;) {
      while (candidate.length < target) {
        candidate.push(await runBlockProcess(root, spec));
        progress(`  ${scenario.name}: candidate block ${candidate.length}, ${candidate.at(-1)!.throughput.toFixed(1)}/s`);
      }
      judgement = judge(scenario.name, baseline.blocks, candidate, false, policy, mulberry32(candidate.length), overhead);
      if (judgement.overall !== 'INCONCLUSIVE' || candidate.length >= policy.blocks.max || performance.now() - startedAt > policy.budgetMs) break;
      target = Math.min(policy.blocks.max, candidate.length + policy.blocks.step);
    }
    const gate: ScenarioGate = { scenario: scenario.name, mode: 'baseline', judgement, baselineBlocks: baseline.blocks.length, candidateBlocks: candidate.length };
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

/**
 * The paired gate: baseline and candidate blocks alternate (ABBA) in fresh processes, judged
 * on per-pair log-ratios; pairs are added while a metric is inconclusive and the budget allows.
 */
export async function gatePaired(baselineSide: Side, candidateSide: Side, policy: GatePolicy, progress: Progress, scenarios?: string[], against?: string): Promise<GateResult> {
  const startedAt = performance.now();
  const out: ScenarioGate[] = [];
  for (const scenario of gatedScenarios(policy, scenarios)) {
    const spec = specFor(scenario, 1);
    const a: BlockResult[] = [];
    const b: BlockResult[] = [];
    // The candidate's observability overhead, from its own interleaved blocks.
    const overhead = policy.overhead.pairs > 0 ? await overheadBlocks(candidateSide.root, { ...spec, settings: { ...spec.settings, ...candidateSide.settings } }, policy.overhead.pairs) : undefined;
    let judgement: Judgement | undefined;
    let target = policy.blocks.initial;
    for (;;) {
      while (a.length < target) {
        const order = a.length % 2 === 0 ? ['a', 'b'] : ['b', 'a'];
        for (const side of order) {
          const s = side === 'a' ? baselineSide : candidateSide;
          const block = await runBlockProcess(s.root, { ...spec, settings: { ...spec.settings, ...s.settings } });
          (side === 'a' ? a : b).push(block);
        }
        progress(`  ${scenario.name}: pair ${a.length}, baseline ${a.at(-1)!.throughput.toFixed(1)}/s, candidate ${b.at(-1)!.throughput.toFixed(1)}/s`);
      }
      judgement = judge(scenario.name, a, b, true, policy, mulberry32(a.length), overhead);
      if (judgement.overall !== 'INCONCLUSIVE' || a.length >= policy.blocks.max || performance.now() - startedAt > policy.budgetMs) break;
      target = Math.min(policy.blocks.max, a.length + policy.blocks.step);
    }
    const gate: ScenarioGate = { scenario: scenario.name, mode: 'paired', judgement, baselineBlocks: a.length, candidateBlocks: b.length };
    if (judgement.overall === 'FAIL') attachProfile(gate, await profileCandidate(candidateSide.root, { ...spec, settings: { ...spec.settings, ...candidateSide.settings } }), undefined);
    out.push(gate);
  }
  return finish(out, startedAt, against);
}

function finish(scenarios: ScenarioGate[], startedAt: number, against?: string): GateResult {
  const verdicts = scenarios.map((s) => s.judgement.overall);
  const overall: Verdict = verdicts.includes('FAIL') ? 'FAIL' : verdicts.includes('INCONCLUSIVE') ? 'INCONCLUSIVE' : 'PASS';
  return { schema: 'agentperf.gate/v1', overall, against, scenarios, elapsedMs: performance.now() - startedAt };
}

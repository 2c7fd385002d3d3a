/**
 * The gate's two modes, each a list of phases:
 *
 * - **paired** (`gate --against REF`): for each gated scenario, each side's observability
 *   overhead, then baseline and candidate blocks alternated (ABBA) in fresh processes, each side
 *   measured by its own agentperf, pairs added while a block metric is undecided and the budget
 *   allows;
 * - **stored** (`gate`): for each gated scenario, the candidate's overhead, then candidate
 *   blocks with the machine's calibration sampled before, between and after them; refused
 *   (INCONCLUSIVE) when this machine measures outside the policy's band from the baseline's.
 *
 * The policy is the trusted side's (see policy-source.ts); verdicts are verdict.ts's.
 */
import { ErrorCode, ValidationError } from '../errors.js';
import { currentProject } from '../config/project.js';
import type { GatePolicy } from '../config/policy.js';
import { resolveScenario } from '../scenarios/index.js';
import { runLoadTest } from '../load/run.js';
import { blockLoad, runBlockProcess, type BlockResult, type BlockSpec } from '../measure/block.js';
import { Calibrator, compareCalibration, cpusInUse, SETTLE_MAX_MS, STEADY_SAMPLES, type Calibration } from '../measure/calibration.js';
import { abbaPairs } from '../measure/interleave.js';
import { runOverheadProcess, type OverheadMeasurement, type OverheadSpec, type Slice } from '../measure/slices.js';
import { findBottlenecks, type FunctionCost } from '../profiling/analyze.js';
import { withCpuProfile } from '../profiling/cpu.js';
import { missingBaselineError, readBaselineSet, writeBaseline, BASELINE_SCHEMA, type Baseline, type StoredBaseline } from './baseline.js';
import { currentFingerprint } from './fingerprint.js';
import type { PolicyProvenance } from './policy-source.js';
import { thisRunner, type SideRunner } from './side.js';
import { judge, looksOf, moreBlocksWouldHelp, moreOverheadWouldHelp, overallOf, ownOverhead, type Judgement, type Verdict } from './verdict.js';

export const GATE_SCHEMA = 'agentperf.gate/v3';

/** One side's overhead as the report shows it: throughput lost in %, with its interval, and the pairs measured. */
export interface OverheadFigure {
  lostPct: number;
  lowPct: number;
  highPct: number;
  pairs: number;
  /** The processes the pairs were measured in. */
  processes: number;
  sliceIterations: number;
}

export interface ScenarioGate {
  scenario: string;
  mode: 'baseline' | 'paired';
  judgement: Judgement;
  baselineBlocks: number;
  candidateBlocks: number;
  /** Each side's observability overhead, when the policy measures it. */
  overhead?: { baseline?: OverheadFigure; candidate: OverheadFigure };
  /** Stored mode: this machine's speed against the baseline's, from samples between the blocks. */
  calibration?: {
    changePct: number;
    bandPct: number;
    samples: number;
    threads: number;
    /** Whether the machine held still before the first block (see Calibrator.settle). */
    steady: boolean;
  };
  /** Stored mode: the baseline judged against, exactly. */
  baseline?: { file: string; sha256: string; createdAt: string };
  /** On FAIL: where the candidate spends its time, and how that grew against the baseline's profile. */
  profile?: Array<FunctionCost & { baselineSelfPct?: number }>;
}

export interface GateResult {
  schema: typeof GATE_SCHEMA;
  overall: Verdict;
  mode: 'baseline' | 'paired';
  /** Paired mode: the ref the baseline side is, and its commit. */
  against?: { ref: string; commit: string };
  /** Which policy judged, and what the working copy would change in it. */
  policy: PolicyProvenance;
  /** Paired mode: which agentperf measured each side. */
  sides?: { baseline: RunnerInfo; candidate: RunnerInfo };
  /** What the gate passed over or could not do alike on both sides. */
  notes: string[];
  /** The intervals' confidence: 1 - the policy's alpha. */
  confidence: number;
  scenarios: ScenarioGate[];
  elapsedMs: number;
}

export type RunnerInfo = Pick<SideRunner, 'version' | 'packageRoot' | 'own' | 'note'>;

type Progress = (line: string) => void;
type GatedScenario = GatePolicy['scenarios'][number];

export function specFor(scenario: GatedScenario, seed = 1): BlockSpec {
  return { scenario: scenario.name, settings: scenario.settings, vus: scenario.vus, warmupMs: scenario.warmupMs, durationMs: scenario.durationMs, seed };
}

/**
 * The overhead is measured in processes of each side, `OVERHEAD_PROCESSES` of them first (the
 * policy's pairs shared among them), then one more a side while it alone is undecided and the
 * budget allows, up to `OVERHEAD_PROCESSES_MAX`: a process's own state moves its figure, so no
 * single process decides.
 */
export const OVERHEAD_PROCESSES = 2;
export const OVERHEAD_PROCESSES_MAX = 6;

/** The overhead measurement for a gated scenario: its workload, in slices of the policy's size. */
export function overheadSpecFor(scenario: GatedScenario, policy: GatePolicy, settings: Record<string, string> = {}, simulatedCostUs?: number): OverheadSpec {
  const o = policy.overhead;
  return {
    scenario: scenario.name,
    settings: { ...scenario.settings, ...settings },
    vus: scenario.vus,
    seed: 1,
    sliceIterations: o.sliceIterations,
    sliceMs: o.sliceMs,
    pairs: o.pairs,
    warmupPairs: o.warmupPairs,
    simulatedCostUs,
  };
}

/** One of a gate's overhead processes: its share of the policy's pairs. */
function overheadProcessSpec(scenario: GatedScenario, policy: GatePolicy, settings?: Record<string, string>, simulatedCostUs?: number): OverheadSpec {
  const spec = overheadSpecFor(scenario, policy, settings, simulatedCostUs);
  return { ...spec, pairs: Math.max(2, Math.ceil(policy.overhead.pairs / OVERHEAD_PROCESSES)) };
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
    throw new ValidationError(
      ErrorCode.SCENARIO,
      'scenario',
      `scenario must be one the gate policy measures (${known.join(', ')}), got ${unknown.map((n) => JSON.stringify(n)).join(', ')}; add it to the policy's scenarios to gate it`,
    );
  }
  const selected = policy.scenarios.filter((s) => !names || names.length === 0 || names.includes(s.name));
  if (selected.length === 0)
    throw new ValidationError(ErrorCode.SCENARIO, 'scenarios', 'the gate policy lists no scenario to measure: a gate of nothing is never a PASS');
  // Gated scenarios are named (the project's own or built-in), never paths: baselines are filed by name.
  const undefinedNames = defined ? selected.filter((s) => !defined.includes(s.name)) : [];
  if (undefinedNames.length > 0) {
    throw new ValidationError(
      ErrorCode.SCENARIO,
      'scenarios',
      `the gate policy measures ${undefinedNames.map((s) => JSON.stringify(s.name)).join(', ')}, which the project does not define: scenarios must be one of ${defined!.join(', ')} (name a module in agentperf.config's scenarios to add one)`,
    );
  }
  return selected;
}

/** The candidate's top functions by self time, from a short in-process profile of the scenario in the project at `root`. */
export async function profileCandidate(root: string, spec: BlockSpec): Promise<FunctionCost[]> {
  const scenario = await resolveScenario(spec.scenario, await currentProject(root));
  const { profile } = await withCpuProfile(() => runLoadTest(blockLoad(scenario, spec)));
  return findBottlenecks(profile, 10, root).bySelf;
}

/** Waits (up to SETTLE_MAX_MS) for the machine to hold still before the first block, and says how it went. */
async function settleMachine(
  calibrator: Calibrator,
  policy: GatePolicy,
  progress: Progress,
): Promise<{ steady: boolean; waitedMs: number; samples: number[] }> {
  const settled = await calibrator.settle(policy.calibration.bandPct, SETTLE_MAX_MS);
  const waited = `${(settled.waitedMs / 1000).toFixed(1)} s`;
  progress(
    settled.steady
      ? `  the machine is steady (${waited} of calibration samples within ±${policy.calibration.bandPct / 2}%)`
      : `  the machine did not hold still within ${waited} (calibration samples ${settled.samples
          .slice(-STEADY_SAMPLES)
          .map((x) => x.toFixed(1))
          .join(', ')} µs a unit): measuring anyway`,
  );
  return settled;
}

/** Runs `blocks` fresh-process blocks of `spec`, a calibration sample after each (and one before the first, when there is none yet). */
async function blocksWithCalibration(
  root: string,
  spec: BlockSpec,
  blocks: number,
  calibrator: Calibrator,
  samples: number[],
  onBlock: (b: BlockResult, n: number) => void,
): Promise<BlockResult[]> {
  const out: BlockResult[] = [];
  if (samples.length === 0) samples.push(await calibrator.sample());
  for (let i = 0; i < blocks; i++) {
    out.push(await runBlockProcess(root, spec));
    samples.push(await calibrator.sample());
    onBlock(out.at(-1)!, out.length);
  }
  return out;
}

/**
 * Writes a scenario's baseline: `blocks` fresh-process blocks of the project at `root` with the
 * machine's calibration sampled between them, the overhead's slices, the policy it was
 * recorded under (the trusted policy of every stored gate against it), and a profile.
 */
export async function updateBaseline(root: string, dir: string, policy: GatePolicy, name: string, blocks: number, progress: Progress): Promise<string> {
  const [scenario] = gatedScenarios(policy, [name]);
  const spec = specFor(scenario);
  const calibrator = new Calibrator(cpusInUse());
  const samples: number[] = [];
  let results: BlockResult[];
  try {
    // The steady samples count as the calibration's first: more samples, a steadier median.
    samples.push(...(await settleMachine(calibrator, policy, progress)).samples.slice(-STEADY_SAMPLES));
    results = await blocksWithCalibration(root, spec, blocks, calibrator, samples, (b, n) =>
      progress(`  baseline ${name}: block ${n}/${blocks}, ${b.throughput.toFixed(1)}/s`),
    );
  } finally {
    await calibrator.close();
  }
  const processes: Slice[][] = [];
  if (policy.overhead.pairs > 0)
    for (let i = 0; i < OVERHEAD_PROCESSES; i++) processes.push((await runOverheadProcess(root, overheadProcessSpec(scenario, policy))).slices);
  const baseline: Baseline = {
    schema: BASELINE_SCHEMA,
    scenario: name,
    fingerprint: currentFingerprint(),
    calibration: { threads: calibrator.threads, samples },
    createdAt: new Date().toISOString(),
    spec,
    blocks: results,
    overhead: processes.length ? { processes } : undefined,
    policy,
    profile: await profileCandidate(root, spec),
  };
  return writeBaseline(dir, baseline);
}

function attachProfile(gate: ScenarioGate, profile: FunctionCost[], baselineProfile: FunctionCost[] | undefined): void {
  gate.profile = profile.map((f) => ({ ...f, baselineSelfPct: baselineProfile?.find((b) => b.name === f.name && b.location === f.location)?.selfPct }));
}

/** How many blocks (or pairs) the next look wants: the initial ones, then a step more, up to the maximum. */
const nextTarget = (policy: GatePolicy, have: number) =>
  have < policy.blocks.initial ? policy.blocks.initial : Math.min(policy.blocks.max, have + policy.blocks.step);

function figure(processes: ReadonlyArray<readonly Slice[]>, alpha: number): OverheadFigure {
  const own = ownOverhead(processes.flat(), alpha);
  return {
    lostPct: own.lostPct,
    lowPct: own.lowPct,
    highPct: own.highPct,
    pairs: own.cmp.n,
    processes: processes.length,
    sliceIterations: processes[0]?.[0]?.iterations ?? 0,
  };
}

/**
 * The measuring budget shared by the gate's scenarios: each gets what is left over the
 * scenarios left. Time spent waiting for a steady machine is given back (`exclude`).
 */
class Budget {
  private readonly startedAt = performance.now();
  private excludedMs = 0;

  constructor(
    private readonly budgetMs: number,
    private readonly scenarios: number,
  ) {}

  exclude(ms: number): void {
    this.excludedMs += ms;
  }

  /** When the scenario at `index` must stop adding blocks. */
  until(index: number): number {
    const left = Math.max(0, this.startedAt + this.budgetMs + this.excludedMs - performance.now());
    return performance.now() + left / (this.scenarios - index);
  }
}

/** The baselines of this class of machine a stored gate judges against, and the one whose policy is trusted: the newest. */
export interface StoredSet {
  baselines: StoredBaseline[];
  newest: StoredBaseline | undefined;
  notes: string[];
}

export async function storedBaselines(dir: string): Promise<StoredSet> {
  const set = await readBaselineSet(dir, currentFingerprint());
  const newest = [...set.baselines].sort((a, b) => b.baseline.createdAt.localeCompare(a.baseline.createdAt))[0];
  return { baselines: set.baselines, newest, notes: set.notes };
}

export interface StoredGateOptions {
  stored: StoredSet;
  /** Only these of the policy's scenarios. */
  scenarios?: string[];
  /** The candidate's overhead when it was measured already (`run` measures it once). */
  measuredOverhead?: OverheadMeasurement;
  /** The scenarios the candidate's project defines. */
  defined?: readonly string[];
}

/**
 * The gate against stored baselines: for each gated scenario, the candidate's overhead, then
 * candidate blocks with this machine's calibration sampled between them; while a block metric
 * is undecided and the budget allows, more blocks. A machine measuring outside the policy's
 * calibration band is not judged (INCONCLUSIVE with the figure). Baselines of another class of
 * machine are refused, never compared.
 */
export async function gateAgainstBaselines(
  root: string,
  dir: string,
  policy: GatePolicy,
  provenance: PolicyProvenance,
  progress: Progress,
  options: StoredGateOptions,
): Promise<GateResult> {
  const startedAt = performance.now();
  const gated = gatedScenarios(policy, options.scenarios, options.defined);
  const budget = new Budget(policy.budgetMs, gated.length);
  const out: ScenarioGate[] = [];
  const notes = [...options.stored.notes];
  // Every gated scenario's baseline is found before anything is measured.
  const storedFor = new Map<string, StoredBaseline>();
  for (const scenario of gated) {
    const stored = options.stored.baselines.find((b) => b.baseline.scenario === scenario.name);
    if (!stored) throw await missingBaselineError(dir, scenario.name, currentFingerprint());
    storedFor.set(scenario.name, stored);
  }
  for (const [index, scenario] of gated.entries()) {
    const stored = storedFor.get(scenario.name)!;
    const { baseline } = stored;
    // Like against like: the candidate runs the blocks the baseline was measured with.
    const spec = baseline.spec;
    const wanted = specFor(scenario, spec.seed);
    if (JSON.stringify(wanted) !== JSON.stringify(spec))
      notes.push(
        `${scenario.name}: the baseline was measured with ${JSON.stringify(spec)} and the policy now says ${JSON.stringify(wanted)}: the candidate runs the baseline's blocks (record the baseline again for the new ones)`,
      );
    const looks = looksOf(policy);
    const candidate: BlockResult[] = [];
    const samples: number[] = [];
    // The candidate's overhead processes (`run` hands over the one it measured already).
    const overhead: Slice[][] | undefined = baseline.overhead && policy.overhead.pairs > 0 ? [] : undefined;
    const overheadProcess = async () => overhead!.push((await runOverheadProcess(root, overheadProcessSpec(scenario, policy))).slices);
    if (overhead && options.measuredOverhead) overhead.push(options.measuredOverhead.slices);
    else if (overhead) for (let i = 0; i < OVERHEAD_PROCESSES; i++) await overheadProcess();
    const calibrator = new Calibrator(cpusInUse());
    // The candidate's blocks and overhead so far against the baseline, this machine's speed taken into account.
    const judgeStored = (calibration: { changePct: number; refusal?: string }) =>
      judge({
        scenario: scenario.name,
        baseline: baseline.blocks,
        candidate,
        paired: false,
        policy,
        looks,
        overhead: overhead && { baseline: baseline.overhead?.processes, candidate: overhead },
        refusal: calibration.refusal,
        drift: calibration.changePct / 100,
      });
    let judgement: Judgement;
    let calibration: { changePct: number; refusal?: string };
    let steady: boolean;
    let until: number;
    try {
      const settled = await settleMachine(calibrator, policy, progress);
      steady = settled.steady;
      samples.push(...settled.samples.slice(-STEADY_SAMPLES));
      // The budget is for measuring: the wait for a steady machine is not taken from it.
      budget.exclude(settled.waitedMs);
      until = budget.until(index);
      for (;;) {
        const more = nextTarget(policy, candidate.length) - candidate.length;
        const had = candidate.length;
        candidate.push(
          ...(await blocksWithCalibration(root, spec, more, calibrator, samples, (b, n) =>
            progress(`  ${scenario.name}: candidate block ${had + n}, ${b.throughput.toFixed(1)}/s`),
          )),
        );
        calibration = compareCalibration(baseline.calibration, { threads: calibrator.threads, samples } satisfies Calibration, policy.calibration.bandPct);
        judgement = judgeStored(calibration);
        if (!moreBlocksWouldHelp(judgement) || candidate.length >= policy.blocks.max || performance.now() > until) break;
      }
      while (overhead && moreOverheadWouldHelp(judgement) && overhead.length < OVERHEAD_PROCESSES_MAX && performance.now() < until) {
        await overheadProcess();
        judgement = judgeStored(calibration);
      }
    } finally {
      await calibrator.close();
    }
    progress(
      `  ${scenario.name}: this machine ran the reference workload ${Math.abs(calibration.changePct).toFixed(1)}% ${calibration.changePct > 0 ? 'slower' : 'faster'} than the baseline's (band ${policy.calibration.bandPct}%)`,
    );
    const gate: ScenarioGate = {
      scenario: scenario.name,
      mode: 'baseline',
      judgement,
      baselineBlocks: baseline.blocks.length,
      candidateBlocks: candidate.length,
      overhead: overhead && { baseline: baseline.overhead && figure(baseline.overhead.processes, policy.alpha), candidate: figure(overhead, policy.alpha) },
      calibration: { changePct: calibration.changePct, bandPct: policy.calibration.bandPct, samples: samples.length, threads: calibrator.threads, steady },
      baseline: { file: stored.file, sha256: stored.sha256, createdAt: baseline.createdAt },
    };
    if (judgement.overall === 'FAIL') attachProfile(gate, await profileCandidate(root, spec), baseline.profile);
    out.push(gate);
  }
  return finish({ mode: 'baseline', policy: provenance, notes, confidence: 1 - policy.alpha, scenarios: out, startedAt });
}

/**
 * One side of a paired gate: the project directory its blocks run in (this project, or the
 * same directory in a worktree of another commit), the agentperf that measures it, and any
 * settings they run with.
 */
export interface Side {
  root: string;
  runner?: SideRunner;
  settings?: Record<string, string>;
  /** A costlier instrumentation on this side, in µs per traced call (the self-test's). */
  simulatedCostUs?: number;
}

export interface PairedGateOptions {
  /** Only these of the policy's scenarios. */
  scenarios?: string[];
  /** The git ref the baseline side is, and its commit, for the report. */
  against?: { ref: string; commit: string };
  /** A costlier instrumentation in the candidate, in µs per traced call (the self-test's). */
  simulatedCostUs?: number;
  /** Profile the candidate on FAIL (default); the self-test, which FAILs on purpose, does not. */
  profileOnFail?: boolean;
  provenance?: PolicyProvenance;
  notes?: string[];
}

/**
 * The paired gate: each side's overhead first (each in a fresh process of its own side), then
 * baseline and candidate blocks alternate (ABBA) in fresh processes, judged on per-pair
 * log-ratios; pairs are added while a block metric is undecided and the budget allows.
 */
export async function gatePaired(
  baselineSide: Side,
  candidateSide: Side,
  policy: GatePolicy,
  progress: Progress,
  options: PairedGateOptions = {},
): Promise<GateResult> {
  const { scenarios, against, simulatedCostUs, profileOnFail = true } = options;
  const startedAt = performance.now();
  const gated = gatedScenarios(policy, scenarios);
  const [baseRunner, candidateRunner] = [baselineSide.runner ?? thisRunner(), candidateSide.runner ?? thisRunner()];
  // The pairs cancel a drift, but a machine still busy from an install would make the first
  // pairs noisier than the rest: wait for it to hold still first.
  const calibrator = new Calibrator(cpusInUse());
  try {
    await settleMachine(calibrator, policy, progress);
  } finally {
    await calibrator.close();
  }
  const budget = new Budget(policy.budgetMs, gated.length);
  const out: ScenarioGate[] = [];
  for (const [index, scenario] of gated.entries()) {
    const until = budget.until(index);
    const spec = specFor(scenario);
    const sideSpec = (side: Side): BlockSpec => ({ ...spec, settings: { ...spec.settings, ...side.settings } });
    // The overhead in processes of each side, alternated (base first, then candidate first, ...).
    const overhead = policy.overhead.pairs > 0 ? { baseline: [] as Slice[][], candidate: [] as Slice[][] } : undefined;
    const overheadRound = async () => {
      const base = async () =>
        overhead!.baseline.push(
          (
            await runOverheadProcess(
              baselineSide.root,
              overheadProcessSpec(scenario, policy, baselineSide.settings, baselineSide.simulatedCostUs),
              baseRunner.cli,
            )
          ).slices,
        );
      const cand = async () =>
        overhead!.candidate.push(
          (
            await runOverheadProcess(
              candidateSide.root,
              overheadProcessSpec(scenario, policy, candidateSide.settings, candidateSide.simulatedCostUs ?? simulatedCostUs),
              candidateRunner.cli,
            )
          ).slices,
        );
      if (overhead!.baseline.length % 2 === 0) {
        await base();
        await cand();
      } else {
        await cand();
        await base();
      }
    };
    if (overhead) {
      for (let i = 0; i < OVERHEAD_PROCESSES; i++) await overheadRound();
      progress(
        `  ${scenario.name}: observability overhead, baseline ${figure(overhead.baseline, policy.alpha).lostPct.toFixed(1)}%, candidate ${figure(overhead.candidate, policy.alpha).lostPct.toFixed(1)}% of throughput`,
      );
    }
    const a: BlockResult[] = [];
    const b: BlockResult[] = [];
    const looks = looksOf(policy);
    let judgement: Judgement;
    for (;;) {
      const target = nextTarget(policy, a.length);
      const pairs = await abbaPairs(
        a.length,
        target - a.length,
        () => runBlockProcess(baselineSide.root, sideSpec(baselineSide), baseRunner.cli),
        () => runBlockProcess(candidateSide.root, sideSpec(candidateSide), candidateRunner.cli),
        (pair, r) => progress(`  ${scenario.name}: pair ${pair + 1}, baseline ${r.a.throughput.toFixed(1)}/s, candidate ${r.b.throughput.toFixed(1)}/s`),
      );
      for (const pair of pairs) {
        a.push(pair.a);
        b.push(pair.b);
      }
      judgement = judge({ scenario: scenario.name, baseline: a, candidate: b, paired: true, policy, looks, overhead });
      if (!moreBlocksWouldHelp(judgement) || a.length >= policy.blocks.max || performance.now() > until) break;
    }
    while (overhead && moreOverheadWouldHelp(judgement) && overhead.candidate.length < OVERHEAD_PROCESSES_MAX && performance.now() < until) {
      await overheadRound();
      judgement = judge({ scenario: scenario.name, baseline: a, candidate: b, paired: true, policy, looks, overhead });
    }
    const gate: ScenarioGate = {
      scenario: scenario.name,
      mode: 'paired',
      judgement,
      baselineBlocks: a.length,
      candidateBlocks: b.length,
      overhead: overhead && { baseline: figure(overhead.baseline, policy.alpha), candidate: figure(overhead.candidate, policy.alpha) },
    };
    if (judgement.overall === 'FAIL' && profileOnFail) attachProfile(gate, await profileCandidate(candidateSide.root, sideSpec(candidateSide)), undefined);
    out.push(gate);
  }
  const info = (r: SideRunner): RunnerInfo => ({ version: r.version, packageRoot: r.packageRoot, own: r.own, note: r.note });
  const provenance = options.provenance ?? { origin: 'working-copy', where: 'the policy given', changes: [], notes: [] };
  return finish({
    mode: 'paired',
    against,
    policy: provenance,
    sides: { baseline: info(baseRunner), candidate: info(candidateRunner) },
    notes: options.notes ?? [],
    confidence: 1 - policy.alpha,
    scenarios: out,
    startedAt,
  });
}

function finish(parts: Omit<GateResult, 'schema' | 'overall' | 'elapsedMs'> & { startedAt: number }): GateResult {
  const { startedAt, ...rest } = parts;
  return {
    schema: GATE_SCHEMA,
    overall: overallOf(rest.scenarios.map((s) => ({ verdict: s.judgement.overall }))),
    ...rest,
    elapsedMs: performance.now() - startedAt,
  };
}

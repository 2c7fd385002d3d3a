import { DEFAULT_POLICY } from '../config/policy.js';
import type { StoredBaseline } from '../gate/baseline.js';
import type { PolicyProvenance } from '../gate/policy-source.js';
import type { SelfTestResult } from '../gate/self-test.js';
import type { GateResult, ScenarioGate } from '../gate/run.js';
import type { MetricVerdict } from '../gate/verdict.js';
import { fingerprintId } from '../gate/fingerprint.js';
import { describeChange, describeInterval, describeTolerance } from './change.js';
import { formatMs, formatSignedPct } from './load.js';

const UNITS: Record<string, (v: number) => string> = {
  p50: formatMs,
  p95: formatMs,
  p99: formatMs,
  throughput: (v) => `${v.toFixed(1)}/s`,
  cpu: (v) => `${v.toFixed(0)} µs/iter`,
  mainThread: (v) => `${v.toFixed(0)} µs/iter`,
  errorRate: (v) => `${(v * 100).toFixed(3)}%`,
  peakRss: (v) => `${(v / 2 ** 20).toFixed(1)} MiB`,
  heapAfterGc: (v) => `${(v / 2 ** 20).toFixed(1)} MiB`,
  ttfcP95: formatMs,
  outputTokensPerSecond: (v) => `${v.toFixed(0)} tokens/s`,
  overhead: (v) => `${v.toFixed(1)}% lost`,
};

/** What each metric is, for the report's readers. */
export const METRIC_LABELS: Record<string, string> = {
  cpu: 'CPU (process)',
  mainThread: 'CPU (main thread)',
  peakRss: 'peak RSS',
  heapAfterGc: 'heap after GC',
  errorRate: 'error rate',
  ttfcP95: 'time to first chunk p95',
  outputTokensPerSecond: 'output tokens/s',
  overhead: 'observability overhead',
};

export const metricLabel = (metric: string) => METRIC_LABELS[metric] ?? metric;

export function formatMetricValue(metric: string, v: number): string {
  if (!Number.isFinite(v)) return '-';
  if (metric.startsWith('slo.'))
    return metric === 'slo.errorRate' ? `${(v * 100).toFixed(3)}%` : metric === 'slo.throughput' ? `${v.toFixed(1)}/s` : `${v.toFixed(1)} ms`;
  return (UNITS[metric] ?? ((x: number) => x.toFixed(2)))(v);
}

export const ICON: Record<string, string> = { PASS: '✅ PASS', FAIL: '❌ FAIL', INCONCLUSIVE: '⚠️ INCONCLUSIVE', WARN: '⚠️ WARN' };

/** A verdict as a row shows it: a PASS that carries a warning reads WARN (it does not block). */
export const shownVerdict = (m: MetricVerdict) => (m.verdict === 'PASS' && m.warning ? 'WARN' : m.verdict);

function row(m: MetricVerdict): string {
  const slo = m.metric.startsWith('slo.');
  const baseline = slo
    ? `${formatMetricValue(m.metric, m.baseline)} (SLO ${m.direction === 'lower-is-better' ? '<' : '>'} ${formatMetricValue(m.metric, m.limit ?? NaN)})`
    : formatMetricValue(m.metric, m.baseline);
  return `| ${metricLabel(m.metric)} | ${baseline} | ${formatMetricValue(m.metric, m.candidate)} | ${describeChange(m)} | ${describeInterval(m)} | ${describeTolerance(m)} | ${ICON[shownVerdict(m)]} | ${m.blocks} | ${slo || m.metric === 'errorRate' ? '' : `${m.noisePct.toFixed(1)}%`} |`;
}

const cell = (v: unknown) => (v === undefined ? '(not set)' : `\`${JSON.stringify(v)}\``);

const ORIGIN: Record<PolicyProvenance['origin'], string> = {
  'base-ref': "the base ref's",
  baseline: "the baseline's (the policy it was recorded under)",
  defaults: 'the default rules (the base has no policy of its own yet)',
  'working-copy': "the working copy's (--policy-from working-copy): **not the trusted side's**",
};

/** Where the policy came from, and what the working copy would change in it. */
function policyLines(result: GateResult): string[] {
  const p = result.policy;
  const lines = [`**Policy:** ${ORIGIN[p.origin]}, ${p.where}.`, ''];
  if (p.changes.length > 0) {
    const used = p.origin === 'working-copy' ? "the working copy's policy judged this gate" : 'this gate used the trusted one';
    const said =
      p.origin === 'baseline'
        ? `The working copy's policy differs from the one the baseline was recorded under (changed in this pull request, or since the baseline was recorded); a change takes effect with the next baseline recorded on the default branch (${used}).`
        : `The working copy changes the gate's policy; a change takes effect once it is merged (${used}).`;
    lines.push(
      '### Policy changed in this pull request',
      '',
      said,
      '',
      `| field | trusted (${p.origin === 'baseline' ? 'baseline' : 'base'}) | this pull request |`,
      '| --- | --- | --- |',
    );
    for (const c of p.changes) lines.push(`| \`${c.field}\` | ${cell(c.trusted)} | ${cell(c.workingCopy)} |`);
    lines.push('');
  }
  for (const note of p.notes) lines.push(`- ${note}`);
  if (p.notes.length) lines.push('');
  return lines;
}

function scenarioLines(s: ScenarioGate, confidence: number): string[] {
  const head = s.mode === 'paired' ? `${s.candidateBlocks} pairs` : `${s.candidateBlocks} candidate blocks against ${s.baselineBlocks} stored`;
  const lines = [`### \`${s.scenario}\` (${head}): ${ICON[s.judgement.overall]}`, ''];
  if (s.baseline) lines.push(`Baseline: \`${s.baseline.file}\`, recorded ${s.baseline.createdAt}, SHA-256 \`${s.baseline.sha256}\`.`, '');
  if (s.judgement.refused) lines.push(`**Not judged:** ${s.judgement.refused}.`, '');
  else if (s.calibration)
    lines.push(
      `This machine ran the reference workload ${Math.abs(s.calibration.changePct).toFixed(1)}% ${s.calibration.changePct > 0 ? 'slower' : 'faster'} than the one that recorded the baseline (${s.calibration.samples} samples between the blocks, on ${s.calibration.threads} CPUs): within the ${s.calibration.bandPct}% band.`,
      '',
    );
  if (s.calibration && !s.calibration.steady)
    lines.push(
      'The machine did not hold still before the first block (its calibration samples kept moving for a minute): its blocks may be noisier than usual.',
      '',
    );
  lines.push(
    `| metric | baseline | candidate | change | ${+(confidence * 100).toFixed(2)}% interval | tolerance | verdict | blocks | noise |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const m of s.judgement.metrics) lines.push(row(m));
  lines.push('');
  for (const m of s.judgement.metrics.filter((x) => x.verdict !== 'PASS')) lines.push(`- **${metricLabel(m.metric)}** ${m.verdict}: ${m.reason}`);
  const warnings = s.judgement.metrics.filter((m) => m.warning);
  if (warnings.length) {
    lines.push('', '**Warnings** (not blocking):', '');
    for (const m of warnings) lines.push(`- **${metricLabel(m.metric)}**: ${m.warning}`);
  }
  if (s.profile) {
    lines.push(
      '',
      `Where the candidate spends its time (CPU profile, top functions by self time):`,
      '',
      '| function | location | self % | baseline self % |',
      '| --- | --- | --- | --- |',
    );
    for (const f of s.profile)
      lines.push(
        `| \`${f.name}\` | ${f.location} | ${f.selfPct.toFixed(1)}% | ${f.baselineSelfPct === undefined ? 'not in the stored profile' : `${f.baselineSelfPct.toFixed(1)}% (${formatSignedPct(f.selfPct - f.baselineSelfPct).replace('%', ' points')})`} |`,
      );
  }
  lines.push('');
  return lines;
}

/** The gate's report as Markdown: what CI posts on a pull request and prints to the log. */
export function formatGateMarkdown(result: GateResult): string {
  const lines = [`## agentperf gate: ${ICON[result.overall]}`, ''];
  if (result.against) {
    const measured =
      result.sides && result.sides.baseline.own && result.sides.candidate.own
        ? `, each side measured by its own agentperf (${result.sides.baseline.version} and ${result.sides.candidate.version})`
        : '';
    lines.push(
      `Paired against \`${result.against.ref}\` (${result.against.commit.slice(0, 12)}): baseline and candidate blocks alternated (ABBA) in fresh processes on this machine${measured}.`,
      '',
    );
  }
  lines.push(...policyLines(result));
  for (const s of result.scenarios) lines.push(...scenarioLines(s, result.confidence));
  if (result.notes.length) lines.push('Notes:', '', ...result.notes.map((n) => `- ${n}`), '');
  lines.push(
    `Changes are the candidate against the baseline. FAIL: worse than the tolerance and credibly worse than the baseline after Holm's correction across the metrics (at most a 5% chance of a false alarm, by default); an absolute limit (the overhead's, an SLO) FAILs only a candidate that breaks it and is worse than the base beyond the tolerance. PASS: the whole interval within the tolerance; otherwise INCONCLUSIVE. CPU is per completed iteration (the process's, and the main thread's own). Elapsed ${(result.elapsedMs / 1000).toFixed(0)} s.`,
  );
  return `${lines.join('\n')}\n`;
}

export function formatBaselines(listing: { baselines: readonly StoredBaseline[]; notes: readonly string[] }): string {
  if (listing.baselines.length === 0 && listing.notes.length === 0) return 'no baselines stored: run `agentperf baseline update`\n';
  const lines: string[] = [];
  for (const { baseline: b, file, sha256 } of listing.baselines) {
    const med = (values: number[]) => [...values].sort((x, y) => x - y)[values.length >> 1];
    const f = b.fingerprint;
    lines.push(
      `${b.scenario} (${fingerprintId(f)}: ${f.cpuModel}, ${f.cores} cores, ${f.memoryGiB} GiB class, Node ${f.node}, ${f.platform} ${f.arch}, agentperf ${f.agentperf}), ${b.blocks.length} blocks from ${b.createdAt}; calibration ${med(b.calibration.samples).toFixed(2)} µs a unit on ${b.calibration.threads} CPUs (${b.calibration.samples.length} samples)`,
    );
    lines.push(
      `  median p50 ${med(b.blocks.map((x) => x.p50Ms)).toFixed(1)} ms, p95 ${med(b.blocks.map((x) => x.p95Ms)).toFixed(1)} ms, p99 ${med(b.blocks.map((x) => x.p99Ms)).toFixed(1)} ms, throughput ${med(b.blocks.map((x) => x.throughput)).toFixed(1)}/s, peak RSS ${(med(b.blocks.map((x) => x.peakRssBytes)) / 2 ** 20).toFixed(1)} MiB`,
    );
    lines.push(`  ${file}, SHA-256 ${sha256}`);
  }
  for (const note of listing.notes) lines.push(`not read: ${note}`);
  return `${lines.join('\n')}\n`;
}

export function formatSelfTest(result: SelfTestResult): string {
  const lines = [
    "| case | machine | gates | FAIL | PASS | INCONCLUSIVE | FAIL on the case's metric | requirement | met | minutes |",
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of result.rows)
    lines.push(
      `| ${r.name} | ${r.noise ? 'with a CPU hog' : 'quiet'} | ${r.gates} | ${r.verdicts.FAIL} | ${r.verdicts.PASS} | ${r.verdicts.INCONCLUSIVE} | ${r.failedOnTarget} | ${r.requirement} | ${r.met ? 'yes' : 'NO'} | ${(r.elapsedMs / 60_000).toFixed(1)} |`,
    );
  const sp = result.servicePolicy;
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- needed: without it tsc infers the element as {} | Record (the policy's settings union)
  const s = result.policy.scenarios[0]!;
  const o = result.policy.overhead;
  const d = DEFAULT_POLICY;
  const ds = d.scenarios[0];
  lines.push(
    '',
    `The built-in mixed scenario, ${s.vus} users, ${s.settings.warm ?? 256} warm questions. The default gate's rules (tolerances, alpha ${result.policy.alpha}, Holm across the metrics, the FAIL and PASS rules); where its policy differs from the default gate's: blocks of ${s.warmupMs} ms warmup and ${s.durationMs} ms measured (default ${ds.warmupMs} and ${ds.durationMs}), ${result.policy.blocks.initial} pairs then ${result.policy.blocks.step} more at a time up to ${result.policy.blocks.max} (default ${d.blocks.initial}, ${d.blocks.step}, ${d.blocks.max}); the overhead in ${o.pairs} pairs of ${o.sliceIterations}-iteration slices after ${o.warmupPairs} warmup pair (default ${d.overhead.pairs} of ${d.overhead.sliceIterations} after ${d.overhead.warmupPairs}), limit ${o.maxPct}%; an error-rate floor of ${(result.policy.floors.errorRate * 100).toFixed(1)} points (default ${(d.floors.errorRate * 100).toFixed(1)}: the shorter blocks' candidate iterations cannot bound zero errors under it). "With a CPU hog": a busy-loop process beside the gates, the whole time. Regressions set here: ${result.settings.upstreamCpuUs.toFixed(0)} µs of CPU before each upstream call, and ${result.settings.simulatedCostUs.toFixed(0)} µs in each traced call (${result.settings.simulatedCostLostPct.toFixed(1)}% of throughput). ${(result.elapsedMs / 60_000).toFixed(1)} minutes in all.`,
  );
  if (sp && result.rows.some((r) => r.name.startsWith('service'))) {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- needed: without it tsc infers the element as {} | Record (the policy's settings union)
    const ss = sp.scenarios[0]!;
    lines.push(
      '',
      `The service cases: the built-in service scenario (its own ${ss.settings.rounds} hashes, then an SDK call to the zero-latency simulator in the same process), gated with the defaults a project's own scenario gets: ${ss.vus} users, blocks of ${ss.warmupMs} ms warmup and ${ss.durationMs} ms measured, ${sp.blocks.initial} pairs then ${sp.blocks.step} more up to ${sp.blocks.max}, the overhead in ${sp.overhead.pairs} pairs of about ${sp.overhead.sliceMs} ms slices; a budget of ${sp.budgetMs / 1000} s (the default is ${DEFAULT_POLICY.budgetMs / 1000}). The regression: the service's own work 25% larger (ownWorkScale=1.25).`,
    );
  }
  return `${lines.join('\n')}\n`;
}

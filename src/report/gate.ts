import type { Baseline } from '../gate/baseline.js';
import type { SelfTestResult } from '../gate/self-test.js';
import type { GateResult } from '../gate/run.js';
import type { MetricVerdict } from '../gate/verdict.js';
import { fingerprintId } from '../gate/fingerprint.js';
import { formatMs, formatSignedPct } from './load.js';

const UNITS: Record<string, (v: number) => string> = {
  p50: formatMs,
  p95: formatMs,
  p99: formatMs,
  throughput: (v) => `${v.toFixed(1)}/s`,
  errorRate: (v) => `${(v * 100).toFixed(3)}%`,
  peakRss: (v) => `${(v / 2 ** 20).toFixed(1)} MiB`,
  heapAfterGc: (v) => `${(v / 2 ** 20).toFixed(1)} MiB`,
  overhead: (v) => `${v.toFixed(1)}/s`,
};

function value(metric: string, v: number): string {
  if (metric.startsWith('slo.')) return metric === 'slo.errorRate' ? `${(v * 100).toFixed(3)}%` : metric === 'slo.throughput' ? `${v.toFixed(1)}/s` : `${v.toFixed(1)} ms`;
  return (UNITS[metric] ?? ((x: number) => x.toFixed(2)))(v);
}

const ICON: Record<string, string> = { PASS: '✅ PASS', FAIL: '❌ FAIL', INCONCLUSIVE: '⚠️ INCONCLUSIVE' };

function row(m: MetricVerdict): string {
  const relative = !m.metric.startsWith('slo.');
  const change = relative ? formatSignedPct(m.changePct) : '';
  const interval = relative ? `[${formatSignedPct(m.low)}, ${formatSignedPct(m.high)}] (limit ${m.metric === 'overhead' ? '' : '+'}${m.tolerancePct.toFixed(m.metric === 'errorRate' ? 2 : 0)}%)` : '';
  const baseline = m.metric.startsWith('slo.') ? `SLO ${value(m.metric, m.baseline)}` : m.metric === 'overhead' ? `${value(m.metric, m.baseline)} plain` : value(m.metric, m.baseline);
  const candidate = m.metric === 'overhead' ? `${value(m.metric, m.candidate)} instrumented` : value(m.metric, m.candidate);
  return `| ${m.metric} | ${baseline} | ${candidate} | ${change} | ${interval} | ${ICON[m.verdict]} | ${m.blocks} | ${relative ? `${m.noisePct.toFixed(1)}%` : ''} |`;
}

/** The gate's report as Markdown: what CI posts on a pull request and prints to the log. */
export function formatGateMarkdown(result: GateResult): string {
  const lines = [`## agentperf gate: ${ICON[result.overall]}`, ''];
  if (result.against) lines.push(`Paired against \`${result.against}\`: baseline and candidate blocks alternated (ABBA) in fresh processes on this machine.`, '');
  for (const s of result.scenarios) {
    lines.push(`### \`${s.scenario}\` (${s.mode === 'paired' ? `${s.candidateBlocks} pairs` : `${s.candidateBlocks} candidate blocks against ${s.baselineBlocks} stored`}): ${ICON[s.judgement.overall]}`, '');
    lines.push('| metric | baseline | candidate | change | 95% interval | verdict | blocks | noise |', '| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const m of s.judgement.metrics) lines.push(row(m));
    lines.push('');
    const notable = s.judgement.metrics.filter((m) => m.verdict !== 'PASS');
    for (const m of notable) lines.push(`- **${m.metric}** ${m.verdict}: ${m.reason}`);
    if (s.profile) {
      lines.push('', `Where the candidate spends its time (CPU profile, top functions by self time):`, '', '| function | location | self % | baseline self % |', '| --- | --- | --- | --- |');
      for (const f of s.profile) lines.push(`| \`${f.name}\` | ${f.location} | ${f.selfPct.toFixed(1)}% | ${f.baselineSelfPct === undefined ? 'not in the stored profile' : `${f.baselineSelfPct.toFixed(1)}% (${formatSignedPct(f.selfPct - f.baselineSelfPct).replace('%', ' points')})`} |`);
    }
    lines.push('');
  }
  lines.push(`Change is signed so that positive is worse (slower, less throughput, more memory or errors). FAIL needs the whole interval beyond the limit after Holm's correction across the metrics; PASS needs it within. Elapsed ${(result.elapsedMs / 1000).toFixed(0)} s.`);
  return `${lines.join('\n')}\n`;
}

export function formatBaselines(baselines: readonly Baseline[]): string {
  if (baselines.length === 0) return 'no baselines stored: run `agentperf baseline update`\n';
  const lines: string[] = [];
  for (const b of baselines) {
    const med = (values: number[]) => [...values].sort((x, y) => x - y)[values.length >> 1]!;
    lines.push(`${b.scenario} (${fingerprintId(b.fingerprint)}: ${b.fingerprint.cpuModel}, ${b.fingerprint.cores} cores, Node ${b.fingerprint.node}, ${b.fingerprint.os}, agentperf ${b.fingerprint.agentperf}), ${b.blocks.length} blocks from ${b.createdAt}`);
    lines.push(`  median p50 ${med(b.blocks.map((x) => x.p50Ms)).toFixed(1)} ms, p95 ${med(b.blocks.map((x) => x.p95Ms)).toFixed(1)} ms, p99 ${med(b.blocks.map((x) => x.p99Ms)).toFixed(1)} ms, throughput ${med(b.blocks.map((x) => x.throughput)).toFixed(1)}/s, peak RSS ${(med(b.blocks.map((x) => x.peakRssBytes)) / 2 ** 20).toFixed(1)} MiB`);
  }
  return `${lines.join('\n')}\n`;
}

export function formatSelfTest(result: SelfTestResult): string {
  const lines = ['| case | gates | FAIL | PASS | INCONCLUSIVE | requirement | met |', '| --- | --- | --- | --- | --- | --- | --- |'];
  for (const r of result.rows) lines.push(`| ${r.name} | ${r.gates} | ${r.verdicts.FAIL} | ${r.verdicts.PASS} | ${r.verdicts.INCONCLUSIVE} | ${r.requirement} | ${r.met ? 'yes' : 'NO'} |`);
  lines.push('', `synthetic scenario, 5% tolerance on p50/p95/throughput; elapsed ${(result.elapsedMs / 60_000).toFixed(1)} min`);
  return `${lines.join('\n')}\n`;
}

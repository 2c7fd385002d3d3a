import { join } from 'node:path';
import { describeChange, describeInterval, describeLoss, describeTolerance } from './change.js';
import { formatMetricValue, metricLabel, shownVerdict } from './gate.js';
import { formatMs, formatSignedPct } from './load.js';
import type { OverheadSummary, RunRecord } from '../pipeline/record.js';
import { hdrRows, type PercentileSnapshot } from '../stats/hdr.js';

/** The files a run's reports are written to. */
export interface RunFiles {
  dir: string;
  json: string;
  html: string;
  markdown: string;
}

const hdrLine = (h: PercentileSnapshot) =>
  h.count === 0
    ? 'none recorded'
    : `${h.count.toLocaleString('en-US')} recorded: p50 ${formatMs(h.p50)}, p99 ${formatMs(h.p99)}, p99.9 ${formatMs(h.p999)}, max ${formatMs(h.max)}`;

/** A percentage to the whole point, never "-0%". */
const wholePct = (v: number) => `${Math.round(v) === 0 ? 0 : Math.round(v)}%`;

/** The overhead in a line: its verdict, the throughput lost (its sign kept) against the limit and the base, and the CPU it added. */
export function overheadLine(o: OverheadSummary): string {
  const base = Number.isFinite(o.baseline) ? `; the baseline's ${o.baseline.toFixed(1)}%, ${describeChange(o)} (${describeInterval(o)})` : '';
  return `${shownVerdict(o)}: ${Math.abs(o.throughputLostPct).toFixed(1)}% of throughput ${o.throughputLostPct >= 0 ? 'lost' : 'gained'} (${describeLoss(o.throughputLostLowPct, o.throughputLostHighPct)}), limit ${o.limit}%${base}; CPU per iteration ${formatSignedPct(o.mainThreadAddedPct)} on the main thread (${wholePct(o.mainThreadLowPct)} to ${wholePct(o.mainThreadHighPct)}), ${formatSignedPct(o.cpuAddedPct)} for the process`;
}

/** What the provider did to the orchestrator while measuring (its retries by reason), when the scenario counted it. */
export function upstreamRow(run: RunRecord): Array<[string, string]> {
  const counted = Object.entries(run.load.counters ?? {});
  return counted.length === 0 ? [] : [['upstream (while measuring)', counted.map(([name, n]) => `${name} ${n.toLocaleString('en-US')}`).join(', ')]];
}

/** The summary's lines, shared by the terminal and the Markdown report. */
function summaryRows(run: RunRecord): Array<[string, string]> {
  const { load } = run;
  return [
    ['verdict', run.verdict],
    ['throughput', `${load.throughput.toFixed(1)}/s (${load.completed.toLocaleString('en-US')} completed, ${load.dropped} dropped)`],
    [
      'latency (corrected)',
      `p50 ${formatMs(load.latency.p50)}, p95 ${formatMs(load.latency.p95)}, p99 ${formatMs(load.latency.p99)}, max ${formatMs(load.latency.max)}`,
    ],
    ['service time', `p50 ${formatMs(load.serviceTime.p50)}, p95 ${formatMs(load.serviceTime.p95)}, p99 ${formatMs(load.serviceTime.p99)}`],
    [
      'errors',
      `${load.errors} (${load.completed ? ((load.errors / load.completed) * 100).toFixed(2) : '0.00'}%)${
        Object.keys(load.errorsByType).length
          ? `: ${Object.entries(load.errorsByType)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')}`
          : ''
      }`,
    ],
    ...upstreamRow(run),
    [
      'cache hit rate',
      run.cache.hitRate === undefined
        ? 'no lookups'
        : `${(run.cache.hitRate * 100).toFixed(1)}% (${Object.entries(run.cache.totals.hits)
            .map(([tier, n]) => `${n} ${tier} hits, `)
            .join('')}${run.cache.totals.misses} misses, ${run.cache.totals.evictions} evictions, ${run.cache.totals.integrityFailures} integrity failures)`,
    ],
    ['observability overhead', overheadLine(run.overhead)],
    [
      'leak check',
      `${run.leak.verdict}: ${run.leak.slope.slope.toFixed(1)} bytes per iteration [${run.leak.slope.low.toFixed(1)}, ${run.leak.slope.high.toFixed(1)}] (as \`${run.leak.command}\`)`,
    ],
    ...hdrRows(run.hdr).map(([label, h]): [string, string] => [label, hdrLine(h)]),
    ['generator', run.load.generator.trusted ? 'trusted' : `UNTRUSTED: ${run.load.generator.reasons.join('; ')}`],
  ];
}

function gateLines(run: RunRecord): string[] {
  if (run.gate.status === 'skipped') return ['gate: skipped (--no-gate)'];
  if (run.gate.status === 'no-baseline') return [`gate: NO BASELINE. ${run.gate.message}`];
  return run.gate.result.scenarios.flatMap((s) => [
    `gate ${s.scenario}: ${s.judgement.overall} (${s.baselineBlocks} baseline blocks, ${s.candidateBlocks} candidate blocks)`,
    ...(s.judgement.refused ? [`  not judged: ${s.judgement.refused}`] : []),
    ...s.judgement.metrics.map(
      (m) =>
        `  ${metricLabel(m.metric).padEnd(22)} ${shownVerdict(m).padEnd(12)} ${[describeChange(m), describeInterval(m) && `(${describeInterval(m)})`, describeTolerance(m) && `tolerance ${describeTolerance(m)}`].filter(Boolean).join(' ')}`,
    ),
  ]);
}

/** What `agentperf run` prints on stdout. */
export function formatRunText(run: RunRecord, files: RunFiles): string {
  const rows = summaryRows(run);
  const width = Math.max(...rows.map(([k]) => k.length));
  const top = run.profile.bottlenecks.bySelf.slice(0, 5).map((f) => `  ${f.selfPct.toFixed(1).padStart(5)}%  ${f.name}  ${f.location}`);
  return (
    [
      `agentperf run: ${run.scenario} on the ${run.target}, ${(run.elapsedMs / 1000).toFixed(0)} s`,
      ...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`),
      `top functions by self time (${run.profile.phase} phase):`,
      ...top,
      ...gateLines(run),
      ...run.warnings.map((w) => `WARNING: ${w}`),
      `report: ${files.html}`,
      `        ${files.markdown}`,
      `        ${files.json}`,
      ...(run.profile.flamegraph ? [`flamegraph: ${join(files.dir, run.profile.flamegraph)}`] : []),
    ].join('\n') + '\n'
  );
}

export function renderRunMarkdown(run: RunRecord): string {
  const { load } = run;
  const row = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`;
  const lines = [
    `# agentperf run: ${run.scenario}, ${run.startedAt}`,
    '',
    `Target: ${run.target}. Reproduce with \`${run.command}\`.`,
    '',
    row(['', '']),
    row(['---', '---']),
    ...summaryRows(run).map(([k, v]) => row([k, v])),
    '',
    ...(run.warnings.length ? ['## Warnings', '', ...run.warnings.map((w) => `- ${w}`), ''] : []),
    '## Phases',
    '',
    row(['phase', 'seconds', 'arrival rate']),
    row(['---', '---', '---']),
    ...run.phases.map((p) => row([p.name, `${p.startS}-${p.endS}`, p.fromRate === p.toRate ? `${p.fromRate}/s` : `${p.fromRate} → ${p.toRate}/s`])),
    '',
    '## Latency',
    '',
    row(['', 'p50', 'p90', 'p95', 'p99', 'p99.9', 'max']),
    row(['---', '---', '---', '---', '---', '---', '---']),
    row(['corrected', ...[load.latency.p50, load.latency.p90, load.latency.p95, load.latency.p99, load.latency.p999, load.latency.max].map(formatMs)]),
    row([
      'service time',
      ...[load.serviceTime.p50, load.serviceTime.p90, load.serviceTime.p95, load.serviceTime.p99, load.serviceTime.p999, load.serviceTime.max].map(formatMs),
    ]),
    '',
    '## The gate',
    '',
  ];
  if (run.gate.status === 'judged') {
    for (const s of run.gate.result.scenarios) {
      lines.push(
        `${s.scenario}: **${s.judgement.overall}**`,
        '',
        row(['metric', 'verdict', 'baseline', 'this run', 'change', `${+(run.gate.result.confidence * 100).toFixed(2)}% interval`, 'tolerance']),
        row(['---', '---', '---', '---', '---', '---', '---']),
      );
      for (const m of s.judgement.metrics)
        lines.push(
          row([
            metricLabel(m.metric),
            shownVerdict(m),
            formatMetricValue(m.metric, m.baseline),
            formatMetricValue(m.metric, m.candidate),
            describeChange(m),
            describeInterval(m),
            describeTolerance(m),
          ]),
        );
      lines.push('');
    }
  } else lines.push(...gateLines(run), '');
  lines.push(
    `## Where the time goes (${run.profile.phase} phase)`,
    '',
    run.profile.flamegraph
      ? `Flamegraph: [${run.profile.flamegraph}](${run.profile.flamegraph})`
      : `No flamegraph: ${run.profile.flamegraphError ?? 'not rendered'}`,
    '',
    row(['function', 'where', 'self', 'total']),
    row(['---', '---', '---', '---']),
    ...run.profile.bottlenecks.bySelf.map((f) => row([`\`${f.name}\``, `\`${f.location}\``, `${f.selfPct.toFixed(1)}%`, `${f.totalPct.toFixed(1)}%`])),
    '',
    '## Environment',
    '',
    ...Object.entries(run.fingerprint).map(([k, v]) => `- ${k}: ${v}`),
    `- fingerprint id: ${run.fingerprintId}`,
    '',
  );
  return lines.join('\n');
}

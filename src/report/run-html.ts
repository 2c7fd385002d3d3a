import { describeChange, describeInterval, describeLoss, describeTolerance } from './change.js';
import { formatMetricValue, metricLabel, shownVerdict } from './gate.js';
import { formatMs } from './load.js';
import { overheadLine, upstreamRow } from './run-report.js';
import type { RunRecord } from '../pipeline/record.js';
import { hdrRows } from '../stats/hdr.js';

/** uPlot (MIT, ~50 KB) draws the charts: its script and stylesheet, inlined so the report opens with no network. The caller reads them; this module only formats. */
export interface UplotAssets {
  js: string;
  css: string;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
/** JSON inside a <script> element: `</script>` and friends must not end it early. */
const scriptJson = (value: unknown) =>
  JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');

const VERDICT_CLASS: Record<string, string> = {
  PASS: 'pass',
  FAIL: 'fail',
  INCONCLUSIVE: 'warn',
  WARN: 'warn',
  'NO BASELINE': 'warn',
  'NOT GATED': 'muted',
  CLEAN: 'pass',
  LEAK: 'fail',
};
// (INCONCLUSIVE leak checks share the gate's 'warn'.)
const badge = (text: string) => `<span class="badge ${VERDICT_CLASS[text] ?? 'muted'}">${escapeHtml(text)}</span>`;

function table(id: string, head: string[], rows: string[][], rowAttributes: string[] = []): string {
  return `<table id="${id}"><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r, i) => `<tr${rowAttributes[i] ? ` ${rowAttributes[i]}` : ''}>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

function gateSection(run: RunRecord): string {
  if (run.gate.status === 'skipped') return '<p>The gate was skipped (<code>--no-gate</code>).</p>';
  if (run.gate.status === 'no-baseline') return `<p>${badge('NO BASELINE')} ${escapeHtml(run.gate.message)}</p>`;
  const confidence = run.gate.result.confidence;
  const sections = run.gate.result.scenarios.map((s) => {
    const rows = s.judgement.metrics.map((m) => [
      escapeHtml(metricLabel(m.metric)),
      badge(shownVerdict(m)),
      escapeHtml(formatMetricValue(m.metric, m.baseline)),
      escapeHtml(formatMetricValue(m.metric, m.candidate)),
      escapeHtml(describeChange(m)),
      escapeHtml(describeInterval(m)),
      escapeHtml(describeTolerance(m)),
      String(m.blocks),
      escapeHtml(m.reason),
    ]);
    const refused = s.judgement.refused ? `<p>${badge('INCONCLUSIVE')} Not judged: ${escapeHtml(s.judgement.refused)}.</p>` : '';
    return `<h3>${escapeHtml(s.scenario)}: ${badge(s.judgement.overall)} (${s.baselineBlocks} baseline blocks, ${s.candidateBlocks} candidate blocks)</h3>${refused}${table(
      'verdict-table',
      ['metric', 'verdict', 'baseline', 'this run', 'change', `${+(confidence * 100).toFixed(2)}% interval`, 'tolerance', 'blocks', 'why'],
      rows,
      s.judgement.metrics.map((m) => `data-metric="${escapeHtml(m.metric)}"`),
    )}`;
  });
  return sections.join('');
}

/**
 * The run's report as one self-contained HTML file: the record as JSON in the page, uPlot
 * and its CSS inlined, charts drawn on load. Nothing is fetched; the flamegraph is a link to
 * the file beside it. The page is its sections, in order.
 */
export function renderRunHtml(run: RunRecord, uplot: UplotAssets): string {
  const title = `agentperf run: ${run.scenario}, ${run.startedAt}`;
  return [
    head(title, uplot),
    summarySection(run, title),
    overTimeSection(run),
    distributionSection(run),
    cacheSection(run),
    `<h2>The gate</h2>\n${gateSection(run)}\n`,
    overheadSection(run),
    profileSection(run),
    leakSection(run),
    environmentSection(run),
    charts(run),
  ].join('\n');
}

function head(title: string, uplot: UplotAssets): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${uplot.css}
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 16px 24px; color: #1d1d1f; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; } h3 { font-size: 15px; }
table { border-collapse: collapse; margin: 8px 0; } th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; } th { background: #f5f5f7; }
code { font-size: 12px; } .chart { margin: 8px 0 16px; min-height: 320px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 600; font-size: 12px; }
.pass { background: #d7f5dd; color: #135c22; } .fail { background: #fbd5d5; color: #8a1111; } .warn { background: #fdf0c4; color: #6b5000; } .muted { background: #eee; color: #555; }
.note { color: #555; }
</style>
<script>${uplot.js}</script>
</head>
<body>`;
}

function summarySection(run: RunRecord, title: string): string {
  const { load } = run;
  const summary = [
    ['verdict', badge(run.verdict)],
    ['throughput', `${load.throughput.toFixed(1)}/s`],
    ['latency p50 / p95 / p99', `${formatMs(load.latency.p50)} / ${formatMs(load.latency.p95)} / ${formatMs(load.latency.p99)}`],
    ...(load.stream
      ? [
          [
            'time to first chunk p50 / p95 / p99',
            `${formatMs(load.stream.timeToFirstChunk.p50)} / ${formatMs(load.stream.timeToFirstChunk.p95)} / ${formatMs(load.stream.timeToFirstChunk.p99)}`,
          ],
        ]
      : []),
    ['errors', `${load.errors} (${load.completed ? ((load.errors / load.completed) * 100).toFixed(2) : '0.00'}%)`],
    ...upstreamRow(run).map(([name, text]) => [name, escapeHtml(text)]),
    ['cache hit rate', run.cache.hitRate === undefined ? 'no lookups' : `${(run.cache.hitRate * 100).toFixed(1)}%`],
    [
      'observability overhead',
      `${escapeHtml(describeLoss(run.overhead.throughputLostLowPct, run.overhead.throughputLostHighPct))} ${badge(shownVerdict(run.overhead))}`,
    ],
    ['leak check', badge(run.leak.verdict)],
  ];
  return `<h1>${escapeHtml(title)}</h1>
<p class="note">Target: ${escapeHtml(run.target)}. Elapsed ${(run.elapsedMs / 1000).toFixed(0)} s. Reproduce with <code>${escapeHtml(run.command)}</code>.</p>
${table('summary', ['', ''], summary)}
${run.warnings.length ? `<h2>Warnings</h2><ul id="warnings">${run.warnings.map((w) => `<li class="warn-line">${escapeHtml(w)}</li>`).join('')}</ul>` : ''}
`;
}

function overTimeSection(run: RunRecord): string {
  const phases = run.phases.map((p) => [
    escapeHtml(p.name),
    `${p.startS}-${p.endS} s`,
    p.fromRate === p.toRate ? `${p.fromRate}/s` : `${p.fromRate} → ${p.toRate}/s`,
  ]);
  return `<h2>Latency and throughput over time</h2>
${table('phases', ['phase', 'seconds', 'arrival rate'], phases)}
<div class="chart" id="chart-latency" data-chart="latency"></div>
${run.series.some((p) => p.ttfcP95 !== undefined) ? '<div class="chart" id="chart-ttfc" data-chart="ttfc"></div>\n' : ''}<div class="chart" id="chart-throughput" data-chart="throughput"></div>
`;
}

function distributionSection(run: RunRecord): string {
  const { load } = run;
  return `<h2>Latency distribution</h2>
<p class="note">HDR style: percentiles on a log scale (each step right is ten times rarer). Corrected latency counts from each request's intended start (coordinated omission corrected); service time from its actual start.</p>
<div class="chart" id="chart-distribution" data-chart="distribution"></div>
${table(
  'latency-table',
  ['', 'p50', 'p90', 'p95', 'p99', 'p99.9', 'max'],
  [
    ['corrected', ...[load.latency.p50, load.latency.p90, load.latency.p95, load.latency.p99, load.latency.p999, load.latency.max].map(formatMs)],
    [
      'service time',
      ...[load.serviceTime.p50, load.serviceTime.p90, load.serviceTime.p95, load.serviceTime.p99, load.serviceTime.p999, load.serviceTime.max].map(formatMs),
    ],
  ],
)}

<p class="note">The instrumentation's in-process HDR histograms over the same load (every agent call, memory hits included; queue wait; cache gets by tier):</p>
${table(
  'hdr-table',
  ['histogram', 'count', 'p50', 'p90', 'p99', 'p99.9', 'max'],
  hdrRows(run.hdr).map(([label, h]) => [
    escapeHtml(label.replace(/^HDR /, '')),
    h.count.toLocaleString('en-US'),
    ...[h.p50, h.p90, h.p99, h.p999, h.max].map((v) => (h.count ? formatMs(v) : '')),
  ]),
)}
`;
}

function cacheSection(run: RunRecord): string {
  const totals = [
    ...Object.entries(run.cache.totals.hits).map(([tier, n]) => [`${tier} hits`, n]),
    ['misses', run.cache.totals.misses],
    ['bypassed', run.cache.totals.bypassed],
    ['evictions', run.cache.totals.evictions],
    ['expirations', run.cache.totals.expirations],
    ['integrity failures', run.cache.totals.integrityFailures],
  ].map(([k, v]) => [String(k), Number(v).toLocaleString('en-US')]);
  return `<h2>The cache</h2>
<div class="chart" id="chart-cache" data-chart="cache"></div>
${table('cache-table', ['', 'count'], totals)}
`;
}

function overheadSection(run: RunRecord): string {
  const o = run.overhead;
  return `<h2>Observability overhead</h2>
<p>Instrumentation fully on against off, in ${o.pairs} pairs of ${o.sliceIterations}-iteration slices of one process: ${badge(shownVerdict(o))} ${escapeHtml(overheadLine(o).replace(/^\w+: /, ''))}. ${escapeHtml(o.reason)}. On, every span was exported as OTLP http/protobuf (through the export worker) to a local receiver: ${o.telemetry.spansExported.toLocaleString('en-US')} delivered, ${o.telemetry.spansDropped} dropped, ${o.telemetry.spansFailed} failed; /metrics scraped ${o.telemetry.scrapes} times.</p>
`;
}

function profileSection(run: RunRecord): string {
  const bottlenecks = run.profile.bottlenecks.bySelf.map((f) => [
    escapeHtml(f.name),
    `<code>${escapeHtml(f.location)}</code>`,
    `${f.selfPct.toFixed(1)}%`,
    `${f.totalPct.toFixed(1)}%`,
  ]);
  return `<h2>Where the time goes</h2>
<p>CPU profile of the ${escapeHtml(run.profile.phase)} phase: ${run.profile.flamegraph ? `<a id="flamegraph-link" href="${escapeHtml(run.profile.flamegraph)}">the flamegraph</a>` : `no flamegraph (${escapeHtml(run.profile.flamegraphError ?? 'not rendered')})`}, <a href="${escapeHtml(run.profile.cpuprofile)}">the .cpuprofile</a> (Chrome DevTools, speedscope). GC ${((run.profile.bottlenecks.gcMs / run.profile.bottlenecks.totalMs) * 100).toFixed(1)}%, idle ${((run.profile.bottlenecks.idleMs / run.profile.bottlenecks.totalMs) * 100).toFixed(1)}% of ${(run.profile.bottlenecks.totalMs / 1000).toFixed(1)} s.</p>
${table('bottlenecks', ['function', 'where', 'self', 'total'], bottlenecks)}
`;
}

function leakSection(run: RunRecord): string {
  return `<h2>Leak check</h2>
<p>${badge(run.leak.verdict)} ${run.leak.slope.slope.toFixed(1)} bytes retained per iteration (95% interval ${run.leak.slope.low.toFixed(1)} to ${run.leak.slope.high.toFixed(1)}; LEAK above ${run.leak.thresholdBytesPerIteration}) over ${run.leak.rounds} rounds of ${run.leak.iterationsPerRound} iterations, the same check as <code>${escapeHtml(run.leak.command)}</code>.${run.leak.note ? ` ${escapeHtml(run.leak.note)}` : ''}</p>
${
  run.leak.leakedClasses?.length
    ? table(
        'leaked-classes',
        ['class', 'objects left', 'bytes', 'held by'],
        run.leak.leakedClasses.map((c) => [
          escapeHtml(c.className),
          String(c.count),
          c.bytes.toLocaleString('en-US'),
          `<code>${escapeHtml(c.retainerPath.join(' → '))}</code>`,
        ]),
      )
    : ''
}
`;
}

function environmentSection(run: RunRecord): string {
  const fingerprint = Object.entries(run.fingerprint).map(([k, v]) => [escapeHtml(k), escapeHtml(String(v))]);
  return `<h2>Environment</h2>
${table('fingerprint', ['', ''], [...fingerprint, ['fingerprint id', run.fingerprintId], ['metrics', run.metricsUrl ? escapeHtml(run.metricsUrl) : 'off']])}
`;
}

/** The record as JSON in the page, and the script that draws every chart from it on load. */
function charts(run: RunRecord): string {
  return `<script type="application/json" id="run-data">${scriptJson(run)}</script>
<script>
(function () {
  const run = JSON.parse(document.getElementById('run-data').textContent);
  const width = () => Math.max(600, document.querySelector('.chart').clientWidth);
  // A point stands for its whole second: drawn at the middle of it, so it sits inside its phase.
  const seconds = run.series.map((p) => p.second - 0.5);
  const xRange = [0, Math.max(run.phases[run.phases.length - 1].endS, run.series.length)];
  const phaseBands = {
    hooks: {
      drawClear: [(u) => {
        const ctx = u.ctx;
        run.phases.forEach((p, i) => {
          const x0 = u.valToPos(p.startS, 'x', true), x1 = u.valToPos(p.endS, 'x', true);
          ctx.fillStyle = i % 2 ? 'rgba(0,0,0,0.035)' : 'rgba(0,0,0,0)';
          ctx.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height);
          ctx.fillStyle = '#888';
          ctx.font = (12 * devicePixelRatio) + 'px sans-serif';
          ctx.fillText(p.name, x0 + 4 * devicePixelRatio, u.bbox.top + 14 * devicePixelRatio);
        });
      }],
    },
  };
  const axis = (label, scale, side) => ({ label, scale, side, grid: { show: side !== 1 } });
  new uPlot({
    title: 'Latency (corrected) per second, with the arrival rate', width: width(), height: 320, plugins: [phaseBands],
    scales: { x: { time: false, range: xRange }, ms: {}, rate: {} },
    series: [{ label: 's' },
      { label: 'p50 ms', scale: 'ms', stroke: '#2a9d8f', width: 2 },
      { label: 'p95 ms', scale: 'ms', stroke: '#e9c46a', width: 2 },
      { label: 'p99 ms', scale: 'ms', stroke: '#e76f51', width: 2 },
      { label: 'arrival rate /s', scale: 'rate', stroke: '#264653', dash: [6, 4], width: 1 }],
    axes: [{ label: 'seconds' }, axis('ms', 'ms', 3), axis('arrivals/s', 'rate', 1)],
  }, [seconds, run.series.map((p) => p.completed ? p.p50 : null), run.series.map((p) => p.completed ? p.p95 : null), run.series.map((p) => p.completed ? p.p99 : null), run.series.map((p) => p.targetRate ?? null)], document.getElementById('chart-latency'));
  // A run whose scenario streams: its time to first chunk per second (corrected, like latency).
  const ttfcChart = document.getElementById('chart-ttfc');
  if (ttfcChart) new uPlot({
    title: 'Time to first chunk (corrected) per second', width: width(), height: 280, plugins: [phaseBands],
    scales: { x: { time: false, range: xRange }, ms: {} },
    series: [{ label: 's' },
      { label: 'ttfc p50 ms', scale: 'ms', stroke: '#2a9d8f', width: 2 },
      { label: 'ttfc p95 ms', scale: 'ms', stroke: '#e9c46a', width: 2 }],
    axes: [{ label: 'seconds' }, axis('ms', 'ms', 3)],
  }, [seconds, run.series.map((p) => p.ttfcP50 ?? null), run.series.map((p) => p.ttfcP95 ?? null)], ttfcChart);
  new uPlot({
    title: 'Throughput and errors per second', width: width(), height: 280, plugins: [phaseBands],
    scales: { x: { time: false, range: xRange }, n: {}, e: {} },
    series: [{ label: 's' },
      { label: 'arrival rate /s', scale: 'n', stroke: '#264653', dash: [6, 4] },
      { label: 'completed /s', scale: 'n', stroke: '#2a9d8f', width: 2 },
      { label: 'errors /s', scale: 'e', stroke: '#d62828', width: 2 },
      { label: 'dropped /s', scale: 'e', stroke: '#9b2226', dash: [2, 2] }],
    axes: [{ label: 'seconds' }, axis('per second', 'n', 3), axis('errors, dropped /s', 'e', 1)],
  }, [seconds, run.series.map((p) => p.targetRate ?? null), run.series.map((p) => p.completed), run.series.map((p) => p.errors), run.series.map((p) => p.dropped)], document.getElementById('chart-throughput'));
  // Percentile p at x = log10(1 / (1 - p)): 90% at 1, 99% at 2, 99.9% at 3; 100% drawn at 5.
  const nines = (p) => (p >= 100 ? 5 : Math.min(5, -Math.log10(1 - p / 100)));
  const d = run.distribution;
  new uPlot({
    title: 'Latency by percentile', width: width(), height: 320,
    scales: { x: { time: false, range: [0, 5] }, y: { distr: 3 } },
    series: [{ label: 'percentile', value: (u, x) => x == null ? '' : (100 - 100 / Math.pow(10, x)).toPrecision(6) + '%' },
      { label: 'corrected ms', stroke: '#e76f51', width: 2, points: { show: true } },
      { label: 'service time ms', stroke: '#457b9d', width: 2, points: { show: true } }],
    axes: [{ label: 'percentile', splits: () => [0, 1, 2, 3, 4, 5], values: (u, xs) => xs.map((x) => ['0%', '90%', '99%', '99.9%', '99.99%', 'max'][x]) }, { label: 'ms (log)' }],
  }, [d.percentiles.map(nines), d.latencyMs.map((v) => Math.max(v, 0.001)), d.serviceMs.map((v) => Math.max(v, 0.001))], document.getElementById('chart-distribution'));
  const hits = (c) => Object.values(c.hits).reduce((sum, n) => sum + n, 0);
  const rate = (c) => { const n = hits(c) + c.misses; return n ? (100 * hits(c)) / n : null; };
  new uPlot({
    title: 'Cache: hit rate, evictions and integrity failures per second', width: width(), height: 280, plugins: [phaseBands],
    scales: { x: { time: false, range: xRange }, pct: { range: [0, 100] }, n: {} },
    series: [{ label: 's' },
      { label: 'hit rate %', scale: 'pct', stroke: '#2a9d8f', width: 2 },
      { label: 'memory hits /s', scale: 'n', stroke: '#8ab17d' },
      { label: 'evictions /s', scale: 'n', stroke: '#f4a261' },
      { label: 'integrity failures /s', scale: 'n', stroke: '#d62828' }],
    axes: [{ label: 'seconds' }, axis('hit rate %', 'pct', 3), axis('per second', 'n', 1)],
  }, [seconds, run.series.map((p) => rate(p.cache)), run.series.map((p) => p.cache.hits.memory ?? 0), run.series.map((p) => p.cache.evictions), run.series.map((p) => p.cache.integrityFailures)], document.getElementById('chart-cache'));
})();
</script>
</body>
</html>
`;
}

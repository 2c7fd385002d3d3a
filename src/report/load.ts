import Table from 'cli-table3';
import type { SeriesPoint } from '../load/engine.js';
import type { MergedHdr } from '../load/hdr-log.js';
import type { LoadReport } from '../load/run.js';
import type { PercentileSnapshot } from '../stats/hdr.js';

const style = { head: [], border: [] };

/** Milliseconds, with precision where it matters. */
/** A change in percent with its sign: `+3.2%`, `-0.5%`. */
export function formatSignedPct(pct: number): string {
  return `${pct >= 0 ? '+' : ''}${pct.toFixed(1)}%`;
}

export function formatMs(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(1)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const count = (n: number) => n.toLocaleString('en-US');

function latencyRow(name: string, s: PercentileSnapshot): string[] {
  return [name, ...[s.p50, s.p90, s.p95, s.p99, s.p999, s.max, s.mean, s.stdev].map(formatMs)];
}

export function latencyTable(rows: Array<[string, PercentileSnapshot]>): string {
  const table = new Table({ head: ['latency', 'p50', 'p90', 'p95', 'p99', 'p99.9', 'max', 'mean', 'stdev'], style });
  for (const [name, s] of rows) table.push(latencyRow(name, s));
  return table.toString();
}

/** The live progress line (stderr), once a second. */
export function formatProgress(point: SeriesPoint): string {
  const target = point.targetRate === undefined ? '' : `/${Math.round(point.targetRate)}`;
  const ttfc = point.ttfcP95 === undefined ? '' : `  ttfc p95 ${formatMs(point.ttfcP95)}`;
  return `${String(point.second).padStart(4)}s  rate ${point.completed}${target}/s  p95 ${formatMs(point.p95)}${ttfc}  errors ${point.errors}  dropped ${point.dropped}  in flight ${point.inFlight}`;
}

export function formatLoadReport(report: LoadReport): string {
  const r = report.result;
  const shape = report.shape.kind === 'open' ? `open loop, ${report.shape.pattern}` : `closed loop, ${report.shape.vus} virtual users`;
  const lines: string[] = [`scenario ${report.scenario.name} (${shape}), target ${report.target.kind === 'http' ? report.target.url : 'in-process'}`];

  const summary = new Table({ style });
  summary.push(
    { measured: `${(r.measuredMs / 1000).toFixed(1)} s after ${(report.warmupMs / 1000).toFixed(1)} s warmup` },
    { throughput: `${r.throughput.toFixed(1)}/s${r.targetRate === undefined ? '' : ` (target ${r.targetRate.toFixed(1)}/s)`}` },
    { iterations: `${count(r.completed)} completed, ${count(r.started)} started${report.shape.kind === 'open' ? `, ${count(r.scheduled)} scheduled` : ''}` },
    {
      errors: `${count(r.errors)} (${(r.completed ? (100 * r.errors) / r.completed : 0).toFixed(2)}%)${
        Object.keys(r.errorsByType).length
          ? `: ${Object.entries(r.errorsByType)
              .map(([type, n]) => `${type} ${n}`)
              .join(', ')}`
          : ''
      }`,
    },
    { dropped: `${count(r.dropped)}${r.unfinished ? `, ${count(r.unfinished)} unfinished at the drain timeout` : ''}` },
  );
  if (report.shape.kind === 'open')
    summary.push({ 'scheduling lag': `p50 ${formatMs(r.schedulingLag.p50)}, p99 ${formatMs(r.schedulingLag.p99)}, max ${formatMs(r.schedulingLag.max)}` });
  lines.push(summary.toString());

  lines.push(
    latencyTable(
      report.shape.kind === 'open'
        ? [
            ['corrected (from intended start)', r.latency],
            ['service time (from actual start)', r.serviceTime],
          ]
        : [['service time (closed loop)', r.serviceTime]],
    ),
  );
  if (r.stream) {
    const closed = report.shape.kind !== 'open';
    lines.push(
      latencyTable([
        [`time to first chunk (${closed ? 'from start' : 'corrected'}; ${count(r.stream.streams)} streams)`, r.stream.timeToFirstChunk],
        ['time per output chunk', r.stream.timePerOutputChunk],
      ]),
    );
    const rate = r.stream.outputTokensPerSecond;
    if (rate.count > 0) lines.push(`output tokens per second per stream: median ${rate.p50.toFixed(0)}, mean ${rate.mean.toFixed(0)}`);
  }
  // What the scenario counted while measuring: for the agent scenarios, what the provider did to
  // the orchestrator (retries after 429 rate_limit_error and 529 overloaded_error).
  const counted = Object.entries(report.counters ?? {});
  if (counted.length > 0) lines.push(`while measuring: ${counted.map(([name, n]) => `${name} ${count(n)}`).join(', ')}`);

  const g = report.resources.generator;
  const resources = new Table({
    head: ['process', 'CPU mean / max (all threads)', 'main thread busy', 'RSS start → end (max)', 'heap max', 'event-loop delay p99', 'GC pauses'],
    style,
  });
  resources.push([
    'generator',
    `${g.cpuMeanPct.toFixed(0)}% / ${g.cpuMaxPct.toFixed(0)}%`,
    `${g.mainThreadBusyMeanPct.toFixed(0)}%`,
    `${mib(g.rssStartBytes)} → ${mib(g.rssEndBytes)} (${mib(g.rssMaxBytes)})`,
    mib(g.heapUsedMaxBytes),
    formatMs(g.eventLoopDelay.p99),
    `${g.gc.count}, ${g.gc.totalPauseMs.toFixed(0)} ms total, max ${g.gc.maxPauseMs.toFixed(1)} ms`,
  ]);
  for (const w of report.workers ?? [])
    resources.push([
      `  worker ${w.index} (${w.completed.toLocaleString('en-US')} done)`,
      '',
      `${w.mainThreadBusyMeanPct.toFixed(0)}%${w.trusted ? '' : ' (untrusted)'}`,
      '',
      '',
      formatMs(w.eventLoopDelayP99),
      '',
    ]);
  const t = report.resources.target;
  if (t)
    resources.push([
      `target (pid ${t.pid})`,
      `${t.cpuMeanPct.toFixed(0)}% / ${t.cpuMaxPct.toFixed(0)}%`,
      '',
      `${mib(t.rssStartBytes)} → ${mib(t.rssEndBytes)} (${mib(t.rssMaxBytes)})`,
      '',
      '',
      '',
    ]);
  lines.push(resources.toString());

  if (!report.generator.trusted)
    lines.push(
      `UNTRUSTED: the generator saturated, so these figures measure it as much as the target:\n${report.generator.reasons.map((reason) => `  - ${reason}`).join('\n')}`,
    );
  if (report.thresholds.length) {
    const thresholds = new Table({ head: ['threshold', 'actual', 'verdict'], style });
    for (const o of report.thresholds)
      thresholds.push([
        o.expression,
        // NaN (null once in JSON): a stream threshold on a run where nothing streamed.
        o.actual === null || Number.isNaN(o.actual) ? 'no streamed iteration' : Number.isInteger(o.actual) ? String(o.actual) : o.actual.toFixed(4),
        o.passed ? 'pass' : 'FAIL',
      ]);
    lines.push(thresholds.toString());
  }
  return `${lines.join('\n')}\n`;
}

export interface ScalingRow {
  vus: number;
  throughput: number;
  p95: number;
  errors: number;
  trusted: boolean;
}

/** The seed's scaling study: throughput and p95 by concurrency, and the speedup over sequential. */
export function formatScaling(scenario: string, rows: readonly ScalingRow[]): string {
  const base = rows.find((r) => r.vus === 1)?.throughput ?? rows[0]?.throughput ?? 0;
  const table = new Table({
    head: [
      'concurrent calls',
      'throughput/s',
      'p95',
      'errors',
      `speedup over ${rows.some((r) => r.vus === 1) ? 'sequential' : `${rows[0]?.vus} users`}`,
      'generator',
    ],
    style,
  });
  for (const r of rows)
    table.push([
      r.vus,
      r.throughput.toFixed(1),
      formatMs(r.p95),
      r.errors,
      base > 0 ? `${(r.throughput / base).toFixed(2)}x` : '-',
      r.trusted ? 'ok' : 'saturated',
    ]);
  return `scaling study, scenario ${scenario} (closed loop)\n${table.toString()}\n`;
}

export function formatMergedHdr(merged: MergedHdr): string {
  return `${merged.files} HDR logs, ${merged.intervals} intervals merged\n${latencyTable([
    ['corrected (from intended start)', merged.latency],
    ['service time (from actual start)', merged.serviceTime],
  ])}\n`;
}

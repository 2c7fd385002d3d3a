import Table from 'cli-table3';
import type { LeakReport } from '../profiling/leak.js';
import type { ProfileIndex } from '../profiling/profile-run.js';
import type { Bottlenecks } from '../profiling/analyze.js';
import type { AllocationSite } from '../profiling/heap.js';

const style = { head: [], border: [] };
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

export function formatBottlenecks(b: Bottlenecks, top = 10): string {
  const pct = (ms: number) => `${((100 * ms) / (b.totalMs || 1)).toFixed(1)}%`;
  const table = (title: string, rows: Bottlenecks['bySelf'], pick: 'self' | 'total') => {
    const t = new Table({ head: [title, 'location', pick === 'self' ? 'self ms' : 'total ms', '%'], style, colWidths: [36, 52, 10, 7], wordWrap: true });
    for (const f of rows.slice(0, top))
      t.push([f.name, f.location, (pick === 'self' ? f.selfMs : f.totalMs).toFixed(1), `${(pick === 'self' ? f.selfPct : f.totalPct).toFixed(1)}%`]);
    return t.toString();
  };
  return [
    `profiled ${(b.totalMs / 1000).toFixed(2)} s: garbage collector ${pct(b.gcMs)}, idle ${pct(b.idleMs)}, V8 (program) ${pct(b.programMs)}`,
    table('by self time', b.bySelf, 'self'),
    table('by total time', b.byTotal, 'total'),
  ].join('\n');
}

export function formatAllocationSites(sites: readonly AllocationSite[], top = 10): string {
  const t = new Table({ head: ['allocation site', 'location', 'sampled', '%'], style, colWidths: [36, 52, 12, 7], wordWrap: true });
  for (const s of sites.slice(0, top)) t.push([s.name, s.location, kib(s.selfBytes), `${s.pct.toFixed(1)}%`]);
  return t.toString();
}

export function formatProfileIndex(index: ProfileIndex, dir: string): string {
  const parts = [`profiled ${index.scenario}: ${index.load.completed} iterations, ${index.load.throughput.toFixed(1)}/s, ${index.load.errors} errors`];
  if (index.bottlenecks) parts.push(formatBottlenecks(index.bottlenecks));
  if (index.allocationSites) parts.push(formatAllocationSites(index.allocationSites));
  parts.push(`written to ${dir}:`, ...index.artifacts.map((a) => `  ${a.file.padEnd(22)} ${a.description}`), `  ${'index.json'.padEnd(22)} what is here`);
  return `${parts.join('\n')}\n`;
}

export function formatLeakReport(report: LeakReport): string {
  const s = report.slope;
  const lines = [
    `${report.verdict}: ${report.scenario} retains ${s.slope.toFixed(1)} bytes per iteration (95% interval ${s.low.toFixed(1)} to ${s.high.toFixed(1)}; threshold ${report.thresholdBytesPerIteration})`,
    `heap used after forced GC, by iterations run: ${report.points.map((p) => `${p.iterations}: ${kib(p.heapUsed)}`).join(', ')}`,
  ];
  if (Object.keys(report.errors).length)
    lines.push(
      `iterations that failed: ${Object.entries(report.errors)
        .map(([type, n]) => `${type} ${n}`)
        .join(', ')}`,
    );
  if (report.programBytesPerIteration !== undefined)
    lines.push(
      `from the snapshots: the program's objects grew ${report.programBytesPerIteration.toFixed(1)} bytes per iteration in the smaller of the two intervals (V8's JIT code and metadata left out)`,
    );
  if (report.note) lines.push(`note: ${report.note}`);
  for (const c of report.leakedClasses ?? []) {
    lines.push(
      `\n${c.className}: ${c.count} objects (${kib(c.bytes)}) allocated between the baseline and target snapshots and still alive; instances ${c.counts.join(' → ')}`,
    );
    lines.push(`  retained by: ${c.retainerPath.join(' → ')}`);
  }
  if (report.engineClasses?.length)
    lines.push(
      `\nV8 JIT code and metadata that grew too (not counted as a leak): ${report.engineClasses.map((c) => `${c.className} ${c.count} objects, ${kib(c.bytes)}`).join('; ')}`,
    );
  if (report.snapshots) lines.push(`\nsnapshots: ${report.snapshots.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

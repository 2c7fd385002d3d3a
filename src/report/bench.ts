import Table from 'cli-table3';
import type { OrchestratorBenchResult } from '../bench/orchestrator.ts';

const style = { head: [], border: [] };
const pct = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(2)}%`;

export function formatOrchestratorBench(result: OrchestratorBenchResult): string {
  const table = new Table({
    head: ['concurrency', 'bare SDK µs/call', 'orchestrator µs/call', 'overhead (wall)', 'main-thread busy µs/call (bare / orch.)', 'overhead (busy)', 'A/A control', 'target: wall <= 5%'],
    style,
  });
  for (const row of result.overhead) {
    table.push([
      row.concurrency,
      row.bareSdkUsPerCall.toFixed(1),
      row.orchestratorUsPerCall.toFixed(1),
      pct(row.overheadPct),
      `${row.bareSdkBusyUsPerCall.toFixed(1)} / ${row.orchestratorBusyUsPerCall.toFixed(1)}`,
      pct(row.busyOverheadPct),
      pct(row.controlPct),
      row.overheadPct <= 5 ? 'met' : 'MISSED',
    ]);
  }
  const inProcess = new Table({ head: ['in-process provider', 'calls/s (median of 3)', 'target: >= 50,000'], style });
  inProcess.push([`${result.inProcess.calls} calls, concurrency 100`, Math.round(result.inProcess.callsPerSec).toLocaleString('en-US'), result.inProcess.callsPerSec >= 50_000 ? 'met' : 'MISSED']);
  const { rounds, callsPerBlock } = result.options;
  return `${table.toString()}\n${inProcess.toString()}\nMedians of ${rounds} interleaved rounds of ${callsPerBlock} calls per side; overheads are medians of per-round paired ratios; the A/A control (bare SDK against itself) is the noise floor.\n`;
}

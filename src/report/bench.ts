import Table from 'cli-table3';
import type { OrchestratorBenchResult } from '../bench/orchestrator.ts';

const style = { head: [], border: [] };

export function formatOrchestratorBench(result: OrchestratorBenchResult): string {
  const table = new Table({ head: ['concurrency', 'bare SDK µs/call', 'orchestrator µs/call', 'overhead (median of paired ratios)', 'target'], style });
  for (const row of result.overhead) {
    table.push([row.concurrency, row.bareSdkUsPerCall.toFixed(1), row.orchestratorUsPerCall.toFixed(1), `${row.overheadPct >= 0 ? '+' : ''}${row.overheadPct.toFixed(2)}%`, row.overheadPct <= 5 ? '<= 5%: met' : '<= 5%: MISSED']);
  }
  const inProcess = new Table({ head: ['in-process provider', 'calls/s (median of 3)', 'target'], style });
  inProcess.push([`${result.inProcess.calls} calls, concurrency 100`, Math.round(result.inProcess.callsPerSec).toLocaleString('en-US'), result.inProcess.callsPerSec >= 50_000 ? '>= 50,000: met' : '>= 50,000: MISSED']);
  return `${table.toString()}\n${inProcess.toString()}\n`;
}

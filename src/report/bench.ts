import Table from 'cli-table3';
import type { CacheBenchResult } from '../bench/cache.js';
import type { RedisCacheBenchResult } from '../bench/cache-redis.js';
import type { PercentileSummary } from '../stats/hdr.js';
import type { LoadBenchResult } from '../bench/load.js';
import type { ProfilingBenchResult } from '../bench/profiling.js';
import type { WorkflowBenchResult } from '../bench/workflow.js';
import type { OrchestratorBenchResult } from '../bench/orchestrator.js';
import type { OverheadBenchResult } from '../bench/overhead.js';
import type { OwnCostResult } from '../bench/instrumentation-cost.js';
import {
  CPU_MOONSHOT_PCT,
  CPU_TARGET_PCT,
  KNOWN_LATENCY_MS,
  OVERHEAD_INTERVAL_TARGET_POINTS,
  OWN_COST_TARGET_US,
  PLANNING_TARGETS_MS,
  SCHEDULER_CPU_TARGETS,
  SCHEDULER_LAG_P99_TARGET_MS,
  SNAPSHOT_MEMORY_TARGET,
  STARTUP_TARGET_MS,
  STREAMING_TARGETS,
} from '../bench/targets.js';
import { addedPct, BREAKDOWN_PARTS, lostPct } from '../measure/overhead-figures.js';
import type { OverheadMeasurement } from '../measure/slices.js';
import type { StartupBenchResult } from '../bench/startup.js';
import type { SnapshotBenchResult } from '../bench/snapshot.js';
import type { IntervalsBenchResult } from '../bench/intervals.js';
import type { StreamingBenchResult } from '../bench/streaming.js';

const style = { head: [], border: [] };
const pct = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(2)}%`;

export function formatOrchestratorBench(result: OrchestratorBenchResult): string {
  const table = new Table({
    head: [
      'concurrency',
      'bare SDK µs/call',
      'orchestrator µs/call',
      'overhead (wall)',
      'main-thread busy µs/call (bare / orch.)',
      'overhead (busy)',
      'A/A control',
      'target: wall <= 5%',
    ],
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
  inProcess.push([
    `${result.inProcess.calls} calls, concurrency 100`,
    Math.round(result.inProcess.callsPerSec).toLocaleString('en-US'),
    result.inProcess.callsPerSec >= 50_000 ? 'met' : 'MISSED',
  ]);
  const { rounds, callsPerBlock } = result.options;
  return `${table.toString()}\n${inProcess.toString()}\nMedians of ${rounds} interleaved rounds of ${callsPerBlock} calls per side; overheads are medians of per-round paired ratios; the A/A control (bare SDK against itself) is the noise floor.\n`;
}

const us = (value: number) => `${value.toFixed(2)} µs`;

export function formatCacheBench(result: CacheBenchResult): string {
  const table = new Table({ head: ['operation', 'count', 'p50', 'p99', 'p99.9', 'max', 'target'], style });
  const row = (name: string, s: CacheBenchResult['memoryHit'], target: string) =>
    table.push([name, s.count.toLocaleString('en-US'), us(s.p50), us(s.p99), us(s.p999), us(s.max), target]);
  row('memory hit (key + lookup)', result.memoryHit, `p99 <= 10 µs: ${result.memoryHit.p99 <= 10 ? 'met' : 'MISSED'}`);
  row('floor (key + bare Map.get)', result.floor, '');
  row('disk hit, 4 KiB, verified', result.diskHit4KiB, `p99 <= 1 ms: ${result.diskHit4KiB.p99 <= 1000 ? 'met' : 'MISSED'}`);
  row('set, 4 KiB (memory + disk)', result.set4KiB, '');
  const open = new Table({ head: ['open a cache of', 'median of runs', 'runs', 'background reconcile', 'target'], style });
  open.push([
    `${result.open.entries.toLocaleString('en-US')} entries`,
    `${result.open.medianMs.toFixed(1)} ms`,
    result.open.runsMs.map((m) => m.toFixed(1)).join(', '),
    `${result.open.reconcileMs.toFixed(0)} ms`,
    `< 200 ms: ${result.open.medianMs < 200 ? 'met' : 'MISSED'}`,
  ]);
  return `${table.toString()}\nmemory hit / floor (p50): ${result.memoryToFloorRatio.toFixed(2)}x, measured in the same interleaved rounds\n${open.toString()}\n`;
}

export function formatRedisCacheBench(result: RedisCacheBenchResult): string {
  const table = new Table({ head: ['operation', 'count', 'p50', 'p99', 'p99.9', 'max', 'target'], style });
  const row = (name: string, s: PercentileSummary, target: string) =>
    table.push([name, s.count.toLocaleString('en-US'), us(s.p50), us(s.p99), us(s.p999), us(s.max), target]);
  row('Redis hit, 4 KiB, verified', result.redisHit4KiB, `p99 <= 1 ms: ${result.redisHit4KiB.p99 <= 1000 ? 'met' : 'MISSED'}`);
  row('miss, memory + Redis', result.missWithRedis, '');
  row('miss, memory only', result.missMemoryOnly, '');
  row('single-flight lease, taken', result.leaseTake, '');
  const instances = new Table({ head: ['instances', 'shared Redis', 'calls', 'hit rate', 'upstream calls'], style });
  for (const f of result.instances)
    instances.push([String(f.instances), f.redis ? 'yes' : 'no', String(f.calls), `${(f.hitRate * 100).toFixed(1)}%`, String(f.upstreamCalls)]);
  return `${table.toString()}\nRedis adds ${result.missAddedUs.toFixed(1)} µs to a miss (p50 against p50, measured in the same interleaved rounds)\n${instances.toString()}\n`;
}

/** Met only when the whole interval lies within the target, missed when all of it lies beyond. */
export function verdict(i: { low: number; high: number }, target: number): 'met' | 'MISSED' | 'inconclusive' {
  if (i.high <= target) return 'met';
  if (i.low > target) return 'MISSED';
  return 'inconclusive';
}

const interval = (i: { estimate: number; low: number; high: number }) =>
  `${i.estimate >= 0 ? '+' : ''}${i.estimate.toFixed(2)}% [${i.low.toFixed(2)}, ${i.high.toFixed(2)}]`;

export function formatOverheadBench(result: OverheadBenchResult): string {
  const table = new Table({
    head: [
      'workload',
      'iterations/s off → on',
      'throughput lost [95% CI]',
      'interval width',
      'CPU per iteration added: process',
      'main thread (µs off → on)',
      'target',
    ],
    style,
  });
  for (const { workload, target, measurement: m } of result.workloads) {
    const lost = { estimate: lostPct(m.throughput.estimate), low: lostPct(m.throughput.high), high: lostPct(m.throughput.low) };
    const width = lost.high - lost.low;
    const added = (c: OverheadMeasurement['cpuPerIteration']) => interval({ estimate: addedPct(c.estimate), low: addedPct(c.low), high: addedPct(c.high) });
    const precise =
      workload === 'standard'
        ? `; interval <= ${OVERHEAD_INTERVAL_TARGET_POINTS} point wide: ${width <= OVERHEAD_INTERVAL_TARGET_POINTS ? 'met' : 'MISSED'}`
        : '';
    const cpu = { low: addedPct(m.busyPerIteration.low), high: addedPct(m.busyPerIteration.high) };
    table.push([
      workload,
      `${Math.round(m.throughputOff).toLocaleString('en-US')} → ${Math.round(m.throughputOn).toLocaleString('en-US')}`,
      interval(lost),
      `${width.toFixed(2)} points`,
      added(m.cpuPerIteration),
      `${added(m.busyPerIteration)} (${m.busyUsPerIterationOff.toFixed(1)} → ${m.busyUsPerIterationOn.toFixed(1)})`,
      `main-thread CPU <= ${CPU_TARGET_PCT}%: ${verdict(cpu, CPU_TARGET_PCT)}; <= ${CPU_MOONSHOT_PCT}% (moonshot): ${verdict(cpu, CPU_MOONSHOT_PCT)}; lost <= ${target}%: ${verdict(lost, target)}${precise}`,
    ]);
  }
  const breakdowns = result.workloads.filter((w) => w.measurement.breakdown).map(({ workload, measurement: m }) => formatBreakdown(workload, m));
  const o = result.options;
  const first = result.workloads[0]?.measurement;
  const own = result.ownCost ? formatOwnCost(result.ownCost) : '';
  const slices =
    table.length > 0
      ? `${table.toString()}\nEach workload in one fresh process, ${o.vus} users, instrumentation switched fully on and off in ${o.pairs} ABBA pairs of slices (after ${o.warmupPairs} warmup pairs; the standard workload in as many rounds of four kinds when broken down), each slice the same work; paired t intervals of the log-ratios. Main-thread time from ${first?.busySource === 'thread-cpu' ? "the kernel's count for the thread" : "the event loop's busy time"}. On: every span exported as OTLP http/protobuf through the export worker to a local receiver, /metrics scraped every 15 s.\n${result.workloads.map(({ workload, measurement: { telemetry: x } }) => `  ${workload}: ${x.spansExported.toLocaleString('en-US')} spans delivered (${x.spansFailed} failed, ${x.spansDropped} dropped) in ${x.requests} requests, ${(x.bytes / 1024).toFixed(0)} KiB; ${x.scrapes} scrapes\n`).join('')}`
      : '';
  return `${slices}${breakdowns.join('')}${own}${(result.elapsedMs / 1000).toFixed(1)} s in all.\n`;
}

const microseconds = (i: { estimate: number; low: number; high: number }) =>
  `${i.estimate >= 0 ? '+' : ''}${i.estimate.toFixed(1)} µs [${i.low.toFixed(1)}, ${i.high.toFixed(1)}]`;

/** Where the standard workload's CPU goes, part by part, from the same rounds. */
function formatBreakdown(workload: string, m: OverheadMeasurement): string {
  const t = new Table({ head: [`${workload}: part`, 'main-thread CPU per iteration added [95% CI]', 'process CPU (export worker included)'], style });
  for (const p of m.breakdown!) t.push([BREAKDOWN_PARTS[p.part], microseconds(p.addedUs), microseconds(p.processAddedUs)]);
  return `${t.toString()}\nEach part against the slice kind before it (off -> handlers -> spans -> on), paired by round over ${m.spec.pairs} rounds of the four kinds in Williams order; off -> on is the row above. µs per iteration, from the median of the kind before.\n`;
}

function formatOwnCost(c: OwnCostResult): string {
  const t = new Table({ head: ["agentperf's own instrumentation, per upstream call", 'main thread, off → on (median µs)', 'added [95% CI]', 'target'], style });
  t.push([
    `${c.options.pairs} ABBA pairs of ${c.options.callsPerRound.toLocaleString('en-US')} calls`,
    `${c.offUsPerCall.toFixed(2)} → ${c.onUsPerCall.toFixed(2)}`,
    `${c.addedUs.estimate.toFixed(2)} µs [${c.addedUs.low.toFixed(2)}, ${c.addedUs.high.toFixed(2)}]`,
    `<= ${OWN_COST_TARGET_US} µs: ${verdict(c.addedUs, OWN_COST_TARGET_US)}`,
  ]);
  return `${t.toString()}\nThe core's channels driven as the orchestrator drives them for one upstream call (agent call around one attempt). On: everything agentperf does for it (invoke_agent span, the chat client span under it, the traceparent injected, metrics, HDR records; spans batched to a no-op exporter). Off: the uninstrumented call (the SDK's own tracing is off for agentperf's clients).\n`;
}

export function formatLoadBench(result: LoadBenchResult): string {
  const { options, inProcess, http, soak } = result;
  const lines: string[] = [];
  const generator = new Table({
    head: ['in-process generator, no-op target', 'scheduled/s', 'started/s (median)', 'lag p99 (median)', 'lag max', 'target'],
    style,
  });
  const met = inProcess.startedPerSec >= 100_000 * 0.999 && inProcess.lagP99Ms <= SCHEDULER_LAG_P99_TARGET_MS;
  generator.push([
    `${options.runs} runs of ${options.runMs / 1000} s`,
    Math.round(inProcess.scheduledPerSec).toLocaleString('en-US'),
    Math.round(inProcess.startedPerSec).toLocaleString('en-US'),
    `${(inProcess.lagP99Ms * 1000).toFixed(0)} µs`,
    `${inProcess.lagMaxMs.toFixed(2)} ms`,
    `>= 100,000/s with lag p99 <= ${SCHEDULER_LAG_P99_TARGET_MS} ms: ${met ? 'met' : 'MISSED'}`,
  ]);
  lines.push(generator.toString());
  const scheduler = new Table({
    head: ['scheduler, no-op target', 'waker', 'generator CPU, % of a core (median)', 'lag p99 (median)', 'lag max', 'target'],
    style,
  });
  for (const row of result.scheduler) {
    const cpuTarget = SCHEDULER_CPU_TARGETS[row.rate];
    const verdict =
      row.waker === 'spinning' || cpuTarget === undefined
        ? '(before)'
        : `CPU <= ${cpuTarget}%, lag p99 <= ${SCHEDULER_LAG_P99_TARGET_MS} ms: ${row.cpuPctOfCore <= cpuTarget && row.lagP99Ms <= SCHEDULER_LAG_P99_TARGET_MS ? 'met' : 'MISSED'}`;
    scheduler.push([
      `${row.rate.toLocaleString('en-US')} arrivals/s, ${options.schedulerRuns} runs of ${options.schedulerMs / 1000} s`,
      row.waker,
      `${row.cpuPctOfCore.toFixed(1)}% (${row.runs.map((r) => r.cpuPctOfCore.toFixed(1)).join(', ')})`,
      `${(row.lagP99Ms * 1000).toFixed(0)} µs`,
      `${row.lagMaxMs.toFixed(2)} ms`,
      verdict,
    ]);
  }
  lines.push(scheduler.toString());
  const accuracy = result.knownLatency.map((k) => `${k.waker}: p50 ${k.p50Ms.toFixed(2)} ms, p99 ${k.p99Ms.toFixed(2)} ms`).join('; ');
  lines.push(
    `A target of known latency (${KNOWN_LATENCY_MS} ms timers) at ${Math.min(...options.schedulerRates)}/s, corrected latency (medians of runs): ${accuracy}. CPU is the whole process's (user + system) over each run, the engine's per-iteration bookkeeping included.`,
  );
  const versus = new Table({
    head: ['HTTP, trivial local server', 'agentperf req/s (median)', 'autocannon req/s (median)', 'ratio (median of rounds)', 'target'],
    style,
  });
  for (const h of http)
    versus.push([
      `${h.connections} connections, ${options.rounds} interleaved rounds of ${options.httpMs / 1000} s`,
      Math.round(h.agentperfPerSec).toLocaleString('en-US'),
      Math.round(h.autocannonPerSec).toLocaleString('en-US'),
      h.ratio.toFixed(3),
      `>= 1.0: ${h.ratio >= 1 ? 'met' : 'MISSED'}`,
    ]);
  lines.push(versus.toString());
  const cpu = new Table({
    head: ['CPU per request (user + system, median of rounds)', 'agentperf', 'autocannon', 'wrk -t1', 'agentperf / autocannon (median of rounds)', 'target'],
    style,
  });
  for (const h of http)
    cpu.push([
      `${h.connections} connections`,
      `${h.cpuUsPerRequest.agentperf.toFixed(1)} µs`,
      `${h.cpuUsPerRequest.autocannon.toFixed(1)} µs`,
      h.cpuUsPerRequest.wrk === undefined ? 'not installed' : `${h.cpuUsPerRequest.wrk.toFixed(1)} µs`,
      h.cpuRatio.toFixed(3),
      `<= 1.0: ${h.cpuRatio <= 1 ? 'met' : 'MISSED'}`,
    ]);
  lines.push(cpu.toString());
  const scaling = new Table({ head: ['load http --workers N, trivial server', 'req/s (median)', 'speedup over 1', 'server CPU, % of a core'], style });
  const one = result.workerScaling.find((w) => w.workers === 1)?.perSec;
  for (const w of result.workerScaling)
    scaling.push([
      `${w.workers} worker${w.workers === 1 ? '' : 's'}, ${options.workerRounds} interleaved rounds`,
      Math.round(w.perSec).toLocaleString('en-US'),
      one ? `${(w.perSec / one).toFixed(2)}x` : '',
      `${w.targetCpuPct.toFixed(0)}%`,
    ]);
  lines.push(scaling.toString());
  for (const h of http)
    lines.push(
      `${h.connections} connections, per round (agentperf / autocannon): req/s ${h.rounds.map((r) => (r.agentperf.perSec / r.autocannon.perSec).toFixed(2)).join(', ')}; CPU per request ${h.rounds.map((r) => (r.agentperf.cpuUsPerRequest / r.autocannon.cpuUsPerRequest).toFixed(2)).join(', ')}`,
    );
  if (soak) {
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
    const table = new Table({ head: ['soak: cache hits in-process', 'completed', 'RSS warm → end', 'heap warm → end', 'RSS growth', 'target'], style });
    table.push([
      `${soak.rate}/s for ${(soak.durationMs / 60_000).toFixed(1)} min`,
      soak.completed.toLocaleString('en-US'),
      `${mib(soak.rssWarmBytes)} → ${mib(soak.rssEndBytes)}`,
      `${mib(soak.heapWarmBytes)} → ${mib(soak.heapEndBytes)}`,
      `${soak.rssGrowthPct >= 0 ? '+' : ''}${soak.rssGrowthPct.toFixed(2)}%`,
      `< 5%: ${soak.rssGrowthPct < 5 ? 'met' : 'MISSED'}`,
    ]);
    lines.push(table.toString());
  }
  lines.push(`elapsed ${(result.elapsedMs / 1000).toFixed(0)} s`);
  return `${lines.join('\n')}\n`;
}

export function formatProfilingBench(result: ProfilingBenchResult): string {
  const interval = (i: { estimate: number; low: number; high: number }) =>
    `${i.estimate >= 0 ? '+' : ''}${i.estimate.toFixed(2)}% [${i.low.toFixed(2)}, ${i.high.toFixed(2)}]`;
  const table = new Table({
    head: ['CPU profiler', 'iterations/s (median)', 'throughput lost (95% CI)', 'process CPU µs/iteration', 'CPU added (95% CI)', 'target: 10 ms <= 5%'],
    style,
  });
  for (const v of result.variants) {
    const verdict =
      v.name === '10 ms' ? (v.overheadPct.high <= 5 ? 'met' : v.overheadPct.estimate <= 5 ? 'met (point estimate; interval reaches past 5%)' : 'MISSED') : '';
    table.push([
      v.name,
      v.throughput.toFixed(1),
      v.name === 'off' ? '' : interval(v.overheadPct),
      v.cpuUsPerIteration.toFixed(1),
      v.name === 'off' ? '' : interval(v.cpuAddedPct),
      verdict,
    ]);
  }
  const { rounds, blockMs, vus, latency } = result.options;
  return `${table.toString()}\nmixed scenario (simulator latency ${latency}), ${vus} closed-loop users, ${rounds} rounds of ${blockMs / 1000} s blocks interleaved in every order; elapsed ${(result.elapsedMs / 1000).toFixed(0)} s\n`;
}

export function formatWorkflowBench(result: WorkflowBenchResult): string {
  const table = new Table({ head: ['steps', 'dependencies', 'runs', 'planning (median)', 'per step', 'reading the input, per step', 'target'], style });
  for (const p of result.planning) {
    const target = PLANNING_TARGETS_MS[p.steps];
    table.push([
      p.steps.toLocaleString('en-US'),
      p.edges.toLocaleString('en-US'),
      p.runs,
      `${p.medianMs.toFixed(3)} ms`,
      `${p.nsPerStep.toFixed(0)} ns`,
      `${p.readNsPerStep.toFixed(1)} ns`,
      target === undefined ? '' : `<= ${target.toLocaleString('en-US')} ms: ${p.medianMs <= target ? 'met' : 'MISSED'}`,
    ]);
  }
  const bus = new Table({ head: ['event bus', 'events/s (median of runs)', 'target'], style });
  bus.push([
    `${result.bus.events.toLocaleString('en-US')} events in batches of ${result.bus.batchSize.toLocaleString('en-US')}, ${result.bus.runs.length} runs`,
    Math.round(result.bus.eventsPerSec).toLocaleString('en-US'),
    `>= 2,000,000/s: ${result.bus.eventsPerSec >= 2_000_000 ? 'met' : 'MISSED'}`,
  ]);
  return `${table.toString()}\ntime per step, largest over smallest: ${result.perStepSpread.toFixed(2)}x (target: flat within 2x: ${result.perStepSpread <= 2 ? 'met' : 'MISSED'}); reading the input alone: ${result.readSpread.toFixed(2)}x\n${bus.toString()}\nelapsed ${(result.elapsedMs / 1000).toFixed(1)} s\n`;
}

export function formatStartupBench(result: StartupBenchResult): string {
  const table = new Table({ head: ['command', 'median', 'p90'], style });
  for (const v of result.variants) table.push([v.command, `${v.medianMs.toFixed(0)} ms`, `${v.p90Ms.toFixed(0)} ms`]);
  const npx = result.variants.at(-1)!;
  return `${table.toString()}
npx agentperf --help: ${npx.medianMs.toFixed(0)} ms, target <= ${STARTUP_TARGET_MS} ms: ${npx.medianMs <= STARTUP_TARGET_MS ? 'met' : 'MISSED'}; of it, npx's own start-up is the no-op row and agentperf's share is ${result.agentperfShareMs.toFixed(0)} ms (median of per-round differences).
Medians of ${result.options.rounds} rounds, each command once per round in rotating order, in a scratch project with agentperf installed.
`;
}

export function formatSnapshotBench(result: SnapshotBenchResult): string {
  const { heap, analysis } = result;
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
  const share = analysis.peakRssBytes / heap.heapUsedBytes;
  const table = new Table({ head: ['heap used', 'snapshot files', 'written in', 'analysed in', 'analysis peak RSS', 'share of the heap', 'target'], style });
  table.push([
    mib(heap.heapUsedBytes),
    heap.fileBytes.map(mib).join(' + '),
    `${(heap.writeMs / 1000).toFixed(1)} s`,
    `${(analysis.elapsedMs / 1000).toFixed(1)} s`,
    mib(analysis.peakRssBytes),
    `${(share * 100).toFixed(1)}%`,
    `<= ${SNAPSHOT_MEMORY_TARGET * 100}% of the heap: ${share <= SNAPSHOT_MEMORY_TARGET ? 'met' : 'MISSED'}`,
  ]);
  const leak = analysis.leakedClasses[0];
  return `${table.toString()}\n${heap.leaked} objects leaked between the snapshots; the report names ${leak ? `${leak.className} (${leak.count} objects, retained by ${leak.retainerPath.join(' → ')})` : 'nothing'}.\n`;
}

export function formatIntervalsBench(result: IntervalsBenchResult): string {
  const percent = (v: number) => `${(v * 100).toFixed(1)}%`;
  const noises = [...new Set(result.rows.map((r) => r.noise))];
  const sections: string[] = [];
  for (const [title, methods] of [
    ['paired (ABBA blocks, on/off slices): pairs', ['paired-t', 'paired bootstrap of the median']],
    ['unpaired (stored baseline blocks against candidate blocks): stored/candidate', ['mann-whitney', 'unpaired bootstrap of medians']],
  ] as const) {
    const rows = result.rows.filter((r) => (methods as readonly string[]).includes(r.method));
    const counts = [...new Set(rows.map((r) => (r.baselineBlocks ? `${r.baselineBlocks}/${r.n}` : String(r.n))))];
    const table = new Table({ head: ['method', 'noise', ...counts], style });
    for (const method of methods) {
      for (const noise of noises) {
        const cells = counts.map((count) => {
          const row = rows.find((r) => r.method === method && r.noise === noise && (r.baselineBlocks ? `${r.baselineBlocks}/${r.n}` : String(r.n)) === count);
          if (!row) return '';
          if (row.unusable === row.trials) return 'refuses';
          return `${percent(row.coverage)}${row.coverage < result.floor ? ' !' : ''}`;
        });
        table.push([method, noise, ...cells]);
      }
    }
    sections.push(`${title}
${table.toString()}`);
  }
  return `${sections.join('\n\n')}
Coverage of the nominal 95% interval of a known change (log 0.1, 5% block noise), ${result.options.trials} simulated comparisons per cell, seed ${result.options.seed}; "!" marks a cell under ${percent(result.floor)} (95% less three simulation standard errors): that method over-claims there. "refuses": too few blocks for an exact bound, and the method says so.
The gate uses the paired t interval from ${result.minimumSamples['paired-t']} pairs and the Mann-Whitney interval from ${result.minimumSamples['mann-whitney']} blocks a side where an exact bound exists; the bootstraps are shown for comparison only. ${(result.elapsedMs / 1000).toFixed(1)} s.
`;
}

export function formatStreamingBench(result: StreamingBenchResult): string {
  const { ttfc, instrumentationShare: share, cpuPerChunk, concurrent, replay, options } = result;
  const met = (ok: boolean) => (ok ? 'met' : 'MISSED');
  // A target judged on an interval: met when all of it is under, missed when all of it is over.
  const judged = ([low, high]: [number, number], target: number) => (high <= target ? 'met' : low > target ? 'MISSED' : 'inconclusive');
  const table = new Table({ head: ['figure', 'measured', 'target'], style });
  table.push(
    [
      `time to first chunk, bare SDK / executeAgentStream (median of ${options.rounds} rounds of ${options.streamsPerBlock})`,
      `${ttfc.bareSdkMs.toFixed(3)} / ${ttfc.orchestratorMs.toFixed(3)} ms`,
      '',
    ],
    [
      'time to first chunk added by the orchestrator (median of per-round differences; A/A control beside it)',
      `${ttfc.addedMs.toFixed(3)} ms (control ${ttfc.controlMs.toFixed(3)} ms)`,
      `<= ${STREAMING_TARGETS.addedTtfcMs} ms: ${met(ttfc.addedMs <= STREAMING_TARGETS.addedTtfcMs)}`,
    ],
    [
      'streamed call on the real path: main-thread CPU µs per call, instrumentation off / on; paired estimate [95% interval] (A/A)',
      `${ttfc.busyUsOff.toFixed(1)} / ${ttfc.busyUsOn.toFixed(1)} µs: ${pct(ttfc.instrumentationPct)} [${pct(ttfc.instrumentationPctInterval[0])}, ${pct(ttfc.instrumentationPctInterval[1])}] (A/A ${pct(ttfc.instrumentationControlPct)})`,
      'too noisy to judge',
    ],
    [
      `instrumentation's own cost per streamed call of ${share.deltas} deltas (in-process, paired), and its share of the real call's CPU`,
      `${share.addedUs.toFixed(2)} µs [${share.addedUsInterval[0].toFixed(2)}, ${share.addedUsInterval[1].toFixed(2)}]: ${share.pct.toFixed(2)}% [${share.pctInterval[0].toFixed(2)}, ${share.pctInterval[1].toFixed(2)}]`,
      `<= ${STREAMING_TARGETS.instrumentationPct}%: ${judged(share.pctInterval, STREAMING_TARGETS.instrumentationPct)}`,
    ],
    [
      `CPU per relayed chunk, streams of ${options.deltasPerStream} deltas: bare / orchestrator / + instrumentation`,
      `${cpuPerChunk.bareUs.toFixed(3)} / ${cpuPerChunk.orchestratorUs.toFixed(3)} / ${cpuPerChunk.instrumentedUs.toFixed(3)} µs`,
      '',
    ],
    [
      'CPU added per relayed chunk (orchestrator + instrumentation; orchestrator alone)',
      `${cpuPerChunk.addedInstrumentedUs.toFixed(3)} µs (${cpuPerChunk.addedUs.toFixed(3)} µs)`,
      `<= ${STREAMING_TARGETS.cpuPerChunkUs} µs: ${met(cpuPerChunk.addedInstrumentedUs <= STREAMING_TARGETS.cpuPerChunkUs)}`,
    ],
    [
      `${concurrent.streams} concurrent streams, zero-latency chunks: completed, wall time`,
      `${concurrent.completed} of ${concurrent.streams} (${concurrent.failed} failed), ${Math.round(concurrent.wallMs)} ms`,
      `all complete: ${met(concurrent.failed === 0)}`,
    ],
    [
      'memory per open stream (heap after a full GC; network buffers)',
      `${(concurrent.heapBytesPerStream / 1024).toFixed(1)} KiB; ${(concurrent.externalBytesPerStream / 1024).toFixed(1)} KiB`,
      'measured',
    ],
    [
      `cached answer replayed as a stream: call to first chunk, p50 / p99 of ${options.replays}`,
      `${replay.p50Us.toFixed(1)} / ${replay.p99Us.toFixed(1)} µs`,
      `p50 <= ${STREAMING_TARGETS.replayFirstChunkUs} µs: ${met(replay.p50Us <= STREAMING_TARGETS.replayFirstChunkUs)}`,
    ],
  );
  return `${table.toString()}\nThe first three rows: the real SDK over HTTP to the simulator in a worker thread, zero latency; bare SDK, orchestrator, orchestrator instrumented and the bare SDK again (A/A) in rotating order per round. CPU per chunk: an in-process provider handing over prepared events, main-thread CPU.\n`;
}

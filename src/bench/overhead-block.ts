// One block of `agentperf bench overhead`, in a fresh process: a workload with instrumentation
// fully on (spans to a no-op exporter, OTel metrics, HDR) or fully off. Prints one JSON line.
import { performance } from 'node:perf_hooks';
import type { AgentConfig } from '../config/agents.js';
import { openStack } from '../stack.js';
import { microsecondSummary, nanosecondHistogram } from '../stats/hdr.js';

export interface BlockSpec {
  workload: 'standard' | 'memory-hits';
  instrumented: boolean;
  warmupMs: number;
  durationMs: number;
  concurrency: number;
}

export interface BlockResult {
  spec: BlockSpec;
  calls: number;
  callsPerSec: number;
  p50Us: number;
  p99Us: number;
  /** Main-thread busy time (event-loop utilisation) per call: the CPU cost latency can hide. */
  busyUsPerCall: number;
  /** Calls per second of process CPU time (all threads): steadier than wall time on a shared host. */
  callsPerCpuSec: number;
}

const AGENT: AgentConfig = { name: 'overhead-agent', model: 'claude-haiku-5-5', systemPrompt: 'You answer briefly.', maxTokens: 256, temperature: 0, cacheable: true, version: 1 };

async function runBlock(spec: BlockSpec): Promise<BlockResult> {
  const instrumentation = spec.instrumented
    ? await import('../../instrumentation/start.js').then(({ startInstrumentation, NOOP_SPAN_EXPORTER }) => startInstrumentation({ prometheus: false, spanExporter: NOOP_SPAN_EXPORTER, spanProcessor: 'batch' }))
    : undefined;
  // standard: the mixed scenario's realistic latency (log-normal, median 40 ms, p99 250 ms).
  // memory-hits never reach it.
  // Latency per request (not per arrival): the same questions take the same time in both
  // blocks of a pair, however the scheduler interleaves them.
  const stack = await openStack({
    agents: [AGENT],
    provider: { kind: 'simulator', simulator: { latency: { model: { kind: 'lognormal', medianMs: 40, p99Ms: 250 }, perOutputTokenMs: 0 }, seed: 11, latencyFrom: 'request' } },
    orchestrator: { maxConcurrent: spec.concurrency, maxQueued: 10_000 },
    connections: 128,
    instrumentation,
  });
  const { orchestrator } = stack;
  // Questions asked once before measuring, so their repeats are memory hits whatever the
  // timing. standard: 2 calls in 5 repeat one of 512 warm questions, the rest ask a new one
  // (40% hits: p50 stays a simulator call, not the hit/miss boundary). memory-hits: only
  // the warm ones.
  const warm = spec.workload === 'memory-hits' ? 256 : 512;
  await Promise.all(Array.from({ length: warm }, (_, i) => orchestrator.executeAgent(AGENT.name, `warm question ${i}`)));
  const task = spec.workload === 'memory-hits' ? (i: number) => `warm question ${i % warm}` : (i: number) => (i % 5 < 2 ? `warm question ${i % warm}` : `new question ${i}`);

  const histogram = nanosecondHistogram();
  let next = 0;
  let measuring = false;
  let calls = 0;
  const run = async (untilMs: number) => {
    const worker = async () => {
      while (performance.now() < untilMs) {
        const start = process.hrtime.bigint();
        await orchestrator.executeAgent(AGENT.name, task(next++));
        if (measuring) {
          histogram.recordValue(Number(process.hrtime.bigint() - start));
          calls++;
        }
      }
    };
    await Promise.all(Array.from({ length: spec.concurrency }, worker));
  };
  await run(performance.now() + spec.warmupMs);
  measuring = true;
  const startedAt = performance.now();
  const loopBefore = performance.eventLoopUtilization();
  const cpuBefore = process.cpuUsage();
  await run(startedAt + spec.durationMs);
  const elapsedMs = performance.now() - startedAt;
  const busyMs = performance.eventLoopUtilization(loopBefore).active;
  const cpu = process.cpuUsage(cpuBefore);

  await stack.close();
  await instrumentation?.metricReader.collect();
  await instrumentation?.stop();
  const summary = microsecondSummary(histogram);
  return { spec, calls, callsPerSec: (calls / elapsedMs) * 1000, p50Us: summary.p50, p99Us: summary.p99, busyUsPerCall: (busyMs * 1000) / calls, callsPerCpuSec: calls / ((cpu.user + cpu.system) / 1e6) };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const result = await runBlock(JSON.parse(process.argv[2]!) as BlockSpec);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/**
 * agentperf's own instrumentation cost per upstream call, in µs of main-thread CPU: the core's
 * channels driven exactly as the orchestrator drives them for one upstream call (an agent call
 * around one attempt), with nothing else in the process, so a few microseconds stand out
 * (inside the real workload each iteration costs about 400 µs of main-thread time, and a 10 µs
 * difference drowns in its noise).
 *
 * "On" is everything agentperf does for such a call: its invoke_agent span and the `chat`
 * client span under it (instrumentation/client-span.ts), the trace context injected into the
 * attempt's headers, metrics and HDR records, spans batched to a no-op exporter (the export's
 * own cost is measured in the workloads, which export to a real receiver). "Off" is the
 * uninstrumented call: the SDK's tracing is off for agentperf's clients, so nothing at all.
 * Rounds of on and off alternate ABBA; the paired t interval of log(on / off) is turned into µs
 * per call.
 */
import { NOOP_SPAN_EXPORTER, startInstrumentation } from '../../instrumentation/start.js';
import { agentChannel, attemptChannel, traced, type AgentCallMessage } from '../diagnostics.js';
import { cpuSince, readCpu } from '../runtime/cpu.js';
import { orderForRound } from '../measure/interleave.js';
import { comparePaired, type Comparison } from '../stats/compare.js';
import { median } from '../stats/percentiles.js';

export interface OwnCostOptions {
  /** Measured pairs of rounds (one on, one off). */
  pairs: number;
  warmupPairs: number;
  /** Upstream calls per round. */
  callsPerRound: number;
}

export const DEFAULT_OWN_COST: OwnCostOptions = { pairs: 20, warmupPairs: 4, callsPerRound: 4_000 };

export interface OwnCostResult {
  options: OwnCostOptions;
  /** Main-thread µs per upstream call, medians over the rounds. */
  offUsPerCall: number;
  onUsPerCall: number;
  comparison: Comparison;
  /** agentperf's part, µs per call: estimate and 95% interval. */
  addedUs: { estimate: number; low: number; high: number };
  elapsedMs: number;
}

const MODEL = 'claude-sonnet-5-5';
const RESPONSE = {
  id: 'msg_bench',
  type: 'message' as const,
  role: 'assistant' as const,
  model: 'claude-sonnet-5-5-20260901',
  content: [{ type: 'text' as const, text: 'an answer' }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 120, output_tokens: 80 },
};
const SERVER = { address: 'api.anthropic.com', port: 443, scheme: 'https', messagesUrl: 'https://api.anthropic.com/v1/messages' };
const RESULT = { queueMs: 0.05, attempts: 1, latencyMs: 1, cached: false, cacheTier: undefined, usage: { inputTokens: 120, outputTokens: 80 } };

/** One upstream call as the orchestrator makes it, through the core's channels; the answer arrives a microtask later. */
async function upstreamCall(): Promise<unknown> {
  const attempt = (message: AgentCallMessage | undefined) =>
    traced(
      attemptChannel,
      () => ({ call: message, agent: 'python-expert', model: MODEL, maxTokens: 1024, provider: 'anthropic', server: SERVER, attempt: 1 }),
      async (sent) => {
        // The provider would put these on the request.
        if (sent?.headers && !sent.headers.traceparent) throw new Error('no traceparent injected');
        await Promise.resolve();
        return { ...RESPONSE, _request_id: 'req_bench' };
      },
    );
  if (!agentChannel.hasSubscribers) {
    await attempt(undefined);
    return RESULT;
  }
  const message: AgentCallMessage = { agent: 'python-expert', model: MODEL, maxTokens: 1024, temperature: 0.7, cacheResult: 'miss' };
  return agentChannel.tracePromise(async () => {
    await attempt(message);
    return RESULT;
  }, message);
}

export async function measureOwnCost(options: OwnCostOptions = DEFAULT_OWN_COST): Promise<OwnCostResult> {
  const startedAt = performance.now();
  const instrumentation = await startInstrumentation({ prometheus: false, spanExporter: NOOP_SPAN_EXPORTER, spanProcessor: 'batch' });
  const off: number[] = [];
  const on: number[] = [];
  try {
    const round = async (enabled: boolean) => {
      instrumentation.setEnabled(enabled);
      const start = readCpu();
      for (let i = 0; i < options.callsPerRound; i++) await upstreamCall();
      return cpuSince(start).mainThread / options.callsPerRound;
    };
    for (let p = 0; p < options.warmupPairs + options.pairs; p++) {
      const order = orderForRound([false, true], p);
      const measured: Record<string, number> = {};
      for (const enabled of order) measured[String(enabled)] = await round(enabled);
      if (p >= options.warmupPairs) {
        off.push(measured.false);
        on.push(measured.true);
      }
    }
  } finally {
    await instrumentation.stop();
  }
  const comparison = comparePaired(off, on);
  const offUsPerCall = median(off);
  const added = (logRatio: number) => offUsPerCall * (Math.exp(logRatio) - 1);
  return {
    options,
    offUsPerCall,
    onUsPerCall: median(on),
    comparison,
    addedUs: { estimate: added(comparison.estimate), low: added(comparison.low), high: added(comparison.high) },
    elapsedMs: performance.now() - startedAt,
  };
}

import { Command } from 'commander';
import { parseFaults } from '../providers/simulator/faults.js';
import { parseLatency } from '../providers/simulator/latency.js';
import { parseLimits } from '../providers/simulator/limits.js';
import { startSimulator, type RunningSimulator } from '../providers/simulator/server.js';
import { parseTokensPerSecond, parseTtft } from '../providers/simulator/stream.js';
import { parseDurationMs, parseIntegerOption } from '../units.js';
import { parseSeed, print, untilInterrupted } from './options.js';

export interface SimulateOptions {
  port: number;
  host: string;
  latency: string;
  faults: string;
  retryAfterMs: number;
  seed: number;
  /** Streamed answers: time to first token (a latency spec without +MS/token); default the latency model. */
  ttft?: string;
  /** Streamed answers: output tokens per second; default from the latency's +MS/token, else no wait. */
  tokensPerSecond?: number;
  /** Mid-stream faults strike after this many events. */
  streamFaultAfter?: number;
  /** The organisation's rate limits, `rpm=50,itpm=40000,otpm=8000`. */
  limits?: string;
  /** Requests in flight past this are 529 overloaded. */
  capacity?: number;
}

/** `agentperf simulate`: the Messages-API simulator as a standalone server. */
export async function run(options: SimulateOptions): Promise<RunningSimulator> {
  return startSimulator({
    port: options.port,
    host: options.host,
    latency: parseLatency(options.latency),
    faults: { ...parseFaults(options.faults), retryAfterMs: options.retryAfterMs },
    seed: options.seed,
    ...(options.limits === undefined ? {} : { limits: parseLimits(options.limits) }),
    ...(options.capacity === undefined ? {} : { capacity: options.capacity }),
    streaming: {
      ttft: options.ttft === undefined ? undefined : parseTtft(options.ttft),
      tokensPerSecond: options.tokensPerSecond,
      faultAfterChunks: options.streamFaultAfter,
    },
  });
}

/** The flags as commander parses them (its action's options are untyped). */
interface SimulateFlags {
  faults: string;
  host: string;
  latency: string;
  port: string;
  retryAfter: string;
  seed: string;
  ttft?: string;
  tokensPerSecond?: string;
  streamFaultAfter: string;
  limits?: string;
  capacity?: string;
}

export const command = new Command('simulate')
  .description('run the Messages-API simulator as a standalone server until interrupted')
  .option('--port <n>', 'port to listen on', '8787')
  .option('--host <host>', 'address to bind', '127.0.0.1')
  .option('--latency <spec>', 'fixed:MS | uniform:MIN-MAX | lognormal:MEDIAN,P99 [+MS/token]', 'fixed:0')
  .option(
    '--faults <spec>',
    'TYPE:RATE,... with TYPE one of 429, 500, 529, hang, reset, malformed, stream_error, stream_reset, stream_stall, stream_malformed',
    '',
  )
  .option('--ttft <spec>', 'streamed answers: time to first token, fixed:MS | uniform:MIN-MAX | lognormal:MEDIAN,P99 (default: the latency model)')
  .option('--tokens-per-second <n>', 'streamed answers: output rate (default: from the latency +MS/token, else no wait)')
  .option('--stream-fault-after <n>', 'mid-stream faults strike after this many events', '3')
  .option('--retry-after <duration>', 'what 429 responses ask clients to wait', '1s')
  .option(
    '--limits <spec>',
    "the organisation's rate limits, token buckets per minute: rpm=N,itpm=N,otpm=N (any of them); 429 with retry-after past them (default: none)",
  )
  .option('--capacity <n>', 'requests in flight past this are answered 529 overloaded (default: no limit)')
  .option('--seed <n>', 'seed for latency and fault draws', '1')
  .action(async (opts: SimulateFlags) => {
    const simulator = await run({
      port: parseIntegerOption('port', opts.port, 0, 65_535),
      host: opts.host,
      latency: opts.latency,
      faults: opts.faults,
      retryAfterMs: parseDurationMs('retry-after', opts.retryAfter),
      seed: parseSeed(opts.seed),
      ttft: opts.ttft,
      tokensPerSecond: opts.tokensPerSecond === undefined ? undefined : parseTokensPerSecond(opts.tokensPerSecond),
      streamFaultAfter: parseIntegerOption('stream-fault-after', opts.streamFaultAfter, 0, 1_000_000),
      limits: opts.limits,
      capacity: opts.capacity === undefined ? undefined : parseIntegerOption('capacity', opts.capacity, 1, 1_000_000),
    });
    print(`simulator listening on ${simulator.url} (POST /v1/messages, stream: true streams); set ANTHROPIC_BASE_URL=${simulator.url} to point an SDK at it`);
    await untilInterrupted();
    await simulator.close();
  });

import { Command } from 'commander';
import { parseFaults } from '../providers/simulator/faults.js';
import { parseLatency } from '../providers/simulator/latency.js';
import { startSimulator, type RunningSimulator } from '../providers/simulator/server.js';
import { parseDurationMs, parseIntegerOption } from '../units.js';
import { parseSeed, print, untilInterrupted } from './options.js';

export interface SimulateOptions {
  port: number;
  host: string;
  latency: string;
  faults: string;
  retryAfterMs: number;
  seed: number;
}

/** `agentperf simulate`: the Messages-API simulator as a standalone server. */
export async function run(options: SimulateOptions): Promise<RunningSimulator> {
  return startSimulator({
    port: options.port,
    host: options.host,
    latency: parseLatency(options.latency),
    faults: { ...parseFaults(options.faults), retryAfterMs: options.retryAfterMs },
    seed: options.seed,
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
}

export const command = new Command('simulate')
  .description('run the Messages-API simulator as a standalone server until interrupted')
  .option('--port <n>', 'port to listen on', '8787')
  .option('--host <host>', 'address to bind', '127.0.0.1')
  .option('--latency <spec>', 'fixed:MS | uniform:MIN-MAX | lognormal:MEDIAN,P99 [+MS/token]', 'fixed:0')
  .option('--faults <spec>', 'TYPE:RATE,... with TYPE one of 429, 500, 529, hang, reset, malformed', '')
  .option('--retry-after <duration>', 'what 429 responses ask clients to wait', '1s')
  .option('--seed <n>', 'seed for latency and fault draws', '1')
  .action(async (opts: SimulateFlags) => {
    const simulator = await run({
      port: parseIntegerOption('port', opts.port, 0, 65_535),
      host: opts.host,
      latency: opts.latency,
      faults: opts.faults,
      retryAfterMs: parseDurationMs('retry-after', opts.retryAfter),
      seed: parseSeed(opts.seed),
    });
    print(`simulator listening on ${simulator.url} (POST /v1/messages); set ANTHROPIC_BASE_URL=${simulator.url} to point an SDK at it`);
    await untilInterrupted();
    await simulator.close();
  });

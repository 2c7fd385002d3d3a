import { Command } from 'commander';
import type { AddressInfo } from 'node:net';
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { startInstrumentation } from '../../instrumentation/start.js';
import { loadAgents } from '../config/agents.js';
import { currentProject, givenOr, simulatorSettings } from '../config/project.js';
import { STANDARD_LATENCY } from '../load/scenarios/agent.js';
import { rootLogger } from '../logger.js';
import { buildServer } from '../server/app.js';
import { openStack, providerFor } from '../stack.js';
import { parseBytes, parseIntegerOption } from '../units.js';
import { orchestratorRunner } from '../workflow/execute.js';
import { WorkflowService } from '../workflow/service.js';
import { parseSeed, print, untilInterrupted } from './options.js';

/** Where to listen, what to serve, and the agent stack behind it. */
export interface ServeOptions {
  host: string;
  port: number;
  agentsFile?: string;
  bodyLimitBytes: number;
  /** Simulator latency and faults specs (see parseLatency, parseFaults); default from the project's config. */
  latency?: string;
  faults?: string;
  seed?: number;
  live?: boolean;
  maxConcurrent: number;
  maxQueued: number;
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/**
 * `agentperf serve`: the orchestrator (on the simulator, or the API with --live) behind a
 * fastify app, instrumented, with /metrics served by the same app.
 */
export async function run(options: ServeOptions): Promise<RunningServer> {
  const log = rootLogger.child({ component: 'serve' });
  const project = await currentProject();
  const agents = await loadAgents(givenOr(options.agentsFile, project.agentsFile));
  const simulator = simulatorSettings(project, options, { latency: STANDARD_LATENCY, seed: 1 });
  const instrumentation = await startInstrumentation({ prometheus: false, logger: log });
  const stack = await openStack({
    agents,
    provider: providerFor(options.live, { ...simulator, latencyFrom: 'request' }),
    orchestrator: { maxConcurrent: options.maxConcurrent, maxQueued: options.maxQueued },
    instrumentation,
    logger: log,
  }).catch(async (error: unknown) => {
    await instrumentation.stop();
    throw error;
  });
  const exporter = instrumentation.metricReader as PrometheusExporter;
  const app = buildServer({
    orchestrator: stack.orchestrator,
    workflows: new WorkflowService(orchestratorRunner(stack.orchestrator), {}, agents.map((a) => a.name)),
    stats: () => instrumentation.hdr.snapshot(),
    metricsHandler: (request, response) => exporter.getMetricsRequestHandler(request, response),
    bodyLimitBytes: options.bodyLimitBytes,
    logger: log,
  });
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    await stack.close();
    await instrumentation.stop();
    throw error;
  }
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  log.info({ url, target: stack.target }, 'agentperf serve listening');
  return {
    url,
    async close() {
      await app.close();
      await stack.close();
      await instrumentation.stop();
    },
  };
}

export const command = new Command('serve')
  .description('serve the agents over HTTP (POST /v1/agents/:agent/execute, GET /healthz, /stats, /metrics)')
  .option('--host <host>', 'address to bind', '127.0.0.1')
  .option('--port <n>', 'port to listen on (0: any free port)', '8080')
  .option('--agents <file>', "agents config file (default: the project's, else the shipped agents.json)")
  .option('--latency <spec>', `simulator latency: fixed:MS | uniform:MIN-MAX | lognormal:MEDIAN,P99 [+MS/token] (default: the project's, else ${STANDARD_LATENCY})`)
  .option('--faults <spec>', 'simulator faults: TYPE:RATE,...')
  .option('--seed <n>', 'simulator seed (default 1)')
  .option('--max-concurrent <n>', 'upstream calls in flight at once', '100')
  .option('--max-queued <n>', 'calls waiting for a slot; past it 503', '10000')
  .option('--body-limit <size>', 'largest request body (bytes, or 64kb, 1mb)', '1mb')
  .option('--live', 'call the real API (needs ANTHROPIC_API_KEY)')
  .action(async (opts) => {
    const server = await run({
      host: opts.host,
      port: parseIntegerOption('port', opts.port, 0, 65_535),
      agentsFile: opts.agents,
      latency: opts.latency,
      faults: opts.faults,
      seed: opts.seed === undefined ? undefined : parseSeed(opts.seed),
      live: opts.live,
      maxConcurrent: parseIntegerOption('max-concurrent', opts.maxConcurrent, 1, 100_000),
      maxQueued: parseIntegerOption('max-queued', opts.maxQueued, 0, 10_000_000),
      bodyLimitBytes: parseBytes('body-limit', opts.bodyLimit, 64, 64 * 1024 * 1024),
    });
    print(`agentperf serve listening on ${server.url} (POST /v1/agents/:agent/execute, GET /healthz, /stats, /metrics)`);
    await untilInterrupted();
    await server.close();
  });

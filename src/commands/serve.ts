import type { AddressInfo } from 'node:net';
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { startInstrumentation } from '../../instrumentation/start.js';
import { loadAgents } from '../config/agents.js';
import { rootLogger } from '../logger.js';
import { openAgentStack, type AgentStackOptions } from '../runtime/agent-stack.js';
import { buildServer } from '../server/app.js';
import { orchestratorRunner } from '../workflow/execute.js';
import { WorkflowService } from '../workflow/service.js';

/** Where to listen and what to serve; the rest configures the agent stack. */
export interface ServeOptions extends Omit<AgentStackOptions, 'agents' | 'logger'> {
  host: string;
  port: number;
  agentsFile?: string;
  bodyLimitBytes: number;
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/**
 * `agentperf serve`: the orchestrator (on the simulator, or the API with --live) behind a
 * fastify app, instrumented, with /metrics served by the same app.
 */
export async function startServe(options: ServeOptions): Promise<RunningServer> {
  const log = rootLogger.child({ component: 'serve' });
  const agents = await loadAgents(options.agentsFile);
  const instrumentation = await startInstrumentation({ prometheus: false, logger: log });
  const stack = await openAgentStack({ agents, latency: options.latency, faults: options.faults, seed: options.seed, live: options.live, maxConcurrent: options.maxConcurrent, maxQueued: options.maxQueued, logger: log });
  instrumentation.observeCache(stack.cache);
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

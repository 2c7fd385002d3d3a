import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { loadAgents } from '../config/agents.js';
import { currentProject } from '../config/project.js';
import { AgentperfError, ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import { openStack } from '../stack.js';
import { buildServer } from '../server/app.js';
import { parseIntegerOption } from '../units.js';
import { orchestratorRunner } from '../workflow/execute.js';
import type { Workflow } from '../workflow/plan.js';
import { WorkflowService } from '../workflow/service.js';
import { HttpStatusError } from '../load/http-client.js';
import { defineScenario } from './types.js';

interface WorkflowState {
  pool: Pool;
  origin: string;
  steps: number;
  pollMs: number;
  events: number;
  maxParallel: number;
  /** The in-process server and its agents, when no --target was given. */
  local?: { close(): Promise<void> };
}

/**
 * A diamond-shaped review workflow of `steps` steps: a first step, a middle level that each
 * depends on it, a last step that depends on the middle. `iteration` makes every task new,
 * so every step reaches the simulator (as the source document's users did).
 */
export function reviewWorkflow(steps: number, iteration: number): Workflow {
  const agents = ['code-reviewer', 'bug-investigator', 'doc-writer'];
  const middle = Array.from({ length: Math.max(0, steps - 2) }, (_, i) => ({
    id: `check-${i}`,
    agent: agents[i % agents.length],
    task: `Check part ${i} of {{steps.ask.output}}`,
    dependsOn: ['ask'],
  }));
  return {
    name: `load-review-${iteration}`,
    steps: [
      { id: 'ask', agent: 'python-expert', task: `Explain snippet ${iteration}: {{input}}` },
      ...middle,
      ...(steps > 1
        ? [{ id: 'summary', agent: 'python-expert', task: 'Summarise the checks', dependsOn: middle.length ? middle.map((s) => s.id) : ['ask'] }]
        : []),
    ],
  };
}

async function call(state: WorkflowState, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await state.pool.request({
    path,
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
  });
  const json = (await response.body.json()) as Record<string, unknown>;
  if (response.statusCode >= 400) throw new HttpStatusError(response.statusCode, `${state.origin}${path}`);
  return json;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The workflow API on this process, on an ephemeral port: what `serve` runs, without its instrumentation. */
async function startLocalApi(settings: Readonly<Record<string, string>>, seed: number, log: Logger): Promise<{ url: string; close(): Promise<void> }> {
  const agents = await loadAgents(settings.agents ?? (await currentProject()).agentsFile);
  const stack = await openStack({
    agents,
    provider: { kind: 'simulator', simulator: { latency: settings.latency ?? 'fixed:20', seed, latencyFrom: 'request' } },
    orchestrator: { maxConcurrent: 1_000, maxQueued: 100_000 },
    logger: log,
  });
  const app = buildServer({
    orchestrator: stack.orchestrator,
    stats: () => ({}),
    workflows: new WorkflowService(
      orchestratorRunner(stack.orchestrator),
      {},
      agents.map((a) => a.name),
    ),
    logger: log,
  });
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
  } catch (error) {
    // What was opened is closed again: a setup that fails must let the process exit.
    await app.close().catch(() => {});
    await stack.close().catch(() => {});
    throw error;
  }
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      await app.close();
      await stack.close();
    },
  };
}

/**
 * The workflow API under load, the way the source document's Locust users drove it: each
 * iteration creates a workflow, executes it, polls its status until it ends, then publishes a
 * batch of events to it. Against `--target URL` (a running `agentperf serve`), or the same API
 * started in this process when no target is given.
 */
export const workflowScenario = defineScenario<WorkflowState>({
  name: 'workflow',
  description: 'the workflow HTTP API: create, execute, poll status, publish an event batch (--set steps=4 pollMs=20 events=100)',
  async setup({ target, settings, seed, log }) {
    const steps = parseIntegerOption('set steps', settings.steps ?? '4', 1, 1_000);
    const pollMs = parseIntegerOption('set pollMs', settings.pollMs ?? '20', 1, 60_000);
    const events = parseIntegerOption('set events', settings.events ?? '100', 0, 1_000);
    const maxParallel = parseIntegerOption('set maxParallel', settings.maxParallel ?? '4', 1, 64);
    const connections = parseIntegerOption('set connections', settings.connections ?? '64', 1, 10_000);
    const local = target.kind === 'http' ? undefined : await startLocalApi(settings, seed, log);
    const origin = new URL(target.kind === 'http' ? target.url : local!.url).origin;
    return { pool: new Pool(origin, { connections }), origin, steps, pollMs, events, maxParallel, local };
  },
  async run(state, iteration) {
    const { id } = (await call(state, 'POST', '/v1/workflows', reviewWorkflow(state.steps, iteration))) as { id: string };
    await call(state, 'POST', `/v1/workflows/${id}/execute`, { input: `iteration ${iteration}`, maxParallel: state.maxParallel });
    let status = 'running';
    while (status === 'running') {
      await sleep(state.pollMs);
      status = (await call(state, 'GET', `/v1/workflows/${id}`)).status as string;
    }
    if (state.events > 0)
      await call(state, 'POST', '/v1/events', {
        events: Array.from({ length: state.events }, (_, i) => ({ type: 'load.progress', workflowId: id, data: { i } })),
      });
    if (status !== 'completed') throw new WorkflowFailedError(id, status);
  },
  async teardown(state) {
    await state.pool.close();
    await state.local?.close();
  },
});

/** A workflow that ran but did not complete: counted by the load engine as its own error type. */
class WorkflowFailedError extends AgentperfError {
  constructor(id: string, status: string) {
    super(ErrorCode.WORKFLOW_FAILED, `workflow ${id} ended ${status}`);
  }
}

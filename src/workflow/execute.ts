import { traced, workflowChannel, workflowStepChannel, type WorkflowMessage } from '../diagnostics.js';
import type { Orchestrator } from '../orchestrator/orchestrator.js';
import type { EventBus, WorkflowEvent } from './event-bus.js';
import { planWorkflowCached, type Workflow, type WorkflowStep } from './plan.js';

export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

export interface StepResult {
  id: string;
  status: StepStatus;
  output?: string;
  error?: string;
  startedAt?: number;
  latencyMs?: number;
}

export interface WorkflowRun {
  workflowId: string;
  status: 'completed' | 'failed' | 'cancelled';
  steps: Record<string, StepResult>;
  durationMs: number;
}

/** Runs one step's task (the orchestrator's executeAgent, in production) and returns its output. */
export type StepRunner = (step: WorkflowStep, task: string, signal: AbortSignal) => Promise<string>;

/** Steps as agent calls through the orchestrator: its limits, retries, cache and spans apply. */
export function orchestratorRunner(orchestrator: Orchestrator): StepRunner {
  return async (step, task, signal) => (await orchestrator.executeAgent(step.agent, task, { signal })).output;
}

export interface ExecuteOptions {
  workflowId: string;
  /** Steps running at once, at most. */
  maxParallel: number;
  /** fail-fast: a failure cancels what runs and skips the rest; continue: only its dependents are skipped. */
  onError: 'fail-fast' | 'continue';
  signal?: AbortSignal;
  /** Replaces `{{input}}` in every task. */
  input?: string;
  bus?: EventBus<WorkflowEvent>;
  now?: () => number;
}

const TEMPLATE = /\{\{\s*(input|steps\.([^.}\s]+)\.output)\s*\}\}/g;

/** A step's task with `{{input}}` and its dependencies' `{{steps.<id>.output}}` filled in. */
export function renderTask(task: string, input: string | undefined, outputs: ReadonlyMap<string, string>): string {
  return task.replace(TEMPLATE, (whole, _kind: string, stepId: string | undefined) => (stepId === undefined ? (input ?? '') : (outputs.get(stepId) ?? whole)));
}

/**
 * Runs a workflow: a step starts once all its dependencies are done, with at most
 * `maxParallel` running, its task rendered from their outputs. Lifecycle events go to the bus.
 */
export function executeWorkflow(workflow: Workflow, run: StepRunner, options: ExecuteOptions): Promise<WorkflowRun> {
  try {
    planWorkflowCached(workflow); // validates first: unknown dependencies, duplicates, cycles
  } catch (error) {
    return Promise.reject(error);
  }
  // Traced when instrumentation listens: a workflow span, a span per step, the agent spans under those.
  const message: WorkflowMessage = { workflowId: options.workflowId, name: workflow.name, steps: workflow.steps.length };
  return traced(
    workflowChannel,
    () => message,
    () => runWorkflow(workflow, run, options, message),
  );
}

async function runWorkflow(workflow: Workflow, run: StepRunner, options: ExecuteOptions, message: WorkflowMessage): Promise<WorkflowRun> {
  const now = options.now ?? (() => performance.now());
  const startedAt = now();
  const publish = (type: string, stepId?: string, data?: unknown) =>
    options.bus?.publish({ type, workflowId: options.workflowId, stepId, at: Date.now(), data });
  const byId = new Map(workflow.steps.map((s) => [s.id, s]));
  const waitingOn = new Map(workflow.steps.map((s) => [s.id, new Set(s.dependsOn ?? [])]));
  const dependents = new Map<string, string[]>(workflow.steps.map((s) => [s.id, []]));
  for (const s of workflow.steps) for (const d of s.dependsOn ?? []) dependents.get(d)!.push(s.id);
  const results: Record<string, StepResult> = Object.fromEntries(workflow.steps.map((s) => [s.id, { id: s.id, status: 'pending' }]));
  const outputs = new Map<string, string>();
  const ready: string[] = workflow.steps.filter((s) => (s.dependsOn ?? []).length === 0).map((s) => s.id);
  const controller = new AbortController();
  const abort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', abort, { once: true });
  let running = 0;
  let failed = false;

  const skipFrom = (id: string) => {
    for (const next of dependents.get(id)!) {
      if (results[next].status === 'pending') {
        results[next].status = 'skipped';
        skipFrom(next);
      }
    }
  };

  publish('workflow.started');
  await new Promise<void>((resolve) => {
    const pump = () => {
      const stopping = controller.signal.aborted || (failed && options.onError === 'fail-fast');
      while (!stopping && running < options.maxParallel && ready.length > 0) {
        const id = ready.shift()!;
        const step = byId.get(id)!;
        const result = results[id];
        result.status = 'running';
        result.startedAt = now() - startedAt;
        running++;
        publish('step.started', id);
        const task = renderTask(step.task, options.input, outputs);
        traced(
          workflowStepChannel,
          () => ({ workflow: message, stepId: id, agent: step.agent }),
          () => run(step, task, controller.signal),
        )
          .then(
            (output) => {
              result.status = 'done';
              result.output = output;
              outputs.set(id, output);
              publish('step.completed', id);
              for (const next of dependents.get(id)!) {
                const waits = waitingOn.get(next)!;
                waits.delete(id);
                if (waits.size === 0 && results[next].status === 'pending') ready.push(next);
              }
            },
            (error: unknown) => {
              result.status = 'failed';
              result.error = error instanceof Error ? error.message : String(error);
              failed = true;
              publish('step.failed', id, { error: result.error });
              skipFrom(id);
              if (options.onError === 'fail-fast') controller.abort(error);
            },
          )
          .finally(() => {
            result.latencyMs = now() - startedAt - result.startedAt!;
            running--;
            pump();
          });
      }
      if (running === 0) resolve();
    };
    pump();
  });
  options.signal?.removeEventListener('abort', abort);
  // Whatever never started (fail-fast, cancellation) is skipped.
  for (const r of Object.values(results)) if (r.status === 'pending') r.status = 'skipped';
  const status: WorkflowRun['status'] = options.signal?.aborted ? 'cancelled' : failed ? 'failed' : 'completed';
  publish('workflow.completed', undefined, { status });
  return { workflowId: options.workflowId, status, steps: results, durationMs: now() - startedAt };
}

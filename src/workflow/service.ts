import { randomUUID } from 'node:crypto';
import { AgentperfError, ErrorCode, ValidationError } from '../errors.js';
import { EventBus, type WorkflowEvent } from './event-bus.js';
import { executeWorkflow, type StepResult, type StepRunner, type StepStatus, type WorkflowRun } from './execute.js';
import { planWorkflowCached, type Plan, type Workflow } from './plan.js';

export type WorkflowState = 'created' | 'running' | 'completed' | 'failed' | 'cancelled';

/** A workflow event with its position in that workflow's log (the SSE `id`). */
export interface SequencedEvent extends WorkflowEvent {
  seq: number;
}

export interface ServiceLimits {
  /** Workflows kept; past it the oldest one not running is forgotten. Default 1,000. */
  maxWorkflows: number;
  /** Steps per workflow accepted over HTTP. Default 10,000. */
  maxSteps: number;
  /** Events kept per workflow for status and replay; older ones are dropped and counted. Default 10,000. */
  maxEventsPerWorkflow: number;
  /** Largest `maxParallel` an execute request may ask for. Default 64. */
  maxParallel: number;
}

export const DEFAULT_SERVICE_LIMITS: ServiceLimits = { maxWorkflows: 1_000, maxSteps: 10_000, maxEventsPerWorkflow: 10_000, maxParallel: 64 };

export class ConflictError extends AgentperfError {
  constructor(message: string) {
    super(ErrorCode.CONFLICT, message);
  }
}

export class NotFoundError extends AgentperfError {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(ErrorCode.NOT_FOUND, message);
  }
}

export class CapacityError extends AgentperfError {
  constructor(message: string) {
    super(ErrorCode.CAPACITY, message);
  }
}

interface StoredWorkflow {
  id: string;
  workflow: Workflow;
  /** Planned once at create: status is polled often, and re-planning would hash the whole workflow each time. */
  plan: Plan;
  createdAt: string;
  state: WorkflowState;
  /** Step statuses as the events tell them while running; the run's own once it ends. */
  steps: Map<string, StepResult>;
  run?: WorkflowRun;
  controller?: AbortController;
  /** The last `maxEventsPerWorkflow` events; `firstSeq` is the sequence number of events[0]. */
  events: SequencedEvent[];
  firstSeq: number;
  nextSeq: number;
  /** Live followers: each gets events, and `ended` once the workflow (or the service) ends. */
  listeners: Set<{ live(event: SequencedEvent): void; ended(): void }>;
}

const STEP_STATUS_BY_EVENT: Record<string, StepStatus> = { 'step.started': 'running', 'step.completed': 'done', 'step.failed': 'failed' };
const RESERVED_EVENT_PREFIXES = ['workflow.', 'step.'];

/**
 * The workflows behind the HTTP API: created (validated and planned), executed in the
 * background through a step runner, observed through status and an event log fed by the bus.
 * Everything is bounded: workflows kept, steps per workflow, events kept per workflow.
 */
export class WorkflowService {
  readonly bus = new EventBus<WorkflowEvent>();
  private readonly workflows = new Map<string, StoredWorkflow>();
  private readonly limits: ServiceLimits;
  private readonly subscription: { unsubscribe(): void };
  /** Published events whose workflow is unknown (forgotten since): delivered to the bus, kept nowhere. */
  unrouted = 0;

  constructor(
    private readonly runner: StepRunner,
    limits: Partial<ServiceLimits> = {},
    /** The agents steps may name; checked at create when given. */
    private readonly agents?: readonly string[],
  ) {
    this.limits = { ...DEFAULT_SERVICE_LIMITS, ...limits };
    this.subscription = this.bus.subscribe((batch) => {
      for (const event of batch) this.record(event);
    });
  }

  /** Validates and plans a workflow, stores it, returns its id and plan summary. */
  create(workflow: Workflow) {
    if (workflow.steps.length === 0) throw new ValidationError(ErrorCode.WORKFLOW, 'steps', 'a workflow needs at least one step');
    if (workflow.steps.length > this.limits.maxSteps)
      throw new ValidationError(ErrorCode.WORKFLOW, 'steps', `a workflow may have at most ${this.limits.maxSteps} steps, got ${workflow.steps.length}`);
    if (this.agents) {
      const known = new Set(this.agents);
      const i = workflow.steps.findIndex((s) => !known.has(s.agent));
      if (i >= 0)
        throw new ValidationError(
          ErrorCode.WORKFLOW,
          `steps[${i}].agent`,
          `steps[${i}].agent must be one of the configured agents (${this.agents.join(', ')}), got ${JSON.stringify(workflow.steps[i].agent)}`,
        );
    }
    const plan = planWorkflowCached(workflow);
    this.makeRoom();
    const id = randomUUID();
    this.workflows.set(id, {
      id,
      workflow,
      plan,
      createdAt: new Date().toISOString(),
      state: 'created',
      steps: new Map(workflow.steps.map((s) => [s.id, { id: s.id, status: 'pending' }])),
      events: [],
      firstSeq: 1,
      nextSeq: 1,
      listeners: new Set(),
    });
    return {
      id,
      steps: plan.steps,
      edges: plan.edges,
      levels: plan.levels.length,
      criticalPath: plan.criticalPath,
      maxWidth: plan.maxWidth,
      speedupBound: plan.speedupBound,
    };
  }

  /** Starts a run in the background; a workflow runs once. */
  execute(id: string, options: { input?: string; maxParallel?: number; onError?: 'fail-fast' | 'continue' }): { id: string; status: WorkflowState } {
    const stored = this.get(id);
    if (stored.state !== 'created')
      throw new ConflictError(`workflow ${id} has already been executed (status ${stored.state}); create it again to run it again`);
    const maxParallel = options.maxParallel ?? 4;
    if (maxParallel > this.limits.maxParallel)
      throw new ValidationError(ErrorCode.VALIDATION, 'maxParallel', `maxParallel must be at most ${this.limits.maxParallel}, got ${maxParallel}`);
    stored.state = 'running';
    stored.controller = new AbortController();
    executeWorkflow(stored.workflow, this.runner, {
      workflowId: id,
      maxParallel,
      onError: options.onError ?? 'fail-fast',
      input: options.input,
      signal: stored.controller.signal,
      bus: this.bus,
    }).then(
      (run) => {
        stored.run = run;
        stored.steps = new Map(Object.entries(run.steps));
        stored.state = run.status;
      },
      () => {
        stored.state = 'failed'; // validated at create, so only an executor bug lands here
      },
    );
    return { id, status: stored.state };
  }

  /** Cancels a running workflow: running steps are aborted, the rest skipped. */
  cancel(id: string): { id: string; status: WorkflowState } {
    const stored = this.get(id);
    if (stored.state !== 'running') throw new ConflictError(`workflow ${id} is not running (status ${stored.state})`);
    stored.controller!.abort(new Error('cancelled over HTTP'));
    return { id, status: stored.state };
  }

  has(id: string): boolean {
    return this.workflows.has(id);
  }

  status(id: string) {
    const stored = this.get(id);
    const { plan } = stored;
    return {
      id,
      name: stored.workflow.name,
      status: stored.state,
      createdAt: stored.createdAt,
      durationMs: stored.run?.durationMs,
      plan: { steps: plan.steps, edges: plan.edges, levels: plan.levels.length, criticalPath: plan.criticalPath.steps, maxWidth: plan.maxWidth },
      steps: Object.fromEntries(stored.steps),
      events: { received: stored.nextSeq - 1, kept: stored.events.length, dropped: stored.firstSeq - 1 },
    };
  }

  /**
   * Publishes a batch of events from outside (the workflow ids must exist; lifecycle types are
   * the executor's). Resolves once the bus has room, so a fast publisher is slowed, not buffered.
   */
  async publish(events: readonly { type: string; workflowId: string; stepId?: string; data?: unknown }[]): Promise<number> {
    events.forEach((event, i) => {
      if (RESERVED_EVENT_PREFIXES.some((prefix) => event.type.startsWith(prefix))) {
        throw new ValidationError(
          ErrorCode.VALIDATION,
          `events[${i}].type`,
          `event types starting with ${RESERVED_EVENT_PREFIXES.join(' or ')} are the executor's; got ${JSON.stringify(event.type)}`,
        );
      }
      if (!this.workflows.has(event.workflowId))
        throw new NotFoundError(
          `events[${i}].workflowId must name a workflow of this server; there is no ${JSON.stringify(event.workflowId)}`,
          `events[${i}].workflowId`,
        );
    });
    const at = Date.now();
    if (!this.bus.publishBatch(events.map((e) => ({ ...e, at })))) await this.bus.ready();
    return events.length;
  }

  /**
   * The workflow's events after `afterSeq` (those still kept), then live ones through
   * `listener` until `stop()` is called or the workflow ends (`ended` is called then).
   */
  follow(id: string, afterSeq: number, listener: (event: SequencedEvent) => void, ended: () => void): { stop(): void } {
    const stored = this.get(id);
    for (const event of stored.events) if (event.seq > afterSeq) listener(event);
    if (this.isFinished(stored)) {
      ended();
      return { stop() {} };
    }
    const follower = {
      live(event: SequencedEvent) {
        listener(event);
        if (event.type === 'workflow.completed') follower.ended();
      },
      ended() {
        stored.listeners.delete(follower);
        ended();
      },
    };
    stored.listeners.add(follower);
    return { stop: () => stored.listeners.delete(follower) };
  }

  /**
   * The server is closing: cancels every running workflow, waits (up to 5 s) for them to
   * settle, then ends every follower's stream so no connection holds the server open.
   */
  async close(): Promise<void> {
    for (const stored of this.workflows.values()) if (stored.state === 'running') stored.controller!.abort(new Error('server closing'));
    const deadline = Date.now() + 5_000;
    while ([...this.workflows.values()].some((w) => w.state === 'running') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 0)); // the bus delivers the final events
    for (const stored of this.workflows.values()) for (const follower of [...stored.listeners]) follower.ended();
    this.subscription.unsubscribe();
  }

  private get(id: string): StoredWorkflow {
    const stored = this.workflows.get(id);
    if (!stored) throw new NotFoundError(`no workflow ${JSON.stringify(id)}`);
    return stored;
  }

  /** Finished once its final event is in the log (status can be ahead of the asynchronous bus). */
  private isFinished(stored: StoredWorkflow): boolean {
    return stored.state !== 'created' && stored.state !== 'running' && stored.events.at(-1)?.type === 'workflow.completed';
  }

  private record(event: WorkflowEvent): void {
    const stored = this.workflows.get(event.workflowId);
    if (!stored) {
      this.unrouted++;
      return;
    }
    const sequenced: SequencedEvent = { ...event, seq: stored.nextSeq++ };
    stored.events.push(sequenced);
    if (stored.events.length > this.limits.maxEventsPerWorkflow) {
      stored.events.shift();
      stored.firstSeq++;
    }
    const stepStatus = STEP_STATUS_BY_EVENT[event.type];
    if (stepStatus && event.stepId !== undefined && !stored.run) {
      const step = stored.steps.get(event.stepId);
      if (step) step.status = stepStatus;
    }
    for (const follower of stored.listeners) follower.live(sequenced);
  }

  private makeRoom(): void {
    if (this.workflows.size < this.limits.maxWorkflows) return;
    for (const [id, stored] of this.workflows) {
      if (stored.state !== 'running') {
        this.workflows.delete(id);
        return;
      }
    }
    throw new CapacityError(`all ${this.limits.maxWorkflows} workflows kept are running; try again when one finishes`);
  }
}

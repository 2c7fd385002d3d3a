import { median } from '../stats/percentiles.js';
import { generateWorkflow } from '../workflow/generate.js';
import { planWorkflow, type Workflow } from '../workflow/plan.js';
import { EventBus, type WorkflowEvent } from '../workflow/event-bus.js';

export interface WorkflowBenchOptions {
  sizes: number[];
  edges: number;
}

export const DEFAULT_WORKFLOW_BENCH: WorkflowBenchOptions = { sizes: [1_000, 10_000, 100_000, 1_000_000], edges: 3 };

export interface PlanningRow {
  steps: number;
  edges: number;
  runs: number;
  /** Median planning time, ms. */
  medianMs: number;
  nsPerStep: number;
  /**
   * The floor set by memory, not by the planner: a pass that only reads each step's id and its
   * dependencies' ids (one character of each), per step. What it grows by across sizes, no
   * planner that reads its input can avoid.
   */
  readNsPerStep: number;
}

export interface BusRow {
  events: number;
  batchSize: number;
  /** Median of the runs. */
  eventsPerSec: number;
  runs: number[];
}

export interface WorkflowBenchResult {
  options: WorkflowBenchOptions;
  planning: PlanningRow[];
  bus: BusRow;
  /** Largest over smallest time per step across the sizes: flat means under 2. */
  perStepSpread: number;
  /** The same spread for the read-only pass. */
  readSpread: number;
  elapsedMs: number;
}

/**
 * Planning time by workflow size: each size generated once, planned repeatedly (more runs for
 * small ones, where one run is below the timer's noise), the median kept. A warm-up pass over
 * the smallest size first, so the JIT has compiled the planner.
 */
export async function benchWorkflow(options: WorkflowBenchOptions = DEFAULT_WORKFLOW_BENCH): Promise<WorkflowBenchResult> {
  const startedAt = performance.now();
  const warm = generateWorkflow(1_000, options.edges);
  for (let i = 0; i < 200; i++) planWorkflow(warm);
  const planning: PlanningRow[] = [];
  for (const steps of options.sizes) {
    const workflow = generateWorkflow(steps, options.edges);
    const runs = Math.max(5, Math.min(301, Math.round(2_000_000 / steps)));
    const times: number[] = [];
    for (let r = 0; r < runs; r++) {
      const t = performance.now();
      planWorkflow(workflow);
      times.push(performance.now() - t);
    }
    const medianMs = median(times);
    const reads: number[] = [];
    for (let r = 0; r < runs; r++) {
      const t = performance.now();
      readInput(workflow);
      reads.push(performance.now() - t);
    }
    planning.push({
      steps,
      edges: workflow.steps.reduce((s, x) => s + (x.dependsOn?.length ?? 0), 0),
      runs,
      medianMs,
      nsPerStep: (medianMs * 1e6) / steps,
      readNsPerStep: (median(reads) * 1e6) / steps,
    });
  }
  const perStep = planning.map((p) => p.nsPerStep);
  const read = planning.map((p) => p.readNsPerStep);
  const bus = await benchBus(5_000_000, 1_000, 5);
  return {
    options,
    planning,
    bus,
    perStepSpread: Math.max(...perStep) / Math.min(...perStep),
    readSpread: Math.max(...read) / Math.min(...read),
    elapsedMs: performance.now() - startedAt,
  };
}

let _readSink = 0;

/** Reads one character of every id and dependency id: the least a planner must touch. */
function readInput(workflow: Workflow): void {
  let sum = 0;
  for (const step of workflow.steps) {
    sum += step.id.charCodeAt(0);
    for (const dep of step.dependsOn ?? []) sum += dep.charCodeAt(0);
  }
  _readSink += sum; // kept, so the loop is not optimized away
}

/**
 * Events through the bus: batches of `batchSize` published (waiting on `ready()` when the
 * subscriber pushes back) until `events` have been delivered to one counting subscriber.
 */
export async function benchBus(events: number, batchSize: number, runs: number): Promise<BusRow> {
  const batch: WorkflowEvent[] = Array.from({ length: batchSize }, (_, i) => ({ type: 'step.completed', workflowId: `wf-${i % 16}`, stepId: `s${i}`, at: i }));
  const rates: number[] = [];
  for (let r = 0; r < runs + 1; r++) {
    const bus = new EventBus();
    let delivered = 0;
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    bus.subscribe(
      (b) => {
        delivered += b.length;
        if (delivered >= events) done();
      },
      { batchSize },
    );
    const t = performance.now();
    for (let sent = 0; sent < events; sent += batchSize) {
      if (!bus.publishBatch(batch)) await bus.ready();
    }
    await finished;
    const rate = (events / (performance.now() - t)) * 1000;
    if (r > 0) rates.push(rate); // the first run warms the JIT
  }
  return { events, batchSize, eventsPerSec: median(rates), runs: rates };
}

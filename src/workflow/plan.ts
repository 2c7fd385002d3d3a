import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { ErrorCode, ValidationError } from '../errors.js';
import { StringIndex } from './string-index.js';

/** One step of a workflow: an agent call whose task may use its dependencies' outputs. */
export interface WorkflowStep {
  id: string;
  agent: string;
  /** `{{steps.<id>.output}}` is replaced by that dependency's output. */
  task: string;
  dependsOn?: string[];
  /** Expected duration in ms for the critical path; default 1 (every step counts the same). */
  weightMs?: number;
}

export interface Workflow {
  name?: string;
  steps: WorkflowStep[];
}

export interface Plan {
  steps: number;
  edges: number;
  /** Step ids in an order that runs every dependency first. */
  order: string[];
  /** Steps grouped by depth: level k needs only levels below k. */
  levels: string[][];
  criticalPath: { steps: string[]; lengthMs: number };
  totalWorkMs: number;
  maxWidth: number;
  averageWidth: number;
  /** Total work over the critical path: no schedule can beat this speedup. */
  speedupBound: number;
}

export class WorkflowError extends ValidationError {
  constructor(field: string, message: string) {
    super(ErrorCode.WORKFLOW, field, message);
  }
}

/**
 * Plans a workflow in time linear in steps plus edges: indices instead of ids, Kahn's
 * topological sort, then one pass in that order for levels and the critical path (the
 * heaviest chain of dependencies). A cycle is reported with its steps in order.
 */
export function planWorkflow(workflow: Workflow): Plan {
  const steps = workflow.steps;
  const n = steps.length;
  const ids = new Array<string>(n);
  for (let i = 0; i < n; i++) ids[i] = steps[i].id;
  const { index, duplicateAt } = StringIndex.build(ids);
  if (duplicateAt !== undefined)
    throw new WorkflowError(`steps[${duplicateAt}].id`, `step ids must be unique: ${JSON.stringify(ids[duplicateAt])} appears twice`);
  // Dependencies as a CSR array: deps of step i are depList[depStart[i] .. depStart[i + 1]).
  const depStart = new Int32Array(n + 1);
  let edges = 0;
  for (let i = 0; i < n; i++) {
    depStart[i] = edges;
    edges += steps[i].dependsOn?.length ?? 0;
  }
  depStart[n] = edges;
  const depList = new Int32Array(edges);
  const indegree = new Int32Array(n);
  const dependents = new Int32Array(n + 1); // counts, then CSR offsets of the reverse edges
  for (let i = 0, e = 0; i < n; i++) {
    for (const dep of steps[i].dependsOn ?? []) {
      const d = index.get(dep);
      if (d < 0)
        throw new WorkflowError(
          `steps[${i}].dependsOn`,
          `step ${JSON.stringify(steps[i].id)} depends on ${JSON.stringify(dep)}, which is not a step of this workflow`,
        );
      if (d === i) throw new WorkflowError(`steps[${i}].dependsOn`, `step ${JSON.stringify(steps[i].id)} must not depend on itself`);
      depList[e++] = d;
      indegree[i]++;
      dependents[d + 1]++;
    }
  }
  for (let i = 0; i < n; i++) dependents[i + 1] += dependents[i];
  const fill = dependents.slice(0, n);
  const dependentList = new Int32Array(edges);
  for (let i = 0; i < n; i++) for (let e = depStart[i]; e < depStart[i + 1]; e++) dependentList[fill[depList[e]]++] = i;

  // Kahn: a queue of the steps whose dependencies are all placed.
  const order = new Int32Array(n);
  let head = 0;
  let tail = 0;
  const remaining = indegree.slice();
  for (let i = 0; i < n; i++) if (remaining[i] === 0) order[tail++] = i;
  while (head < tail) {
    const v = order[head++];
    for (let e = dependents[v]; e < dependents[v + 1]; e++) {
      const w = dependentList[e];
      if (--remaining[w] === 0) order[tail++] = w;
    }
  }
  if (tail < n) throw new WorkflowError('steps', `the dependencies form a cycle: ${findCycle(steps, remaining, depStart, depList).join(' -> ')}`);

  // Levels and the critical path, in topological order.
  const level = new Int32Array(n);
  const finish = new Float64Array(n);
  const via = new Int32Array(n).fill(-1);
  let depth = 0;
  let totalWork = 0;
  let end = -1;
  for (let k = 0; k < n; k++) {
    const v = order[k];
    let lv = 0;
    let best = 0;
    for (let e = depStart[v]; e < depStart[v + 1]; e++) {
      const d = depList[e];
      if (level[d] + 1 > lv) lv = level[d] + 1;
      if (finish[d] > best) {
        best = finish[d]!;
        via[v] = d;
      }
    }
    level[v] = lv;
    if (lv + 1 > depth) depth = lv + 1;
    const weight = steps[v].weightMs ?? 1;
    totalWork += weight;
    finish[v] = best + weight;
    if (end < 0 || finish[v] > finish[end]) end = v;
  }
  const counts = new Int32Array(depth);
  for (let i = 0; i < n; i++) counts[level[i]]++;
  const levels: string[][] = Array.from({ length: depth }, (_, k) => new Array<string>(counts[k]));
  const cursor = new Int32Array(depth);
  for (let k = 0; k < n; k++) {
    const v = order[k];
    levels[level[v]][cursor[level[v]]++] = steps[v].id;
  }
  const path: string[] = [];
  for (let v = end; v >= 0; v = via[v]!) path.push(steps[v].id);
  path.reverse();
  const lengthMs = end >= 0 ? finish[end] : 0;
  let maxWidth = 0;
  for (const c of counts) if (c > maxWidth) maxWidth = c;
  return {
    steps: n,
    edges,
    order: Array.from(order, (v) => ids[v]),
    levels,
    criticalPath: { steps: path, lengthMs },
    totalWorkMs: totalWork,
    maxWidth,
    averageWidth: depth ? n / depth : 0,
    speedupBound: lengthMs ? totalWork / lengthMs : 0,
  };
}

/** A cycle among the steps Kahn could not place, found by walking dependencies until one repeats. */
function findCycle(steps: readonly WorkflowStep[], remaining: Int32Array, depStart: Int32Array, depList: Int32Array): string[] {
  // Every unplaced step has an unplaced dependency, so following them must come back round.
  let v = remaining.findIndex((r) => r > 0);
  const seenAt = new Map<number, number>();
  const walk: number[] = [];
  while (!seenAt.has(v)) {
    seenAt.set(v, walk.length);
    walk.push(v);
    let next = -1;
    for (let e = depStart[v]; e < depStart[v + 1]; e++) {
      if (remaining[depList[e]] > 0) {
        next = depList[e]!;
        break;
      }
    }
    v = next;
  }
  // The walk goes from dependents to dependencies; the cycle reads in execution order reversed.
  const cycle = walk
    .slice(seenAt.get(v))
    .reverse()
    .map((i) => steps[i].id);
  return [...cycle, cycle[0]];
}

const planCache = new LRUCache<string, Plan>({ max: 64 });

/**
 * `planWorkflow`, memoized by a SHA-256 of the workflow's JSON: planning the same workflow
 * again (each execution, each status request) costs a hash, not a plan.
 */
export function planWorkflowCached(workflow: Workflow): Plan {
  const key = createHash('sha256').update(JSON.stringify(workflow)).digest('hex');
  let plan = planCache.get(key);
  if (!plan) {
    plan = planWorkflow(workflow);
    planCache.set(key, plan);
  }
  return plan;
}

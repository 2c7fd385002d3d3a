import { mulberry32 } from '../random.js';
import type { Workflow } from './plan.js';

/**
 * A random DAG of `steps` steps, each depending on up to `edges` earlier ones drawn from a
 * window of the 64 before it (so the graph has depth, not one wide level): benchmark input.
 */
export function generateWorkflow(steps: number, edges: number, seed = 1): Workflow {
  const random = mulberry32(seed);
  const agents = ['python-expert', 'code-reviewer', 'bug-investigator', 'doc-writer'];
  const out: Workflow['steps'] = new Array<Workflow['steps'][number]>(steps);
  for (let i = 0; i < steps; i++) {
    const deps = new Set<string>();
    const want = Math.min(i, edges);
    while (deps.size < want) deps.add(`s${i - 1 - Math.floor(random() * Math.min(i, 64))}`);
    out[i] = { id: `s${i}`, agent: agents[i % agents.length], task: `step ${i}`, dependsOn: [...deps] };
  }
  return { name: `generated-${steps}x${edges}`, steps: out };
}

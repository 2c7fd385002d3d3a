// The child process of `agentperf leak`: runs a scenario in rounds with GC forced between them
// (it runs with --expose-gc), reports the heap used after each over IPC, and on request writes
// the three heap snapshots that name what leaks.
import { join } from 'node:path';
import v8 from 'node:v8';
import { resolveScenario } from '../scenarios/index.js';
import type { AgentTarget } from '../scenarios/types.js';
import { rootLogger } from '../logger.js';
import { ErrorCode, errorType } from '../errors.js';
import { writeHeapSnapshot } from './heap.js';

export interface ProbeSpec {
  scenario: string;
  settings: Record<string, string>;
  target: AgentTarget;
  seed: number;
  warmupRounds: number;
  rounds: number;
  iterationsPerRound: number;
  concurrency: number;
}

export type ProbeMessage =
  | { type: 'round'; round: number; iterations: number; heapUsed: number }
  | { type: 'measured'; errors: Record<string, number> }
  | { type: 'snapshots'; files: [string, string, string] }
  | { type: 'failed'; message: string; /** The error's AP_ERR_* code, when it has one. */ code?: string };

export type ParentMessage = { type: 'more'; rounds: number } | { type: 'snapshots'; dir: string; rounds: number } | { type: 'finish' };

/**
 * The heap used by the program's objects: every V8 heap space but the code spaces. Compiled
 * code keeps growing for a while as the JIT warms up (measured: ~60 KiB over 300 iterations of
 * the mixed scenario, all `(compiled code)`); that is not the program retaining anything.
 */
export function heapUsedWithoutCode(): number {
  let used = 0;
  for (const space of v8.getHeapSpaceStatistics()) if (!space.space_name.startsWith('code')) used += space.space_used_size;
  return used;
}

const send = (message: ProbeMessage) => new Promise<void>((resolve) => process.send!(message, () => resolve()));
const turn = () => new Promise((resolve) => setImmediate(resolve));

async function probe(spec: ProbeSpec): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('the leak probe needs --expose-gc');
  const scenario = await resolveScenario(spec.scenario);
  const state = await scenario.setup({ target: spec.target, settings: spec.settings, seed: spec.seed, log: rootLogger.child({ component: 'leak-probe' }) });
  const errors = new Map<string, number>();
  let iteration = 0;
  const round = async () => {
    const end = iteration + spec.iterationsPerRound;
    const worker = async () => {
      while (iteration < end) {
        try {
          await scenario.run(state, iteration++);
        } catch (error) {
          const type = errorType(error);
          errors.set(type, (errors.get(type) ?? 0) + 1);
        }
      }
    };
    await Promise.all(Array.from({ length: spec.concurrency }, worker));
  };
  // GC with turns of the event loop between (finalizers and weak callbacks run after a GC),
  // until the heap stops shrinking: garbage from setup can take more than one cycle to go.
  const settledHeap = async () => {
    let used = Infinity;
    for (let k = 0; k < 6; k++) {
      await turn();
      gc();
      await turn();
      gc();
      const now = heapUsedWithoutCode();
      if (now >= used * 0.999) return now;
      used = now;
    }
    return used;
  };

  for (let r = 0; r < spec.warmupRounds; r++) await round();
  await settledHeap();
  let measured = 0;
  const measureRounds = async (count: number) => {
    for (let r = 0; r < count; r++) {
      await round();
      await send({ type: 'round', round: ++measured, iterations: iteration, heapUsed: await settledHeap() });
    }
    await send({ type: 'measured', errors: Object.fromEntries(errors) });
  };
  await measureRounds(spec.rounds);

  let next = await new Promise<ParentMessage>((resolve) => process.once('message', (m) => resolve(m as ParentMessage)));
  // While the slope's interval straddles the threshold, the parent asks for more rounds.
  while (next.type === 'more') {
    await measureRounds(next.rounds);
    next = await new Promise<ParentMessage>((resolve) => process.once('message', (m) => resolve(m as ParentMessage)));
  }
  if (next.type === 'snapshots') {
    const files: string[] = [];
    for (const name of ['baseline', 'target', 'final']) {
      if (name !== 'baseline') for (let r = 0; r < next.rounds; r++) await round();
      await settledHeap();
      files.push(writeHeapSnapshot(join(next.dir, `${name}.heapsnapshot`)));
    }
    await send({ type: 'snapshots', files: files as [string, string, string] });
  }
  await scenario.teardown(state);
}

try {
  await probe(JSON.parse(process.argv[2]) as ProbeSpec);
  process.disconnect?.();
} catch (error) {
  await send({
    type: 'failed',
    message: (error as Error).message,
    code: (error as { code?: unknown }).code === ErrorCode.SCENARIO_SETUP ? ErrorCode.SCENARIO_SETUP : undefined,
  });
  process.exitCode = 1;
  process.disconnect?.();
}

import { parseIntegerOption, parseNumberOption } from '../units.js';
import { defineScenario } from './types.js';

interface SyntheticState {
  loops: number;
  sink: number;
}

/** A fixed amount of arithmetic: the unit of work, so that `factor=1.1` is 10% more of it. */
export function syntheticWork(loops: number, seed: number): number {
  let x = seed | 0;
  for (let i = 0; i < loops; i++) x = (Math.imul(x, 1_103_515_245) + 12_345) | 0;
  return x;
}

const yieldTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * CPU work whose size is a parameter: `--set work=50000` loops per iteration, times
 * `--set factor=1.1` for a candidate 10% slower. The gate's validation injects regressions
 * with it. Each iteration yields a turn of the event loop, so timers and monitors run.
 */
export const syntheticScenario = defineScenario<SyntheticState>({
  name: 'synthetic',
  description: 'CPU work of a given size per iteration (--set work=LOOPS factor=F), for validating the gate',
  // eslint-disable-next-line @typescript-eslint/require-await -- a scenario's setup returns a promise, and its refusals must reach the runner as rejections
  async setup({ settings }) {
    const work = parseIntegerOption('set work', settings.work ?? '50000', 1, 1_000_000_000);
    const factor = parseNumberOption('set factor', settings.factor ?? '1', 0.01, 100);
    return { loops: Math.round(work * factor), sink: 0 };
  },
  async run(state, i) {
    state.sink ^= syntheticWork(state.loops, i);
    await yieldTurn();
  },
  teardown: async () => {},
});

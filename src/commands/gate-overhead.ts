import { Command } from 'commander';
import { measureOverheadHere, type OverheadMeasurement, type OverheadSpec } from '../measure/slices.js';
import { print } from './options.js';

/** `agentperf gate overhead <spec>`: the overhead measurement in this process; the gate and `bench overhead` run it in a fresh one. */
export function run(spec: OverheadSpec): Promise<OverheadMeasurement> {
  return measureOverheadHere(spec);
}

export const command = new Command('overhead')
  .description('the observability overhead in this process, instrumentation switched off and on in slices (the gate runs it in a fresh process)')
  .argument('<spec>', 'the measurement spec as JSON')
  .action(async (spec: string) => {
    print(JSON.stringify(await run(JSON.parse(spec) as OverheadSpec)));
  });

import test from 'ava';
import { cpuOverheadWarning } from '../../src/pipeline/pipeline.ts';
import type { OverheadSummary } from '../../src/pipeline/record.ts';

const summary = (low: number, estimate: number, high: number) =>
  ({ mainThreadLowPct: low, mainThreadAddedPct: estimate, mainThreadHighPct: high, cpuLimitPct: 5 }) as OverheadSummary;

test('main-thread CPU added per iteration against the 5% limit: beyond, possibly beyond, within', (t) => {
  t.is(
    cpuOverheadWarning(summary(15.4, 19.5, 23.8)),
    'observability overhead: main-thread CPU per iteration +19.5% [15.4, 23.8] with instrumentation on, beyond the 5% limit (reported, not gated: the gate judges the throughput lost)',
  );
  t.regex(cpuOverheadWarning(summary(1.8, 6.2, 10.8))!, /\+6\.2% \[1\.8, 10\.8\] with instrumentation on, possibly beyond the 5% limit/);
  t.is(cpuOverheadWarning(summary(-1, 2, 4.9)), undefined, 'the whole interval within the limit: nothing to say');
  t.is(cpuOverheadWarning(summary(NaN, NaN, NaN)), undefined, 'no figure: nothing claimed');
});

import test from 'ava';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { BoundedValues, OTHER } from '../../instrumentation/bounded-values.ts';
import { startInstrumentation } from '../../instrumentation/start.ts';
import { systemClock, type ManualClock } from '../../src/clock.ts';
import { executeWorkflow, orchestratorRunner } from '../../src/workflow/execute.ts';
import { teardown, withSimulator } from '../helpers.ts';
import { collectPoints, inMemoryReader } from './helpers.ts';

test('bounded values: the first N distinct pass, later ones become other and are counted', (t) => {
  const bound = new BoundedValues(2);
  t.deepEqual(
    ['a', 'b', 'a', 'c', 'd', 'b', 'c'].map((v) => bound.of(v)),
    ['a', 'b', 'a', OTHER, OTHER, 'b', OTHER],
  );
  t.is(bound.overflowed, 3);
});

test.serial(
  'client-supplied workflow names and step ids: bounded in labels and span names (AGENTPERF_LABEL_VALUES_MAX), whole on the span, the overflow counted',
  async (t) => {
    const saved = process.env.AGENTPERF_LABEL_VALUES_MAX;
    process.env.AGENTPERF_LABEL_VALUES_MAX = '3';
    const spans = new InMemorySpanExporter();
    const reader = inMemoryReader();
    const instrumentation = await startInstrumentation({ prometheus: false, metricReader: reader, spanExporter: spans, spanProcessor: 'simple' });
    const setup = await withSimulator({}, {}, systemClock as ManualClock);
    try {
      for (let i = 0; i < 10; i++) {
        const run = await executeWorkflow(
          { name: `tenant-${i}-flow`, steps: [{ id: `step-${i}`, agent: 'python-expert', task: 'hi' }] },
          orchestratorRunner(setup.orchestrator),
          { workflowId: `wf-${i}`, maxParallel: 1, onError: 'fail-fast' },
        );
        t.is(run.status, 'completed');
      }
      const names = (await collectPoints(reader, 'gen_ai.workflow.duration')).map((p) => p.attributes['gen_ai.workflow.name']);
      t.deepEqual(names.sort(), ['other', 'tenant-0-flow', 'tenant-1-flow', 'tenant-2-flow'], 'four series, not ten');
      const overflow = await collectPoints(reader, 'agentperf.telemetry.label_overflow');
      t.deepEqual(overflow.map((p) => [p.attributes.label, p.value]).sort(), [
        ['agentperf.workflow.step.id', 7],
        ['gen_ai.workflow.name', 7],
      ]);
      const runs = spans.getFinishedSpans().filter((s) => s.name.startsWith('invoke_workflow'));
      t.deepEqual(
        new Set(runs.map((s) => s.name)),
        new Set(['invoke_workflow tenant-0-flow', 'invoke_workflow tenant-1-flow', 'invoke_workflow tenant-2-flow', 'invoke_workflow other']),
      );
      t.deepEqual(
        runs.map((s) => s.attributes['gen_ai.workflow.name']).sort(),
        Array.from({ length: 10 }, (_, i) => `tenant-${i}-flow`).sort(),
        'the whole name on every span',
      );
      t.is(spans.getFinishedSpans().filter((s) => s.name === 'workflow_step other').length, 7);
    } finally {
      await teardown(setup);
      await instrumentation.stop();
      if (saved === undefined) delete process.env.AGENTPERF_LABEL_VALUES_MAX;
      else process.env.AGENTPERF_LABEL_VALUES_MAX = saved;
    }
  },
);

test.serial('a malformed AGENTPERF_LABEL_VALUES_MAX is refused by name', async (t) => {
  const saved = process.env.AGENTPERF_LABEL_VALUES_MAX;
  process.env.AGENTPERF_LABEL_VALUES_MAX = '0';
  try {
    const error = await t.throwsAsync(startInstrumentation({ prometheus: false, spanExporter: 'none' }));
    t.is((error as { code?: string }).code, 'AP_ERR_CONFIG');
    t.regex(error.message, /AGENTPERF_LABEL_VALUES_MAX must be a whole number from 1 to 100000, got "0"/);
  } finally {
    if (saved === undefined) delete process.env.AGENTPERF_LABEL_VALUES_MAX;
    else process.env.AGENTPERF_LABEL_VALUES_MAX = saved;
  }
});

import test from 'ava';
import { EventBus, type WorkflowEvent } from '../../src/workflow/event-bus.ts';
import { executeWorkflow, renderTask, type StepRunner } from '../../src/workflow/execute.ts';
import { generateWorkflow } from '../../src/workflow/generate.ts';
import type { Workflow } from '../../src/workflow/plan.ts';

const turn = () => new Promise((resolve) => setImmediate(resolve));
const step = (id: string, dependsOn: string[] = [], task = `do ${id}`) => ({ id, agent: 'python-expert', task, dependsOn });

/** A runner that checks dependencies and parallelism as it goes, finishing each step a turn later. */
function checkingRunner(workflow: Workflow, failOn = new Set<string>()) {
  const done = new Set<string>();
  let running = 0;
  const state = { maxRunning: 0, violations: [] as string[], started: [] as string[], tasks: new Map<string, string>() };
  const run: StepRunner = async (s, task, signal) => {
    for (const d of s.dependsOn ?? []) if (!done.has(d)) state.violations.push(`${s.id} started before ${d}`);
    state.started.push(s.id);
    state.tasks.set(s.id, task);
    running++;
    state.maxRunning = Math.max(state.maxRunning, running);
    await turn();
    running--;
    if (signal.aborted) throw new Error('aborted');
    if (failOn.has(s.id)) throw new Error(`${s.id} broke`);
    done.add(s.id);
    return `out(${s.id})`;
  };
  return { run, state };
}

test('a large random workflow never runs a step before its dependencies, nor more than maxParallel at once', async (t) => {
  const workflow = generateWorkflow(500, 3, 7);
  const { run, state } = checkingRunner(workflow);
  const result = await executeWorkflow(workflow, run, { workflowId: 'w1', maxParallel: 4, onError: 'fail-fast' });
  t.is(result.status, 'completed');
  t.deepEqual(state.violations, []);
  t.is(state.maxRunning, 4);
  t.is(state.started.length, 500);
  t.true(Object.values(result.steps).every((s) => s.status === 'done'));
});

test('dependency outputs and the input fill the task templates', async (t) => {
  const workflow: Workflow = { steps: [step('a', [], 'explain {{input}}'), step('b', ['a'], 'review {{steps.a.output}} of {{ input }}')] };
  const { run, state } = checkingRunner(workflow);
  await executeWorkflow(workflow, run, { workflowId: 'w', maxParallel: 2, onError: 'fail-fast', input: 'the change' });
  t.is(state.tasks.get('a'), 'explain the change');
  t.is(state.tasks.get('b'), 'review out(a) of the change');
  t.is(renderTask('{{steps.zzz.output}}', undefined, new Map()), '{{steps.zzz.output}}');
});

// root -> (bad, good); bad -> after-bad; good -> after-good
const branching: Workflow = { steps: [step('root'), step('bad', ['root']), step('good', ['root']), step('after-bad', ['bad']), step('after-good', ['good'])] };

test('continue-on-error skips only what depends on the failure', async (t) => {
  const { run } = checkingRunner(branching, new Set(['bad']));
  const result = await executeWorkflow(branching, run, { workflowId: 'w', maxParallel: 4, onError: 'continue' });
  t.is(result.status, 'failed');
  t.deepEqual(Object.fromEntries(Object.values(result.steps).map((s) => [s.id, s.status])), {
    root: 'done',
    bad: 'failed',
    good: 'done',
    'after-bad': 'skipped',
    'after-good': 'done',
  });
  t.is(result.steps.bad.error, 'bad broke');
});

test('fail-fast cancels what runs and skips the rest', async (t) => {
  const { run } = checkingRunner(branching, new Set(['bad']));
  const result = await executeWorkflow(branching, run, { workflowId: 'w', maxParallel: 4, onError: 'fail-fast' });
  t.is(result.status, 'failed');
  // good ran alongside bad and saw the abort; nothing after them started.
  t.is(result.steps.good.status, 'failed');
  t.is(result.steps['after-good'].status, 'skipped');
  t.is(result.steps['after-bad'].status, 'skipped');
});

test('an AbortSignal cancels the run; lifecycle events reach the bus in order', async (t) => {
  const bus = new EventBus<WorkflowEvent>();
  const events: string[] = [];
  bus.subscribe((batch) => void events.push(...batch.map((e) => `${e.type}${e.stepId ? ` ${e.stepId}` : ''}`)));
  const controller = new AbortController();
  const chain: Workflow = { steps: [step('one'), step('two', ['one']), step('three', ['two'])] };
  const { run } = checkingRunner(chain);
  const running = executeWorkflow(
    chain,
    async (s, task, signal) => {
      if (s.id === 'two') controller.abort(new Error('user cancelled'));
      return run(s, task, signal);
    },
    { workflowId: 'w', maxParallel: 1, onError: 'continue', signal: controller.signal, bus },
  );
  const result = await running;
  await turn();
  t.is(result.status, 'cancelled');
  t.is(result.steps.one.status, 'done');
  t.is(result.steps.three.status, 'skipped');
  t.deepEqual(events.slice(0, 4), ['workflow.started', 'step.started one', 'step.completed one', 'step.started two']);
  t.is(events.at(-1), 'workflow.completed');
});

test('through the orchestrator and the simulator: every step an agent call, outputs passed on', async (t) => {
  const { withSimulator, teardown } = await import('../helpers.ts');
  const { orchestratorRunner } = await import('../../src/workflow/execute.ts');
  const setup = await withSimulator();
  try {
    const workflow: Workflow = {
      steps: [
        { id: 'ask', agent: 'python-expert', task: 'Explain {{input}}' },
        { id: 'follow', agent: 'legacy-helper', task: 'Summarise: {{steps.ask.output}}', dependsOn: ['ask'] },
      ],
    };
    const result = await executeWorkflow(workflow, orchestratorRunner(setup.orchestrator), {
      workflowId: 'w',
      maxParallel: 2,
      onError: 'fail-fast',
      input: 'generators',
    });
    t.is(result.status, 'completed');
    t.is(typeof result.steps.ask.output, 'string');
    t.true(result.steps.ask.output!.length > 0);
    t.is(setup.orchestrator.stats().succeeded, 2);
  } finally {
    await teardown(setup);
  }
});

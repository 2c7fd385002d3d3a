import test from 'ava';
import { planWorkflow, type Workflow } from '../../src/workflow/plan.ts';

const step = (id: string, dependsOn: string[] = [], weightMs?: number) => ({ id, agent: 'python-expert', task: `do ${id}`, dependsOn, weightMs });

test('levels, critical path, widths and speedup bound of a hand-checked graph', (t) => {
  // a -> b -> d, a -> c -> d, c -> e; weights a1 b5 c2 d1 e10.
  const plan = planWorkflow({ steps: [step('a', [], 1), step('b', ['a'], 5), step('c', ['a'], 2), step('d', ['b', 'c'], 1), step('e', ['c'], 10)] });
  t.deepEqual(plan.levels, [['a'], ['b', 'c'], ['d', 'e']]);
  // Heaviest chain: a(1) + c(2) + e(10) = 13, beating a + b + d = 7.
  t.deepEqual(plan.criticalPath, { steps: ['a', 'c', 'e'], lengthMs: 13 });
  t.is(plan.totalWorkMs, 19);
  t.is(plan.maxWidth, 2);
  t.is(plan.averageWidth, 5 / 3);
  t.is(plan.speedupBound, 19 / 13);
  t.is(plan.edges, 5);
  // Every dependency comes before its dependent in the order.
  const at = new Map(plan.order.map((id, i) => [id, i]));
  for (const [id, deps] of [
    ['b', ['a']],
    ['c', ['a']],
    ['d', ['b', 'c']],
    ['e', ['c']],
  ] as const)
    for (const d of deps) t.true(at.get(d)! < at.get(id)!);
});

test('unweighted steps count one each: the critical path is the longest chain', (t) => {
  const plan = planWorkflow({ steps: [step('x'), step('y', ['x']), step('z', ['y']), step('w', ['x'])] });
  t.deepEqual(plan.criticalPath, { steps: ['x', 'y', 'z'], lengthMs: 3 });
  t.deepEqual(plan.levels, [['x'], ['y', 'w'], ['z']]);
});

test('a cycle is an error that names its steps in order', (t) => {
  const workflow: Workflow = { steps: [step('start'), step('a', ['start', 'c']), step('b', ['a']), step('c', ['b']), step('after', ['c'])] };
  const error = t.throws(() => planWorkflow(workflow));
  t.is((error as { code?: string }).code, 'AP_ERR_WORKFLOW');
  // a needs c, c needs b, b needs a: run order a -> b -> c -> a.
  t.regex(error.message, /the dependencies form a cycle: (a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c)/);
});

test('unknown dependencies, duplicate ids and self-dependencies are clear errors', (t) => {
  const cases: Array<[Workflow, RegExp]> = [
    [{ steps: [step('a', ['ghost'])] }, /step "a" depends on "ghost", which is not a step of this workflow/],
    [{ steps: [step('a'), step('a')] }, /step ids must be unique: "a" appears twice/],
    [{ steps: [step('a', ['a'])] }, /step "a" must not depend on itself/],
  ];
  for (const [workflow, message] of cases) {
    const error = t.throws(() => planWorkflow(workflow));
    t.regex(error.message, message);
  }
});

test('an empty workflow plans to nothing', (t) => {
  const plan = planWorkflow({ steps: [] });
  t.is(plan.steps, 0);
  t.deepEqual(plan.levels, []);
  t.is(plan.speedupBound, 0);
});

test('plans are memoized by the workflow content', async (t) => {
  const { planWorkflowCached } = await import('../../src/workflow/plan.ts');
  const a = planWorkflowCached({ steps: [step('p'), step('q', ['p'])] });
  const b = planWorkflowCached({ steps: [step('p'), step('q', ['p'])] });
  const c = planWorkflowCached({ steps: [step('p'), step('r', ['p'])] });
  t.is(a, b, 'the same content is planned once');
  t.not(a, c);
  t.deepEqual(c.order, ['p', 'r']);
});

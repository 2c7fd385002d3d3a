import test from 'ava';
import { WorkflowService } from '../../src/workflow/service.ts';
import { waitFor } from '../helpers.ts';

const one = { steps: [{ id: 'a', agent: 'python-expert', task: 't' }] };
const echo = async (_step: unknown, task: string) => `done: ${task}`;

test('events kept per workflow are bounded: the oldest are dropped and counted', async (t) => {
  const service = new WorkflowService(echo, { maxEventsPerWorkflow: 100 });
  const { id } = service.create(one);
  for (let i = 0; i < 5; i++) await service.publish(Array.from({ length: 50 }, (_, j) => ({ type: 'tick', workflowId: id, data: i * 50 + j })));
  await waitFor(() => service.status(id).events.received === 250, 'delivery');
  t.deepEqual(service.status(id).events, { received: 250, kept: 100, dropped: 150 });
  const replayed: number[] = [];
  service
    .follow(
      id,
      0,
      (e) => replayed.push(e.seq),
      () => {},
    )
    .stop();
  t.deepEqual(
    replayed,
    Array.from({ length: 100 }, (_, i) => 151 + i),
    'the newest 100, in order',
  );
  await service.close();
});

test('workflows kept are bounded: the oldest finished one is forgotten; all running is a capacity error', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const service = new WorkflowService(
    async () => {
      await gate;
      return 'ok';
    },
    { maxWorkflows: 2 },
  );
  const first = service.create(one).id;
  const second = service.create(one).id;
  const third = service.create(one).id; // forgets `first` (created, not running)
  t.false(service.has(first));
  service.execute(second, {});
  service.execute(third, {});
  const error = t.throws(() => service.create(one));
  t.is((error as { code?: string }).code, 'AP_ERR_CAPACITY');
  release();
  await waitFor(() => service.status(second).status === 'completed', 'second to finish');
  t.truthy(service.create(one).id, 'room again once one finished');
  await service.close();
});

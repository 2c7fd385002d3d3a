import test from 'ava';
import { EventBus, type WorkflowEvent } from '../../src/workflow/event-bus.ts';

const event = (workflowId: string, n: number): WorkflowEvent => ({ type: 'step.completed', workflowId, stepId: `s${n}`, at: n });
const turn = () => new Promise((resolve) => setImmediate(resolve));

test('events arrive in batches, in publication order, so in order per workflow', async (t) => {
  const bus = new EventBus();
  const seen: WorkflowEvent[] = [];
  const sizes: number[] = [];
  bus.subscribe(
    (batch) => {
      sizes.push(batch.length);
      seen.push(...batch);
    },
    { batchSize: 100 },
  );
  for (let i = 0; i < 250; i++) bus.publish(event(i % 2 ? 'wf-a' : 'wf-b', i));
  await turn();
  t.deepEqual(sizes, [100, 100, 50]);
  t.deepEqual(
    seen.map((e) => e.at),
    Array.from({ length: 250 }, (_, i) => i),
  );
  const a = seen.filter((e) => e.workflowId === 'wf-a').map((e) => e.at);
  t.deepEqual(
    a,
    [...a].sort((x, y) => x - y),
  );
});

test('a slow subscriber gets its next batch only after the last one settles, and pushes back on publishers', async (t) => {
  const bus = new EventBus();
  let release!: () => void;
  let calls = 0;
  const sub = bus.subscribe(
    async () => {
      calls++;
      await new Promise<void>((resolve) => (release = resolve));
    },
    { batchSize: 10, highWaterMark: 20, maxBuffered: 50 },
  );
  const accepted = Array.from({ length: 30 }, (_, i) => bus.publish(event('wf', i)));
  await turn();
  t.is(calls, 1); // the first batch is being handled; nothing else delivered yet
  t.is(sub.stats().buffered, 20);
  // Past the high-water mark (20 buffered) publish says so.
  t.false(accepted.at(-1));
  t.true(accepted[0]);
  let ready = false;
  void bus.ready().then(() => (ready = true));
  release();
  await turn();
  t.is(calls, 2);
  t.true(ready, 'ready() resolves once the subscriber is under its high-water mark');
});

test('past maxBuffered a slow subscriber loses events (counted), so memory stays bounded; others are unaffected', async (t) => {
  const bus = new EventBus();
  const slow = bus.subscribe(() => new Promise<void>(() => {}), { batchSize: 10, highWaterMark: 50, maxBuffered: 100 });
  let fastCount = 0;
  bus.subscribe((batch) => void (fastCount += batch.length), { batchSize: 1000, maxBuffered: 10_000 });
  bus.publishBatch(Array.from({ length: 1000 }, (_, i) => event('wf', i)));
  await turn();
  // The batch went in before any delivery: 100 buffered, 900 dropped; then the slow one took
  // a first batch of 10 (still in its handler, so not yet delivered).
  t.deepEqual(slow.stats(), { buffered: 90, delivered: 0, dropped: 900 });
  t.is(fastCount, 1000);
});

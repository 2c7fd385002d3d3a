import test from 'ava';
import { request } from 'undici';
import { run as startServe, type RunningServer } from '../../src/commands/serve.ts';
import { runLoadTest } from '../../src/load/run.ts';
import { workflowScenario } from '../../src/scenarios/workflow.ts';
import { rootLogger } from '../../src/logger.ts';
import { waitFor } from '../helpers.ts';

// One server for the file (instrumentation is one per process); steps take 50 ms upstream.
let server: RunningServer | undefined;
test.before(async () => {
  server = await startServe({ host: '127.0.0.1', port: 0, latency: 'fixed:50', seed: 1, maxConcurrent: 50, maxQueued: 1000, bodyLimitBytes: 256 * 1024 });
});
test.after.always(async () => server?.close());

/** Any answer may be an error; each route's own fields are given by the caller (a missing one fails its assertion). */
type Body = { error?: { code: string; message: string; field?: string } };
/** A workflow's status (GET /v1/workflows/:id). */
type Status = Body & {
  status?: string;
  steps: Record<string, { status: string; output: string }>;
  plan: { criticalPath: string[] };
  events: { received: number; kept: number; dropped: number };
};
const call = async <T extends object = Body>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: T & Body }> => {
  const response = await request(`${server!.url}${path}`, {
    method,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
  });
  return { status: response.statusCode, body: (await response.body.json()) as T & Body };
};

const review = {
  name: 'review',
  steps: [
    { id: 'ask', agent: 'python-expert', task: 'Explain {{input}}' },
    { id: 'review', agent: 'code-reviewer', task: 'Review: {{steps.ask.output}}', dependsOn: ['ask'] },
    { id: 'docs', agent: 'doc-writer', task: 'Document: {{steps.ask.output}}', dependsOn: ['ask'] },
    { id: 'summary', agent: 'python-expert', task: 'Summarise {{steps.review.output}} {{steps.docs.output}}', dependsOn: ['review', 'docs'] },
  ],
};

async function create(workflow: unknown = review): Promise<string> {
  const created = await call<{ id: string }>('POST', '/v1/workflows', workflow);
  if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(created.body)}`);
  return created.body.id;
}

async function finished(id: string): Promise<Status> {
  let last = {} as Status;
  await waitFor(async () => {
    last = (await call<Status>('GET', `/v1/workflows/${id}`)).body;
    return last.status !== 'running' && last.status !== 'created';
  }, `workflow ${id} to finish`);
  return last;
}

/** Server-sent events as [id, event, data] from a finished stream. */
function parseSse(text: string): Array<{ id: number; event: string; data: Record<string, unknown> }> {
  return text
    .split('\n\n')
    .filter((block) => block.trim())
    .map((block) => {
      const field = (name: string) =>
        block
          .split('\n')
          .find((line) => line.startsWith(`${name}: `))!
          .slice(name.length + 2);
      return { id: Number(field('id')), event: field('event'), data: JSON.parse(field('data')) as Record<string, unknown> };
    });
}

test.serial('create, execute, poll: the plan on create, 202 on execute, every step done with its output', async (t) => {
  const created = await call<{ id: string; steps: number; levels: number; maxWidth: number }>('POST', '/v1/workflows', review);
  t.is(created.status, 201);
  t.is(created.body.steps, 4);
  t.is(created.body.levels, 3);
  t.is(created.body.maxWidth, 2);
  const id = created.body.id;
  const executed = await call<{ status: string }>('POST', `/v1/workflows/${id}/execute`, { input: 'closures', maxParallel: 2 });
  t.is(executed.status, 202);
  t.is(executed.body.status, 'running');
  const status = await finished(id);
  t.is(status.status, 'completed');
  t.deepEqual(Object.keys(status.steps).sort(), ['ask', 'docs', 'review', 'summary']);
  for (const step of Object.values(status.steps)) {
    t.is(step.status, 'done');
    t.true(step.output.length > 0);
  }
  t.deepEqual(status.plan.criticalPath, ['ask', 'review', 'summary']);
});

test.serial('events: a live stream in order that ends with the workflow; Last-Event-ID resumes after it', async (t) => {
  const id = await create();
  const stream = await request(`${server!.url}/v1/workflows/${id}/events`);
  t.is(stream.statusCode, 200);
  t.regex(String(stream.headers['content-type']), /text\/event-stream/);
  const text = stream.body.text(); // ends when the workflow does
  await call('POST', `/v1/workflows/${id}/execute`, { maxParallel: 1 });
  const events = parseSse(await text);
  t.deepEqual(
    events.map((e) => e.event),
    [
      'workflow.started',
      'step.started',
      'step.completed',
      'step.started',
      'step.completed',
      'step.started',
      'step.completed',
      'step.started',
      'step.completed',
      'workflow.completed',
    ],
  );
  t.deepEqual(
    events.map((e) => e.id),
    events.map((_, i) => i + 1),
  );
  t.true(events.every((e) => e.data.workflowId === id));
  const ask = events.findIndex((e) => e.event === 'step.completed' && e.data.stepId === 'ask');
  const summary = events.findIndex((e) => e.event === 'step.started' && e.data.stepId === 'summary');
  t.true(ask < summary, 'a step starts only after its dependencies complete');

  const resumed = await request(`${server!.url}/v1/workflows/${id}/events`, { headers: { 'last-event-id': '7' } });
  t.deepEqual(
    parseSse(await resumed.body.text()).map((e) => e.id),
    [8, 9, 10],
  );
});

test.serial('published event batches reach the workflow log and its stream', async (t) => {
  const id = await create();
  const published = await call<{ accepted: number }>('POST', '/v1/events', {
    events: Array.from({ length: 1000 }, (_, i) => ({ type: 'progress', workflowId: id, data: { i } })),
  });
  t.is(published.status, 202);
  t.is(published.body.accepted, 1000);
  await waitFor(async () => (await call<Status>('GET', `/v1/workflows/${id}`)).body.events.received === 1000, 'the events to be recorded');
  const status = (await call<Status>('GET', `/v1/workflows/${id}`)).body;
  t.deepEqual(status.events, { received: 1000, kept: 1000, dropped: 0 });
  await call('POST', `/v1/workflows/${id}/execute`, {});
  await finished(id);
  const events = parseSse(await (await request(`${server!.url}/v1/workflows/${id}/events`)).body.text());
  t.is(events.length, 1010);
  t.deepEqual(
    events.slice(0, 1000).map((e) => (e.data.data as { i: number }).i),
    Array.from({ length: 1000 }, (_, i) => i),
    'in publication order',
  );
});

test.serial('cancel stops a running workflow: running steps aborted, the rest skipped', async (t) => {
  const chain = {
    steps: Array.from({ length: 5 }, (_, i) => ({ id: `s${i}`, agent: 'python-expert', task: `cancel chain ${i}`, dependsOn: i ? [`s${i - 1}`] : [] })),
  };
  const id = await create(chain);
  await call('POST', `/v1/workflows/${id}/execute`, {});
  await waitFor(async () => (await call<Status>('GET', `/v1/workflows/${id}`)).body.steps.s1?.status !== 'pending', 'the second step to start');
  const cancelled = await call('POST', `/v1/workflows/${id}/cancel`);
  t.is(cancelled.status, 202);
  const status = await finished(id);
  t.is(status.status, 'cancelled');
  t.is(status.steps.s0?.status, 'done');
  t.is(status.steps.s4?.status, 'skipped');
  t.is((await call('POST', `/v1/workflows/${id}/cancel`)).status, 409, 'not running any more');
});

test.serial('bad requests get a 4xx naming the field and the rule', async (t) => {
  const id = await create();
  const cases: Array<[string, string, unknown, number, string, string | undefined, RegExp]> = [
    [
      'POST',
      '/v1/workflows',
      {
        steps: [
          { id: 'a', agent: 'python-expert', task: 't', dependsOn: ['b'] },
          { id: 'b', agent: 'python-expert', task: 't', dependsOn: ['a'] },
        ],
      },
      400,
      'AP_ERR_WORKFLOW',
      'steps',
      /cycle: (a -> b -> a|b -> a -> b)/,
    ],
    [
      'POST',
      '/v1/workflows',
      { steps: [{ id: 'a', agent: 'python-expert', task: 't', dependsOn: ['nope'] }] },
      400,
      'AP_ERR_WORKFLOW',
      'steps[0].dependsOn',
      /"nope", which is not a step/,
    ],
    [
      'POST',
      '/v1/workflows',
      {
        steps: [
          { id: 'a', agent: 'python-expert', task: 't' },
          { id: 'a', agent: 'python-expert', task: 't' },
        ],
      },
      400,
      'AP_ERR_WORKFLOW',
      'steps[1].id',
      /unique/,
    ],
    [
      'POST',
      '/v1/workflows',
      { steps: [{ id: 'a', agent: 'python-expert', task: 't', dependsOn: ['a'] }] },
      400,
      'AP_ERR_WORKFLOW',
      'steps[0].dependsOn',
      /itself/,
    ],
    ['POST', '/v1/workflows', { steps: [{ id: 'a', agent: 'ghost', task: 't' }] }, 400, 'AP_ERR_WORKFLOW', 'steps[0].agent', /configured agents/],
    ['POST', '/v1/workflows', { steps: [] }, 400, 'AP_ERR_WORKFLOW', 'steps', /at least one step/],
    ['POST', '/v1/workflows', { name: 'x' }, 400, 'AP_ERR_VALIDATION', 'steps', /steps/],
    [
      'POST',
      '/v1/workflows',
      { steps: [{ id: 'a', agent: 'python-expert', task: 't', extra: 1 }] },
      400,
      'AP_ERR_VALIDATION',
      'steps[0].extra',
      /steps\[0\]\.extra is not a known field of steps\[0\]/,
    ],
    [
      'POST',
      '/v1/workflows',
      { steps: [{ id: 'a', agent: 'python-expert', task: 'x'.repeat(300_000) }] },
      413,
      'AP_ERR_BODY_TOO_LARGE',
      'body',
      /at most 262144 bytes/,
    ],
    ['POST', '/v1/workflows', '{"steps": [', 400, 'AP_ERR_BAD_JSON', 'body', /valid JSON/],
    ['POST', `/v1/workflows/${id}/execute`, { maxParallel: 0 }, 400, 'AP_ERR_VALIDATION', 'maxParallel', /maxParallel/],
    ['POST', `/v1/workflows/${id}/execute`, { maxParallel: 1000 }, 400, 'AP_ERR_VALIDATION', 'maxParallel', /at most 64/],
    ['POST', `/v1/workflows/${id}/execute`, { onError: 'sometimes' }, 400, 'AP_ERR_VALIDATION', 'onError', /fail-fast/],
    ['POST', '/v1/workflows/no-such-id/execute', {}, 404, 'AP_ERR_NOT_FOUND', undefined, /no workflow "no-such-id"/],
    ['GET', '/v1/workflows/no-such-id', undefined, 404, 'AP_ERR_NOT_FOUND', undefined, /no workflow/],
    ['GET', '/v1/workflows/no-such-id/events', undefined, 404, 'AP_ERR_NOT_FOUND', undefined, /no workflow/],
    ['POST', '/v1/events', { events: [] }, 400, 'AP_ERR_VALIDATION', 'events', /events/],
    ['POST', '/v1/events', { events: Array.from({ length: 1001 }, () => ({ type: 'x', workflowId: id })) }, 400, 'AP_ERR_VALIDATION', 'events', /1000/],
    ['POST', '/v1/events', { events: [{ type: 'step.completed', workflowId: id }] }, 400, 'AP_ERR_VALIDATION', 'events[0].type', /executor's/],
    ['POST', '/v1/events', { events: [{ type: 'Bad Type', workflowId: id }] }, 400, 'AP_ERR_VALIDATION', 'events[0].type', /a-z/],
    [
      'POST',
      '/v1/events',
      {
        events: [
          { type: 'ok', workflowId: id },
          { type: 'ok', workflowId: 'ghost' },
        ],
      },
      404,
      'AP_ERR_NOT_FOUND',
      'events[1].workflowId',
      /no "ghost"/,
    ],
  ];
  for (const [method, path, body, status, code, field, message] of cases) {
    const what = `${method} ${path} ${JSON.stringify(body)?.slice(0, 60)}`;
    const response = await call(method as 'GET' | 'POST', path, body);
    t.is(response.status, status, what);
    t.is(response.body.error?.code, code, what);
    t.is(response.body.error?.field, field, what);
    t.regex(response.body.error?.message ?? '', message, what);
  }
  await call('POST', `/v1/workflows/${id}/execute`, {});
  const twice = await call('POST', `/v1/workflows/${id}/execute`, {});
  t.is(twice.status, 409);
  t.is(twice.body.error?.code, 'AP_ERR_CONFLICT');
  await finished(id);
});

test.serial('the workflow load scenario drives the API: every iteration creates, executes, polls and publishes', async (t) => {
  const { report } = await runLoadTest({
    scenario: workflowScenario,
    context: { target: { kind: 'http', url: server!.url }, settings: { steps: '3', pollMs: '5', events: '10' }, seed: 1, log: rootLogger },
    shape: { kind: 'closed', vus: 4, durationMs: 1000 },
    warmupMs: 0,
    drainTimeoutMs: 5000,
    thresholds: [],
  });
  t.true(report.result.completed >= 4, `completed ${report.result.completed}`);
  t.is(report.result.errors, 0);
  // Each completed iteration's workflow ran its 3 steps through the server's orchestrator.
  const stats = (await (await request(`${server!.url}/stats`)).body.json()) as { counters: { calls: number } };
  t.true(stats.counters.calls >= report.result.completed * 3);
});

test.serial('closing the server ends open event streams (a workflow never executed does not hold it open)', async (t) => {
  const id = await create();
  const stream = await request(`${server!.url}/v1/workflows/${id}/events`);
  const text = stream.body.text();
  const closing = server!.close();
  server = undefined;
  await closing;
  t.is(await text, '');
});

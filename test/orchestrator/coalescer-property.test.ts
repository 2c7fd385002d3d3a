import test from 'ava';
import fc from 'fast-check';
import { Coalescer, type Flight } from '../../src/orchestrator/coalescer.ts';
import { AbortedError } from '../../src/errors.ts';
import { teardown, waitFor, withSimulator } from '../helpers.ts';
import { ManualClock } from '../../src/clock.ts';

// Random interleavings of calls, aborts and upstream outcomes: every caller gets its own
// outcome. One that aborted gets an AbortedError carrying its own reason; one that did not
// gets the result (or the error) of an upstream call, never somebody else's abort.

type Op = { kind: 'call'; key: number; signal: boolean } | { kind: 'abort'; caller: number } | { kind: 'settle'; key: number; ok: boolean } | { kind: 'tick' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('call' as const), key: fc.nat({ max: 2 }), signal: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('abort' as const), caller: fc.nat({ max: 30 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('settle' as const), key: fc.nat({ max: 2 }), ok: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'tick' as const }) },
);

interface Upstream {
  id: number;
  resolve(value: string): void;
  reject(error: Error): void;
  settled: boolean;
}

async function play(ops: Op[]): Promise<string | undefined> {
  const coalescer = new Coalescer<string>();
  const upstreams = new Map<Flight<string>, Upstream>();
  let flights = 0;
  const callers: Array<{ controller?: AbortController; reason?: string; outcome?: { ok: true; value: string } | { ok: false; error: unknown } }> = [];
  const pending: Promise<void>[] = [];

  for (const step of ops) {
    if (step.kind === 'call') {
      const key = `k${step.key}`;
      const flight =
        coalescer.join(key) ??
        coalescer.start(key, (started) => {
          const id = ++flights;
          return new Promise<string>((resolve, reject) => {
            const upstream: Upstream = { id, resolve, reject, settled: false };
            upstreams.set(started, upstream);
            // The upstream call is cancelled with the reason of the last caller to leave.
            started.cancellation.onAbort(() => {
              if (!upstream.settled) reject(started.cancellation.reason);
            });
          }).finally(() => {
            upstreams.get(started)!.settled = true;
            coalescer.finish(key, started);
          });
        });
      const caller: (typeof callers)[number] = {};
      if (step.signal) caller.controller = new AbortController();
      callers.push(caller);
      pending.push(
        coalescer.wait(flight, caller.controller?.signal).then(
          (value) => void (caller.outcome = { ok: true, value }),
          (error: unknown) => void (caller.outcome = { ok: false, error }),
        ),
      );
    } else if (step.kind === 'abort') {
      const caller = callers[step.caller];
      if (caller?.controller && !caller.controller.signal.aborted) {
        caller.reason = `reason of caller ${step.caller}`;
        caller.controller.abort(caller.reason);
      }
    } else if (step.kind === 'settle') {
      for (const [flight, upstream] of upstreams) {
        if (flight.key !== `k${step.key}` || upstream.settled) continue;
        if (step.ok) upstream.resolve(`value of flight ${upstream.id}`);
        else upstream.reject(new Error(`upstream error of flight ${upstream.id}`));
      }
    } else {
      await Promise.resolve();
    }
  }
  // Settle whatever is still running, then judge every caller.
  for (const upstream of upstreams.values()) if (!upstream.settled) upstream.resolve(`value of flight ${upstream.id}`);
  await Promise.all(pending);

  for (const [i, caller] of callers.entries()) {
    const outcome = caller.outcome!;
    if (outcome.ok) {
      if (!/^value of flight \d+$/.test(outcome.value)) return `caller ${i} got ${outcome.value}`;
      continue;
    }
    const error = outcome.error;
    if (error instanceof AbortedError) {
      if (caller.reason === undefined) return `caller ${i} never aborted but got an abort (${String(error.cause)})`;
      if (error.cause !== caller.reason) return `caller ${i} got another caller's abort: ${String(error.cause)} instead of ${caller.reason}`;
    } else if (typeof error === 'string' || !/^upstream error of flight \d+$/.test((error as Error).message)) {
      return `caller ${i} got ${String((error as Error)?.message ?? error)}`;
    }
  }
  if (coalescer.inFlight().length !== 0) return 'flights left running';
  return undefined;
}

test('property: under any interleaving of joins, aborts and outcomes, each caller gets its own outcome', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), async (ops) => (await play(ops)) === undefined),
    { numRuns: 500 },
  );
  t.pass('500 interleavings, every caller its own outcome');
});

test('the case that was wrong: A aborts, and in the same tick B makes the identical call without a signal and gets an answer', async (t) => {
  t.is(
    await play([
      { kind: 'call', key: 0, signal: true },
      { kind: 'abort', caller: 0 },
      { kind: 'call', key: 0, signal: false },
      { kind: 'settle', key: 0, ok: true },
    ]),
    undefined,
  );
  const setup = await withSimulator({ latency: { model: { kind: 'fixed', ms: 5 }, perOutputTokenMs: 0 } }, {}, new ManualClock({ autoAdvanceSleeps: true }));
  try {
    const a = new AbortController();
    const first = setup.orchestrator.executeAgent('python-expert', 'the same question', { signal: a.signal });
    await waitFor(() => setup.simulator.stats().inFlight === 1, 'the first call to reach the simulator');
    a.abort('A changed its mind');
    const second = setup.orchestrator.executeAgent('python-expert', 'the same question');
    const error = await t.throwsAsync<AbortedError>(first);
    t.is(error.code, 'AP_ERR_ABORTED');
    t.is(error.cause, 'A changed its mind');
    const result = await second;
    t.is(typeof result.output, 'string');
    t.false(result.coalesced);
  } finally {
    await teardown(setup);
  }
});

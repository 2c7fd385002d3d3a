import test from 'ava';
import { ManualClock } from '../../src/clock.ts';
import { CircuitBreaker } from '../../src/orchestrator/circuit-breaker.ts';
import { UpstreamError } from '../../src/errors.ts';
import { teardown, withSimulator } from '../helpers.ts';

const overloaded = () => new UpstreamError({ status: 529, errorType: 'overloaded_error', message: 'x' });

test('closed -> open after the threshold -> half-open after the cooldown -> closed on a good probe', (t) => {
  const clock = new ManualClock();
  const transitions: string[] = [];
  const breaker = new CircuitBreaker('m', { failureThreshold: 3, cooldownMs: 1_000 }, clock, (_m, from, to) => transitions.push(`${from}->${to}`));
  for (let i = 0; i < 3; i++) {
    breaker.admit();
    breaker.onFailure(overloaded());
  }
  t.is(breaker.state, 'open');
  const open = t.throws(() => breaker.admit());
  t.is((open as { code?: string }).code, 'AP_ERR_CIRCUIT_OPEN');
  clock.advance(999);
  t.throws(() => breaker.admit());
  clock.advance(1);
  breaker.admit(); // the one probe
  t.is(breaker.state, 'half-open');
  t.throws(() => breaker.admit(), undefined, 'only one probe at a time');
  breaker.onSuccess();
  t.is(breaker.state, 'closed');
  t.deepEqual(transitions, ['closed->open', 'open->half-open', 'half-open->closed']);
});

test('a failed probe opens the circuit again for a full cooldown', (t) => {
  const clock = new ManualClock();
  const breaker = new CircuitBreaker('m', { failureThreshold: 1, cooldownMs: 500 }, clock);
  breaker.admit();
  breaker.onFailure(overloaded());
  clock.advance(500);
  breaker.admit();
  breaker.onFailure(overloaded());
  t.is(breaker.state, 'open');
  clock.advance(499);
  t.throws(() => breaker.admit());
});

test('4xx and 429 answers do not count toward opening; a success resets the run', (t) => {
  const clock = new ManualClock();
  const breaker = new CircuitBreaker('m', { failureThreshold: 2, cooldownMs: 500 }, clock);
  for (const status of [400, 429, 404, 429]) {
    breaker.admit();
    breaker.onFailure(new UpstreamError({ status, errorType: 'x', message: 'x' }));
  }
  breaker.admit();
  breaker.onFailure(overloaded());
  breaker.admit();
  breaker.onSuccess();
  breaker.admit();
  breaker.onFailure(overloaded());
  t.is(breaker.state, 'closed');
});

test('the orchestrator fails fast while the circuit is open, without reaching the simulator', async (t) => {
  const setup = await withSimulator(
    { faults: { schedule: ['529', '529', '529', '529'] } },
    { circuit: { failureThreshold: 4, cooldownMs: 10_000 }, retry: { maxAttempts: 2 } },
  );
  try {
    await t.throwsAsync(setup.orchestrator.executeAgent('python-expert', 'a'));
    await t.throwsAsync(setup.orchestrator.executeAgent('python-expert', 'b'));
    t.is(setup.orchestrator.circuitState('claude-sonnet-5-5'), 'open');
    const error = await t.throwsAsync(setup.orchestrator.executeAgent('python-expert', 'c'));
    t.is((error as { code?: string }).code, 'AP_ERR_CIRCUIT_OPEN');
    t.is(setup.simulator.stats().requests, 4);
    // Other models have their own breaker.
    const other = await setup.orchestrator.executeAgent('legacy-helper', 'd');
    t.is(other.model, 'claude-haiku-4-5');
    setup.clock.advance(10_000);
    const probe = await setup.orchestrator.executeAgent('python-expert', 'e');
    t.is(probe.attempts, 1);
    t.is(setup.orchestrator.circuitState('claude-sonnet-5-5'), 'closed');
  } finally {
    await teardown(setup);
  }
});

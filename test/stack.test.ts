// The one factory that assembles provider, cache and orchestrator (src/stack.ts).
import test from 'ava';
import { openStack } from '../src/stack.ts';
import { TEST_AGENTS } from './helpers.ts';

test('the default stack: the embedded simulator over real HTTP, a memory cache, observed by the instrumentation it is given', async (t) => {
  const observed: string[] = [];
  const stack = await openStack({
    agents: TEST_AGENTS,
    provider: { kind: 'simulator', simulator: { latency: 'fixed:0', thread: 'main' } },
    instrumentation: { observeCache: () => observed.push('cache'), observeOrchestrator: () => observed.push('orchestrator') },
  });
  try {
    t.regex(stack.target, /^http:\/\/127\.0\.0\.1:\d+$/);
    t.deepEqual(observed, ['cache', 'orchestrator']);
    const first = await stack.orchestrator.executeAgent('python-expert', 'what is a stack?');
    const again = await stack.orchestrator.executeAgent('python-expert', 'what is a stack?');
    t.is(first.cacheTier, undefined);
    t.is(again.cacheTier, 'memory');
    t.deepEqual(stack.cache!.stats().tiers, [], 'memory only: no shared tier, no secret needed');
  } finally {
    await stack.close();
  }
});

test('no cache when asked; a disk cache that cannot open is refused with the reason', async (t) => {
  const bare = await openStack({ agents: TEST_AGENTS, provider: { kind: 'in-process' }, cache: { kind: 'none' } });
  t.is(bare.cache, undefined);
  t.is(bare.target, 'in-process');
  t.is((await bare.orchestrator.executeAgent('python-expert', 'twice?')).cached, false);
  t.is((await bare.orchestrator.executeAgent('python-expert', 'twice?')).cached, false);
  await bare.close();
  // A disk cache that requires a secret, with none in the environment: refused, naming the variable (openStack then closes the simulator it started).
  await t.throwsAsync(
    openStack({ agents: TEST_AGENTS, provider: { kind: 'simulator', simulator: { thread: 'main' } }, cache: { kind: 'disk', requireSecret: true, env: {} } }),
    { message: /AGENTPERF_CACHE_SECRET/ },
  );
});

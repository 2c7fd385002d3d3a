import test from 'ava';
import { join } from 'node:path';
import { ResponseCache } from '../../src/cache/response-cache.ts';
import { teardown, TEST_AGENTS, withSimulator } from '../helpers.ts';
import { tempRoot } from '../cache/helpers.ts';

async function diskCache(root: string, extra: object = {}) {
  return ResponseCache.open({ disk: { dir: join(root, 'responses'), allowedRoots: [root], env: { AGENTPERF_CACHE_SECRET: 'k'.repeat(40) } }, ...extra });
}

test('the second identical call is served from the cache without reaching the simulator', async (t) => {
  const cache = await diskCache(await tempRoot());
  const setup = await withSimulator({}, { cache });
  try {
    const first = await setup.orchestrator.executeAgent('python-expert', 'Explain generators');
    t.false(first.cached);
    const second = await setup.orchestrator.executeAgent('python-expert', 'Explain generators');
    t.true(second.cached);
    t.is(second.cacheTier, 'memory');
    t.is(second.output, first.output);
    t.is(second.attempts, 0);
    t.is(second.estimatedCostUsd, 0);
    t.is(setup.simulator.stats().requests, 1);
  } finally {
    await teardown(setup);
    await cache.close();
  }
});

test('a new process is answered from the disk tier', async (t) => {
  const root = await tempRoot();
  const writerCache = await diskCache(root);
  const writer = await withSimulator({}, { cache: writerCache });
  const original = await writer.orchestrator.executeAgent('python-expert', 'Explain closures');
  await teardown(writer);
  await writerCache.close();
  const readerCache = await diskCache(root);
  const reader = await withSimulator({}, { cache: readerCache });
  try {
    const result = await reader.orchestrator.executeAgent('python-expert', 'Explain closures');
    t.is(result.cacheTier, 'disk');
    t.is(result.output, original.output);
    t.is(reader.simulator.stats().requests, 0);
  } finally {
    await teardown(reader);
    await readerCache.close();
  }
});

test('errors are never cached', async (t) => {
  const cache = await diskCache(await tempRoot());
  const setup = await withSimulator({ faults: { schedule: ['400', '500'] } }, { cache, retry: { maxAttempts: 1 } });
  try {
    await t.throwsAsync(setup.orchestrator.executeAgent('python-expert', 'fails once'));
    await t.throwsAsync(setup.orchestrator.executeAgent('python-expert', 'fails once'));
    t.is(cache.stats().sets, 0);
    const ok = await setup.orchestrator.executeAgent('python-expert', 'fails once');
    t.false(ok.cached);
    t.is(setup.simulator.stats().requests, 3);
    t.is(cache.stats().sets, 1);
  } finally {
    await teardown(setup);
    await cache.close();
  }
});

test('opt-outs: cacheable false, excluded agents, bypass and refresh', async (t) => {
  const cache = await diskCache(await tempRoot(), { excludedAgents: ['legacy-helper'] });
  const agents = [...TEST_AGENTS, { ...TEST_AGENTS[0], name: 'never-cached', cacheable: false }];
  const setup = await withSimulator({}, { cache, agents });
  try {
    for (const agent of ['never-cached', 'legacy-helper']) {
      await setup.orchestrator.executeAgent(agent, 'same task');
      t.false((await setup.orchestrator.executeAgent(agent, 'same task')).cached, agent);
    }
    t.is(setup.simulator.stats().requests, 4);
    await setup.orchestrator.executeAgent('python-expert', 'task');
    t.false((await setup.orchestrator.executeAgent('python-expert', 'task', { cache: 'bypass' })).cached);
    t.is(setup.simulator.stats().requests, 6);
    const refreshed = await setup.orchestrator.executeAgent('python-expert', 'task', { cache: 'refresh' });
    t.false(refreshed.cached);
    t.is(setup.simulator.stats().requests, 7);
    t.true((await setup.orchestrator.executeAgent('python-expert', 'task')).cached);
    t.is(cache.stats().sets, 2, 'refresh stored its answer; bypass did not');
  } finally {
    await teardown(setup);
    await cache.close();
  }
});

test('identical concurrent misses share one upstream call and one cache write', async (t) => {
  const cache = await diskCache(await tempRoot());
  const setup = await withSimulator({ latency: { model: { kind: 'fixed', ms: 10 }, perOutputTokenMs: 0 } }, { cache });
  try {
    const results = await Promise.all(Array.from({ length: 10 }, () => setup.orchestrator.executeAgent('python-expert', 'popular question')));
    t.is(setup.simulator.stats().requests, 1);
    t.is(results.filter((r) => r.coalesced).length, 9);
    t.is(cache.stats().sets, 1);
  } finally {
    await teardown(setup);
    await cache.close();
  }
});

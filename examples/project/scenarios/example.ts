// An agentperf scenario: one workload that `agentperf load`, `profile`, `leak` and `gate` all
// drive. setup() builds what the iterations need, once; run() is one iteration (resolve on
// success, throw on failure); teardown() closes what setup opened.
//
// This example calls an agent through agentperf's orchestrator on the embedded simulator of
// the Messages API (no key, no network). Replace the body of run() with a call into your own
// code: a request handler, an agent, a step of your pipeline.
import { defineScenario, openStack } from 'agentperf';

export default defineScenario({
  name: 'example',
  description: 'one agent call per iteration, through the orchestrator, on the embedded simulator',
  async setup() {
    return openStack({
      agents: [{ name: 'helper', model: 'claude-haiku-4-5', systemPrompt: 'You answer briefly.', maxTokens: 256, temperature: 0, cacheable: true, version: 1 }],
      provider: { kind: 'simulator', simulator: { latency: 'lognormal:40,250' } },
      orchestrator: { maxConcurrent: 100 },
    });
  },
  // One question in ten repeats, so some calls are answered by the response cache.
  run: (stack, i) => stack.orchestrator.executeAgent('helper', i % 10 === 0 ? 'a question asked before' : `question ${i}`),
  teardown: (stack) => stack.close(),
});

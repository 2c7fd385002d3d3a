import Anthropic from '@anthropic-ai/sdk';
import { createHash } from 'node:crypto';
import { startSimulator, type RunningSimulator } from '../providers/simulator/server.js';
import { parseIntegerOption, parseNumberOption } from '../units.js';
import { defineScenario } from './types.js';

interface ServiceState {
  simulator: RunningSimulator;
  client: Anthropic;
  rounds: number;
}

/** The service's own CPU work: a chain of SHA-256 over the question (`rounds` links). */
export function fingerprintQuestion(text: string, rounds: number): string {
  let digest = text;
  for (let i = 0; i < rounds; i++) digest = createHash('sha256').update(digest).digest('hex');
  return digest;
}

/**
 * A service the way a user writes one, run the way a user's scenario runs it: its own CPU work
 * (`--set rounds=N` hashes, times `--set ownWorkScale=F` for a candidate whose own code is
 * slower), then a call through the Anthropic SDK itself (not agentperf's orchestrator) to the
 * embedded simulator in the same process with no latency, then a little post-processing. The
 * gate's self-test plants its own-code regression here.
 */
export const serviceScenario = defineScenario<ServiceState>({
  name: 'service',
  description: "a user's agent service: its own CPU work, then an SDK call to the zero-latency simulator in this process (--set rounds=N ownWorkScale=F)",
  async setup({ settings }) {
    const rounds = parseIntegerOption('set rounds', settings.rounds ?? '400', 0, 10_000_000);
    const scale = parseNumberOption('set ownWorkScale', settings.ownWorkScale ?? '1', 0.01, 100);
    const simulator = await startSimulator({ latency: { model: { kind: 'fixed', ms: 0 }, perOutputTokenMs: 0 } });
    return { simulator, client: new Anthropic({ apiKey: 'simulator', baseURL: simulator.url, maxRetries: 0 }), rounds: Math.round(rounds * scale) };
  },
  async run(state, i) {
    const tag = fingerprintQuestion(`question ${i}`, state.rounds);
    const message = await state.client.messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 64,
      messages: [{ role: 'user', content: `question ${i} [${tag.slice(0, 8)}]` }],
    });
    return `${tag.slice(0, 8)}: ${message.content.map((block) => (block.type === 'text' ? block.text : '')).join('')}`;
  },
  teardown: (state) => state.simulator.close(),
});

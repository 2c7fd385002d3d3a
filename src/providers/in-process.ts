import { answerFor, messageFor } from './simulator/respond.ts';
import type { MessageParams, MessagesProvider, ProviderResult } from './types.ts';

/**
 * Answers at once, in-process, with the simulator's deterministic responses: the floor for
 * measuring what the orchestrator itself costs (`agentperf bench orchestrator`).
 */
export function createInProcessProvider(): MessagesProvider {
  let sequence = 0;
  return {
    name: 'in-process',
    createMessage(params: MessageParams): Promise<ProviderResult> {
      const id = (++sequence).toString(16);
      return Promise.resolve({ message: messageFor(params, `msg_inproc_${id}`, answerFor(params)), requestId: `req_inproc_${id}` });
    },
    close: () => Promise.resolve(),
  };
}

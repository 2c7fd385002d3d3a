import { answerFor, messageFor } from './simulator/respond.js';
import type { MessageParams, MessagesProvider, ProviderResult } from './types.js';

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
      return Promise.resolve({ ...messageFor(params, `msg_inproc_${id}`, answerFor(params)), _request_id: `req_inproc_${id}` });
    },
    toError: (error) => error,
    close: () => Promise.resolve(),
  };
}

import { answerFor, messageFor } from './simulator/respond.js';
import { eventsOf, streamOfEvents } from './stream-events.js';
import type { CreateMessageOptions, MessageParams, MessagesProvider, ProviderResult, ProviderStream } from './types.js';

/**
 * Answers at once, in-process, with the simulator's deterministic responses: the floor for
 * measuring what the orchestrator itself costs (`agentperf bench orchestrator`).
 */
export function createInProcessProvider(): MessagesProvider {
  let sequence = 0;
  const answer = (params: MessageParams): ProviderResult => {
    const id = (++sequence).toString(16);
    return { ...messageFor(params, `msg_inproc_${id}`, answerFor(params)), _request_id: `req_inproc_${id}` };
  };
  return {
    name: 'in-process',
    createMessage(params: MessageParams): Promise<ProviderResult> {
      return Promise.resolve(answer(params));
    },
    streamMessage(params: MessageParams, options: CreateMessageOptions): ProviderStream {
      const message = answer(params);
      return streamOfEvents(eventsOf(message), message, options.signal);
    },
    toError: (error) => error,
    close: () => Promise.resolve(),
  };
}

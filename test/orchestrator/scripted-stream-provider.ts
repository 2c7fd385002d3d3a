import { messageFor } from '../../src/providers/simulator/respond.ts';
import { eventsOf, streamOfEvents } from '../../src/providers/stream-events.ts';
import type { CreateMessageOptions, MessageParams, MessagesProvider, ProviderResult, ProviderStream, StreamEvent } from '../../src/providers/types.ts';

/** One scripted upstream stream: events, then optionally a failure after `failAfter` of them (0: before the first). */
export interface Script {
  events?: StreamEvent[];
  failAfter?: number;
  error?: unknown;
  /** Stops sending after `stallAfter` events, until aborted. */
  stallAfter?: number;
}

/** A provider whose streams follow a script per call, recording what the orchestrator did with them. */
export class ScriptedStreamProvider implements MessagesProvider {
  readonly name = 'scripted';
  calls = 0;
  returned = 0;
  /** A stream is stalled, waiting for its abort. */
  waiting = false;
  readonly signals: Array<AbortSignal | undefined> = [];
  constructor(private readonly scripts: Script[]) {}

  createMessage(params: MessageParams): Promise<ProviderResult> {
    return Promise.resolve({ ...messageFor(params, 'msg_whole'), _request_id: 'req_whole' });
  }

  streamMessage(params: MessageParams, options: CreateMessageOptions): ProviderStream {
    const script = this.scripts[this.calls++] ?? {};
    this.signals.push(options.signal);
    const message: ProviderResult = { ...messageFor(params, `msg_${this.calls}`), _request_id: `req_${this.calls}` };
    const events = script.events ?? eventsOf(message);
    if (script.failAfter === undefined && script.stallAfter === undefined) {
      const inner = streamOfEvents(events, message, options.signal);
      return {
        [Symbol.asyncIterator]: () => {
          const it = inner[Symbol.asyncIterator]();
          return { next: () => it.next(), return: () => (this.returned++, it.return!()) };
        },
        finalMessage: () => inner.finalMessage(),
      };
    }
    let sent = 0;
    const left = () => this.returned++;
    const stalled = (on: boolean) => (this.waiting = on);
    return {
      [Symbol.asyncIterator]() {
        return {
          async next(): Promise<IteratorResult<StreamEvent>> {
            await new Promise<void>((resolve) => setImmediate(resolve));
            if (options.signal?.aborted) throw options.signal.reason;
            if (sent === script.failAfter) throw script.error;
            if (sent === script.stallAfter) {
              stalled(true);
              // Rejects with the signal's reason, as fetch does.
              await new Promise<void>((_, reject) =>
                options.signal?.addEventListener('abort', () => reject(options.signal!.reason as unknown), { once: true }),
              );
            }
            return { value: events[sent++], done: false };
          },
          async return(): Promise<IteratorResult<StreamEvent>> {
            left();
            return { value: undefined, done: true };
          },
        };
      },
      finalMessage: () => Promise.reject(new Error('no final message')),
    };
  }

  toError = (error: unknown) => error;
  close = () => Promise.resolve();
}

import { AbortedError, UpstreamError } from '../errors.js';
import type { MessageResponse, ProviderResult, ProviderStream, StreamEvent, StreamPacing } from './types.js';

/**
 * A whole message as the Messages API streams it: `message_start` (the message with no content
 * yet and one output token counted, as the API reports it), each content block as start,
 * deltas of at most `chunkChars` characters and stop, then `message_delta` with the stop reason
 * and the final usage, and `message_stop`. The same message comes back out of accumulateEvents.
 */
export function eventsOf(message: MessageResponse, chunkChars = 16): StreamEvent[] {
  // The request id travels in a header, never in the events.
  const { content, stop_reason, stop_sequence, usage, _request_id, ...rest } = message as ProviderResult;
  const events: StreamEvent[] = [
    {
      type: 'message_start',
      message: { ...rest, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: Math.min(1, usage.output_tokens) } },
    },
  ];
  content.forEach((block, index) => {
    if (block.type !== 'text') {
      events.push({ type: 'content_block_start', index, content_block: block }, { type: 'content_block_stop', index });
      return;
    }
    const text = (block as { text: string }).text;
    events.push({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
    for (let at = 0; at < text.length; at += chunkChars)
      events.push({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: text.slice(at, at + chunkChars) } });
    events.push({ type: 'content_block_stop', index });
  });
  events.push({ type: 'message_delta', delta: { stop_reason, stop_sequence }, usage: { output_tokens: usage.output_tokens } }, { type: 'message_stop' });
  return events;
}

/**
 * Builds the whole message from its events, as the SDK's MessageStream does: text deltas
 * appended to their block, `message_delta`'s usage over `message_start`'s (the API's
 * `message_delta` usage is cumulative). Throws on events out of order, which a well-formed
 * stream never sends.
 */
export class MessageAccumulator {
  private message: MessageResponse | undefined;

  add(event: StreamEvent): void {
    if (event.type === 'message_start') {
      this.message = { ...event.message, content: [...event.message.content], usage: { ...event.message.usage } };
      return;
    }
    const message = this.message;
    if (!message) throw new Error(`stream event ${event.type} before message_start`);
    switch (event.type) {
      case 'content_block_start':
        message.content[event.index] = { ...event.content_block };
        break;
      case 'content_block_delta': {
        const block = message.content[event.index] as { type: string; text?: string } | undefined;
        if (!block) throw new Error(`content_block_delta for block ${event.index}, which has not started`);
        if (event.delta.type === 'text_delta') block.text = (block.text ?? '') + (event.delta as { text: string }).text;
        break;
      }
      case 'message_delta':
        message.stop_reason = event.delta.stop_reason;
        message.stop_sequence = event.delta.stop_sequence;
        Object.assign(message.usage, event.usage);
        break;
      default:
        break;
    }
  }

  /** The message so far (whole once `message_stop` was added). */
  get current(): MessageResponse | undefined {
    return this.message;
  }
}

export function accumulateEvents(events: Iterable<StreamEvent>): MessageResponse {
  const accumulator = new MessageAccumulator();
  for (const event of events) accumulator.add(event);
  if (!accumulator.current) throw new Error('a stream without message_start');
  return accumulator.current;
}

/**
 * A ProviderStream over events already known (the in-process provider; test providers), each
 * delivered on its own turn of the event loop as a network stream would be. Leaving early or
 * an aborted `signal` ends it: the iteration stops and `finalMessage()` rejects with
 * AbortedError, as the SDK's stream rejects on abort.
 */
export function streamOfEvents(events: readonly StreamEvent[], final: ProviderResult, signal?: AbortSignal): ProviderStream {
  let state: 'open' | 'done' | 'aborted' = 'open';
  let abortReason: unknown;
  const settled: Array<{ resolve: (m: ProviderResult) => void; reject: (e: unknown) => void }> = [];
  const end = (to: 'done' | 'aborted', reason?: unknown) => {
    if (state !== 'open') return;
    state = to;
    abortReason = reason;
    for (const waiter of settled.splice(0)) {
      if (to === 'done') waiter.resolve(final);
      else waiter.reject(new AbortedError(reason));
    }
  };
  signal?.addEventListener('abort', () => end('aborted', signal.reason), { once: true });
  let next = 0;
  return {
    [Symbol.asyncIterator]() {
      return {
        async next(): Promise<IteratorResult<StreamEvent>> {
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (state === 'aborted') throw new AbortedError(abortReason);
          if (next < events.length) return { value: events[next++], done: false };
          end('done');
          return { value: undefined, done: true };
        },
        // eslint-disable-next-line @typescript-eslint/require-await -- the iterator protocol's return() answers with a promise
        async return(): Promise<IteratorResult<StreamEvent>> {
          end('aborted', new Error('the consumer left the stream'));
          return { value: undefined, done: true };
        },
      };
    },
    finalMessage() {
      if (state === 'done') return Promise.resolve(final);
      if (state === 'aborted') return Promise.reject(new AbortedError(abortReason));
      return new Promise((resolve, reject) => settled.push({ resolve, reject }));
    },
  };
}

/** One event as the Messages API writes it on the wire (`text/event-stream`). */
export function serverSentEvent(event: StreamEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** An upstream stream once its response started: its events, and the request id from its headers. */
export interface OpenedEvents {
  events: AsyncIterable<StreamEvent>;
  requestId?: string | null;
}

/**
 * A ProviderStream over a stream of raw events that builds the whole message itself as they
 * pass (one string append per text delta), so nothing reads ahead of the consumer and no event
 * it was given is changed afterwards. `opening` settles when the response starts: its failure
 * is the first `next()`'s. A stream that ends without `message_stop` was cut short: it fails
 * with a connection error rather than passing for a whole answer.
 */
export function accumulatingStream(opening: Promise<OpenedEvents>): ProviderStream {
  // Nobody may iterate a stream that failed to open; that is not an unhandled rejection.
  opening.catch(() => {});
  const accumulator = new MessageAccumulator();
  let settle!: { resolve: (m: ProviderResult) => void; reject: (e: unknown) => void };
  const final = new Promise<ProviderResult>((resolve, reject) => (settle = { resolve, reject }));
  final.catch(() => {});
  let iterator: AsyncIterator<StreamEvent> | undefined;
  let requestId: string | null | undefined;
  let stopped = false;
  const iterate: AsyncIterator<StreamEvent> = {
    async next(): Promise<IteratorResult<StreamEvent>> {
      try {
        if (!iterator) {
          const opened = await opening;
          requestId = opened.requestId;
          iterator = opened.events[Symbol.asyncIterator]();
        }
        const step = await iterator.next();
        if (step.done) {
          if (!stopped || !accumulator.current)
            throw new UpstreamError({ errorType: 'connection_error', message: 'the stream ended before message_stop: the answer was cut short' });
          settle.resolve(Object.assign(accumulator.current as ProviderResult, { _request_id: requestId ?? null }));
          return step;
        }
        accumulator.add(step.value);
        if (step.value.type === 'message_stop') stopped = true;
        return step;
      } catch (error) {
        settle.reject(error);
        throw error;
      }
    },
    async return(): Promise<IteratorResult<StreamEvent>> {
      settle.reject(new AbortedError('the consumer left the stream'));
      await iterator?.return?.();
      return { value: undefined, done: true };
    },
  };
  return {
    [Symbol.asyncIterator]: () => iterate,
    finalMessage: () => final,
  };
}

/** One caller's reading of a stream; `return(reason)` leaves it, saying why. */
export interface StreamReader {
  next(): Promise<IteratorResult<StreamEvent, undefined>>;
  return(reason?: unknown): Promise<IteratorResult<StreamEvent, undefined>>;
}

/** Events already known, read one by one with no wait between them (a cache hit replayed as a stream). */
export function replayReader(events: readonly StreamEvent[]): StreamReader {
  let next = 0;
  return {
    next: () => Promise.resolve(next < events.length ? { value: events[next++], done: false } : { value: undefined, done: true }),
    return: () => {
      next = events.length;
      return Promise.resolve({ value: undefined, done: true });
    },
  };
}

/**
 * A stored answer replayed as it arrived when it was streamed: the events up to the first delta
 * after `firstChunkMs`, each later delta after its recorded gap (`sleep` on the caller's clock).
 * Deltas beyond the recorded gaps (an answer whose events were cut differently) come at once.
 */
export function pacedReader(events: readonly StreamEvent[], pacing: StreamPacing, sleep: (ms: number) => Promise<void>): StreamReader {
  let next = 0;
  let deltas = 0;
  let left = false;
  return {
    async next() {
      if (left || next >= events.length) return { value: undefined, done: true };
      const event = events[next];
      if (event.type === 'content_block_delta') {
        const wait = deltas === 0 ? pacing.firstChunkMs : (pacing.chunkGapsMs[deltas - 1] ?? 0);
        deltas++;
        if (wait > 0) await sleep(wait);
        if (left) return { value: undefined, done: true };
      }
      next++;
      return { value: event, done: false };
    },
    return() {
      left = true;
      return Promise.resolve({ value: undefined, done: true });
    },
  };
}

import { request, type Dispatcher } from 'undici';
import { HttpStatusError, UpstreamError } from '../errors.js';
import type { StreamEvent } from '../providers/types.js';

/**
 * The events of a server-sent-event response (`agentperf serve`'s stream route, the Messages
 * API): each block's `data` parsed as JSON, pings and comments skipped. An `error` event throws
 * an UpstreamError of its type, as the SDK does. Blocks split across network chunks are put
 * back together.
 */
export async function* serverSentEvents(body: AsyncIterable<Buffer | string>): AsyncGenerator<StreamEvent & { type: string }, void, undefined> {
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of body) {
    buffered += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      let event = '';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data += line.slice(5).trim();
      }
      if (!data || event === 'ping') continue;
      const parsed = JSON.parse(data) as StreamEvent & { type: string; error?: { type?: string; message?: string } };
      if (event === 'error') {
        const type = parsed.error?.type ?? 'api_error';
        throw new UpstreamError({ errorType: type, message: `the stream reported ${type}: ${parsed.error?.message ?? ''}` });
      }
      yield parsed;
    }
  }
}

/** POSTs `body` as JSON to `url` and reads the answer as server-sent events; a status of 400 or more throws HttpStatusError. */
export async function* postForEvents(url: string, body: unknown, dispatcher: Dispatcher): AsyncGenerator<StreamEvent & { type: string }, void, undefined> {
  const response = await request(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, dispatcher });
  if (response.statusCode >= 400) {
    await response.body.dump();
    throw new HttpStatusError(response.statusCode, url);
  }
  try {
    yield* serverSentEvents(response.body);
  } finally {
    // Left early (or failed): the connection goes, the server sees the client leave.
    if (!response.body.destroyed) response.body.destroy();
  }
}

import type { ServerResponse } from 'node:http';
import { UsageError } from '../../errors.js';
import { eventsOf, serverSentEvent } from '../stream-events.js';
import { countTokens } from '../tokens.js';
import type { MessageResponse } from '../types.js';
import { parseLatency, sampleLatencyMs, type LatencyModel, type LatencySettings } from './latency.js';

/** How the simulator paces a streamed answer. */
export interface StreamTiming {
  /** Time to the first token (when `message_start` and the first text are sent), drawn per stream. Default: the latency model. */
  ttft?: LatencyModel;
  /** Output rate: each text delta after the first waits for its tokens at this rate. Default: from `+MS/token`, else no wait. */
  tokensPerSecond?: number;
  /** Mid-stream faults strike after this many events (`ping` not counted). Default 3. */
  faultAfterChunks?: number;
}

/** The faults only a streamed answer has; a whole (non-streamed) answer that draws one is answered normally. */
export type StreamFaultType = 'stream_error' | 'stream_reset' | 'stream_stall' | 'stream_malformed';

/** Characters per text delta: about four tokens, as the API's deltas usually are. */
const DELTA_CHARS = 16;
const DEFAULT_FAULT_AFTER = 3;

/** The pacing of one streamed answer, resolved from the simulator's settings. */
export interface StreamPlan {
  ttftMs: number;
  tokensPerSecond: number;
  faultAfterChunks: number;
}

export function planStream(timing: StreamTiming, latency: LatencySettings, random: () => number): StreamPlan {
  const ttftMs = sampleLatencyMs({ model: timing.ttft ?? latency.model, perOutputTokenMs: 0 }, random, 0);
  const tokensPerSecond = timing.tokensPerSecond ?? (latency.perOutputTokenMs > 0 ? 1000 / latency.perOutputTokenMs : Infinity);
  return { ttftMs, tokensPerSecond, faultAfterChunks: timing.faultAfterChunks ?? DEFAULT_FAULT_AFTER };
}

/** Parses `--ttft` (`fixed:MS`, `uniform:MIN-MAX`, `lognormal:MEDIAN,P99`). */
export function parseTtft(spec: string): LatencyModel {
  const settings = parseLatency(spec, 'ttft');
  if (settings.perOutputTokenMs) throw new UsageError('ttft', `ttft is a time to first token and takes no +MS/token part, got ${JSON.stringify(spec)}`);
  return settings.model;
}

export function parseTokensPerSecond(value: string): number {
  const rate = Number(value);
  if (!Number.isFinite(rate) || rate <= 0)
    throw new UsageError('tokens-per-second', `tokens-per-second must be a positive number, got ${JSON.stringify(value)}`);
  return rate;
}

/** One write of the stream: the events due at `atMs` after the headers. */
interface Step {
  atMs: number;
  text: string;
  events: number;
}

const PING = 'event: ping\ndata: {"type": "ping"}\n\n';

/**
 * The steps of a streamed answer as the Messages API sends them: `message_start`,
 * `content_block_start`, a `ping` and the first text delta at once (the first token), then each
 * further delta when its tokens have been generated at the output rate, then
 * `content_block_stop`, `message_delta` (stop reason, final usage) and `message_stop`.
 */
export function streamSteps(message: MessageResponse, tokensPerSecond: number): Step[] {
  const events = eventsOf(message, DELTA_CHARS);
  const steps: Step[] = [];
  let atMs = 0;
  let sawDelta = false;
  let current: Step = { atMs: 0, text: '', events: 0 };
  for (const event of events) {
    if (event.type === 'content_block_delta' && sawDelta && Number.isFinite(tokensPerSecond)) {
      const tokens = countTokens((event.delta as { text?: string }).text ?? '');
      atMs += (tokens / tokensPerSecond) * 1000;
      if (atMs > current.atMs) {
        steps.push(current);
        current = { atMs, text: '', events: 0 };
      }
    }
    current.text += serverSentEvent(event);
    current.events++;
    if (event.type === 'content_block_start' && current.atMs === 0 && !sawDelta) current.text += PING;
    if (event.type === 'content_block_delta') sawDelta = true;
  }
  steps.push(current);
  return steps;
}

/** The events one fault writes in place of the rest of the stream; undefined for the faults that write nothing. */
function faultText(fault: StreamFaultType): string | undefined {
  if (fault === 'stream_error')
    return 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded (simulated mid-stream)"}}\n\n';
  if (fault === 'stream_malformed') return 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_de\n\n';
  return undefined;
}

/** Cuts `steps` after `chunks` events, whichever step that falls in. */
function cutAfter(steps: Step[], chunks: number): Step[] {
  const cut: Step[] = [];
  // A fault always strikes before the last event (a stream cut after message_stop is whole).
  let left = Math.min(chunks, steps.reduce((sum, step) => sum + step.events, 0) - 1);
  for (const step of steps) {
    if (left <= 0) break;
    if (step.events <= left) {
      cut.push(step);
      left -= step.events;
      continue;
    }
    // Split the step's text after its `left`-th event (a ping is not counted as one).
    const parts = step.text.split(/(?<=\n\n)/).filter((part) => !part.startsWith('event: ping'));
    cut.push({ atMs: step.atMs, text: parts.slice(0, left).join(''), events: left });
    left = 0;
  }
  return cut;
}

/** What the simulator needs to run a stream's timers and count its end. */
export interface StreamHost {
  /** Runs `run` after `delayMs` (at once when it is 0); returns what cancels it. */
  schedule(delayMs: number, run: () => void): () => void;
  onHeaders(): void;
  onEnd(how: 'completed' | 'fault' | 'client_left'): void;
}

/**
 * Writes a streamed answer on `res`, whose headers the caller has not sent: everything waits for
 * the time to first token, then goes out on the output rate's schedule. A fault ends it after
 * `plan.faultAfterChunks` events: an `error` event, a reset connection, a stall (nothing more is
 * sent, the connection stays open until the client gives up) or an event that is not JSON.
 */
export function writeStream(
  res: ServerResponse,
  message: MessageResponse,
  plan: StreamPlan,
  headers: Record<string, string>,
  fault: StreamFaultType | undefined,
  host: StreamHost,
): void {
  let steps = streamSteps(message, plan.tokensPerSecond);
  if (fault) steps = cutAfter(steps, plan.faultAfterChunks);
  let ended = false;
  const end = (how: 'completed' | 'fault' | 'client_left') => {
    if (ended) return;
    ended = true;
    host.onEnd(how);
  };
  let cancelPending: (() => void) | undefined;
  res.once('close', () => {
    cancelPending?.();
    end('client_left');
  });
  const finish = () => {
    if (!fault) {
      res.end();
      end('completed');
      return;
    }
    end('fault');
    // A reset once what was written has left (a destroy in the same turn would drop it): RST, not a clean end.
    if (fault === 'stream_reset') res.write('', () => res.socket?.resetAndDestroy());
    else if (fault !== 'stream_stall') res.end(faultText(fault));
  };
  const writeFrom = (index: number) => {
    if (res.destroyed) return;
    // Every step due by now goes out in one write.
    let text = '';
    let next = index;
    const at = steps[index]?.atMs ?? 0;
    while (next < steps.length && steps[next].atMs <= at) text += steps[next++].text;
    if (text) res.write(text);
    if (next >= steps.length) return finish();
    cancelPending = host.schedule(steps[next].atMs - at, () => writeFrom(next));
  };
  cancelPending = host.schedule(plan.ttftMs, () => {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...headers });
    host.onHeaders();
    writeFrom(0);
  });
}

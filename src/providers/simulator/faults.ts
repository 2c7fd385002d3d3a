import { UsageError } from '../../errors.js';

/**
 * What the simulator can do wrong, one per request:
 * - `429`: rate_limit_error with retry-after headers;
 * - `500`: api_error; `529`: overloaded_error;
 * - `hang`: never answers (the client's timeout must fire);
 * - `reset`: destroys the connection without a response;
 * - `malformed`: a 200 whose body is not valid JSON;
 * - `400`, `401`, `403`, `404`, `408`, `409`, `413`, `422`: that status with the API's error type;
 * - mid-stream, on streamed requests only (a whole answer that draws one is answered normally),
 *   after `faultAfterChunks` events: `stream_error` (an `error` event, `overloaded_error`),
 *   `stream_reset` (the connection destroyed), `stream_stall` (nothing more is sent until the
 *   client gives up), `stream_malformed` (an event whose data is not JSON).
 */
export const FAULT_TYPES = [
  '429',
  '500',
  '529',
  'hang',
  'reset',
  'malformed',
  '400',
  '401',
  '403',
  '404',
  '408',
  '409',
  '413',
  '422',
  'stream_error',
  'stream_reset',
  'stream_stall',
  'stream_malformed',
] as const;
export type FaultType = (typeof FAULT_TYPES)[number];

export interface FaultPlan {
  /** Probability per request of each fault, drawn from the seeded generator. */
  rates: Partial<Record<FaultType, number>>;
  /** Consumed one per request before any rate is drawn; `ok` means no fault for that request. */
  schedule: Array<FaultType | 'ok'>;
  /** What 429 responses ask the client to wait. */
  retryAfterMs: number;
}

export const NO_FAULTS: FaultPlan = { rates: {}, schedule: [], retryAfterMs: 1000 };

function isFaultType(value: string): value is FaultType {
  return (FAULT_TYPES as readonly string[]).includes(value);
}

/** Parses `429:0.05,529:0.01,hang:0.001` (type:probability, comma-separated). */
export function parseFaults(spec: string): FaultPlan {
  const rates: FaultPlan['rates'] = {};
  for (const part of spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [type, rate] = part.split(':');
    const value = Number(rate);
    if (!type || !isFaultType(type) || rate === undefined || !Number.isFinite(value) || value < 0 || value > 1) {
      throw new UsageError(
        'faults',
        `faults must be a comma-separated list of TYPE:RATE with TYPE one of ${FAULT_TYPES.join(', ')} and RATE from 0 to 1, got ${JSON.stringify(part)}`,
      );
    }
    rates[type] = value;
  }
  const total = Object.values(rates).reduce((a, b) => a + b, 0);
  if (total > 1) throw new UsageError('faults', `fault rates must add up to at most 1, got ${total}`);
  return { ...NO_FAULTS, rates };
}

/** Picks the fault (or none) for the next request. */
export function drawFault(plan: FaultPlan, random: () => number): FaultType | undefined {
  const scheduled = plan.schedule.shift();
  if (scheduled !== undefined) return scheduled === 'ok' ? undefined : scheduled;
  let r = random();
  for (const type of FAULT_TYPES) {
    const rate = plan.rates[type];
    if (!rate) continue;
    if (r < rate) return type;
    r -= rate;
  }
  return undefined;
}

/** Whether a fault strikes in the middle of a streamed answer (and only there). */
export function isStreamFault(fault: FaultType | undefined): fault is Extract<FaultType, `stream_${string}`> {
  return fault !== undefined && fault.startsWith('stream_');
}

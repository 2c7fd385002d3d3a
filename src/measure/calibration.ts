/**
 * How fast this machine is, on a fixed reference workload (hashing, JSON, arithmetic: what
 * request paths spend CPU on), timed on the main thread's CPU clock. A baseline stores it; a
 * gate against that baseline measures it again, and when the two machines differ by more than
 * the noise allows, the gate says so and does not judge: a runner of the same class can still
 * be a slower one, and the code must not take the blame.
 */
import { createHash } from 'node:crypto';
import { median } from '../stats/percentiles.js';
import { mainThreadBusyMicros } from './cpu.js';

export interface Calibration {
  /** Main-thread CPU per unit of the reference workload, in µs: the median of the repetitions. */
  usPerUnit: number;
  /** The repetitions' spread: median absolute deviation over the median, in %. */
  spreadPct: number;
  samples: number[];
}

const PAYLOAD = Buffer.alloc(1024, 7);
const RECORD = { id: 'msg_0123456789', model: 'claude-sonnet-5-5', usage: { input_tokens: 41, output_tokens: 186 }, content: [{ type: 'text', text: 'x'.repeat(200) }] };

/** One unit of the reference workload. Returns something so nothing is optimized away. */
function unit(seed: number): number {
  let h = createHash('sha256').update(PAYLOAD).update(String(seed)).digest()[0]!;
  const parsed = JSON.parse(JSON.stringify({ ...RECORD, seed })) as typeof RECORD & { seed: number };
  for (let i = 0; i < 2_000; i++) h = (Math.imul(h, 1_103_515_245) + 12_345 + i) | 0;
  return h ^ parsed.seed;
}

/** Times the reference workload: `repetitions` runs of `units` units each (about 20 ms a run here). */
export function measureCalibration(repetitions = 9, units = 2_000): Calibration {
  let sink = 0;
  for (let i = 0; i < units; i++) sink ^= unit(i); // warm the JIT first
  const samples: number[] = [];
  for (let r = 0; r < repetitions; r++) {
    const start = mainThreadBusyMicros();
    for (let i = 0; i < units; i++) sink ^= unit(i);
    samples.push((mainThreadBusyMicros() - start) / units);
  }
  if (sink === 0.5) samples.push(sink); // never true: keeps `sink` alive
  const m = median(samples);
  return { usPerUnit: m, spreadPct: (100 * median(samples.map((s) => Math.abs(s - m)))) / m, samples };
}

/** The largest difference in machine speed the gate accepts before it refuses to judge, in %. */
export const CALIBRATION_TOLERANCE_PCT = 10;

/**
 * Whether a baseline recorded at `stored` may be judged here, at `current`: not when the
 * reference workload ran faster or slower by more than the tolerance plus three times the
 * combined spread of the two measurements.
 */
export function compareCalibration(stored: Calibration, current: Calibration): { changePct: number; refusal?: string } {
  const changePct = (current.usPerUnit / stored.usPerUnit - 1) * 100;
  const allowed = CALIBRATION_TOLERANCE_PCT + 3 * Math.hypot(stored.spreadPct, current.spreadPct);
  if (Math.abs(changePct) <= allowed) return { changePct };
  return {
    changePct,
    refusal: `this machine ran the reference workload ${Math.abs(changePct).toFixed(1)}% ${changePct > 0 ? 'slower' : 'faster'} than the one that recorded the baseline (${current.usPerUnit.toFixed(2)} against ${stored.usPerUnit.toFixed(2)} µs a unit; at most ${allowed.toFixed(1)}% is accepted), so its blocks cannot be compared with the baseline's; the gate does not judge. Use the paired mode (gate --against), or record the baseline again on this runner`,
  };
}

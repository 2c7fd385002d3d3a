import { UsageError } from '../errors.js';
import { parseDurationMs } from '../units.js';

/**
 * Open-loop arrival patterns. Every pattern is a list of stages, each a linear rate change
 * from `fromRate` to `toRate` (iterations per second) over `durationMs`, as k6's
 * ramping-arrival-rate executor describes load. A constant stage has equal rates.
 */
export interface Stage {
  durationMs: number;
  fromRate: number;
  toRate: number;
}

export type ArrivalPattern =
  | { kind: 'constant'; rate: number; durationMs: number }
  | { kind: 'ramp'; from: number; to: number; durationMs: number }
  | { kind: 'spike'; baseRate: number; spikeRate: number; spikeAtMs: number; spikeDurationMs: number; durationMs: number }
  | { kind: 'step'; stages: Array<{ rate: number; durationMs: number }> }
  | { kind: 'stages'; stages: Stage[] };

export const PATTERN_KINDS = ['constant', 'ramp', 'spike', 'step', 'stages'] as const;

export function stagesOf(pattern: ArrivalPattern): Stage[] {
  switch (pattern.kind) {
    case 'constant':
      return [{ durationMs: pattern.durationMs, fromRate: pattern.rate, toRate: pattern.rate }];
    case 'ramp':
      return [{ durationMs: pattern.durationMs, fromRate: pattern.from, toRate: pattern.to }];
    case 'spike': {
      const { baseRate, spikeRate, spikeAtMs, spikeDurationMs, durationMs } = pattern;
      if (spikeAtMs + spikeDurationMs > durationMs)
        throw new UsageError('spike-at', `the spike (at ${spikeAtMs} ms for ${spikeDurationMs} ms) must end within the duration (${durationMs} ms)`);
      const stages = [
        { durationMs: spikeAtMs, fromRate: baseRate, toRate: baseRate },
        { durationMs: spikeDurationMs, fromRate: spikeRate, toRate: spikeRate },
        { durationMs: durationMs - spikeAtMs - spikeDurationMs, fromRate: baseRate, toRate: baseRate },
      ];
      return stages.filter((s) => s.durationMs > 0);
    }
    case 'step':
      return pattern.stages.map((s) => ({ durationMs: s.durationMs, fromRate: s.rate, toRate: s.rate }));
    case 'stages':
      return pattern.stages.map((s) => ({ ...s }));
  }
}

/**
 * `RATE:DURATION` (constant) or `FROM->TO:DURATION` (linear ramp), comma-separated:
 * `0->100:10s,100:30s,100->0:5s`.
 */
export function parseStages(field: string, text: string): Stage[] {
  const stages = text.split(',').map((part) => {
    const match = /^\s*(\d+(?:\.\d+)?)(?:\s*->\s*(\d+(?:\.\d+)?))?\s*:\s*(\S+)\s*$/.exec(part);
    if (!match)
      throw new UsageError(
        field,
        `${field} must be a comma-separated list of RATE:DURATION or FROM->TO:DURATION stages (e.g. 0->100:10s,100:30s), got ${JSON.stringify(part)}`,
      );
    const fromRate = Number(match[1]);
    const toRate = match[2] === undefined ? fromRate : Number(match[2]);
    return { fromRate, toRate, durationMs: parseDurationMs(field, match[3]) };
  });
  validateStages(field, stages);
  return stages;
}

export const MAX_RATE = 10_000_000;

export function validateStages(field: string, stages: readonly Stage[]): void {
  if (stages.length === 0) throw new UsageError(field, `${field} must have at least one stage`);
  for (const [i, s] of stages.entries()) {
    for (const rate of [s.fromRate, s.toRate]) {
      if (!Number.isFinite(rate) || rate < 0 || rate > MAX_RATE)
        throw new UsageError(field, `${field}: stage ${i + 1} rate must be from 0 to ${MAX_RATE} per second, got ${rate}`);
    }
    if (!Number.isFinite(s.durationMs) || s.durationMs <= 0)
      throw new UsageError(field, `${field}: stage ${i + 1} duration must be positive, got ${s.durationMs} ms`);
  }
}

/**
 * When each iteration of an open-loop run is due. Arrivals follow the cumulative count
 * N(t) = the integral of the rate: iteration k is due when N(t) reaches k, so a constant
 * 100/s gives 0, 10, 20 ms ... and a ramp solves a quadratic per arrival. Pure: no clock.
 */
export class ArrivalSchedule {
  readonly stages: readonly Stage[];
  /** Arrivals due before the end of the last stage. */
  readonly totalArrivals: number;
  readonly totalMs: number;
  private readonly startMs: number[] = [];
  private readonly startCount: number[] = [];
  private cursor = 0;

  constructor(stages: readonly Stage[]) {
    validateStages('stages', stages);
    this.stages = stages;
    let t = 0;
    let n = 0;
    for (const s of stages) {
      this.startMs.push(t);
      this.startCount.push(n);
      t += s.durationMs;
      n += ((s.fromRate + s.toRate) / 2) * (s.durationMs / 1000);
    }
    this.startMs.push(t);
    this.startCount.push(n);
    this.totalMs = t;
    // Arrivals k = 0, 1, ... with N^-1(k) < totalMs; the epsilon absorbs float error in N.
    this.totalArrivals = Math.max(0, Math.ceil(n - 1e-9));
  }

  /** Milliseconds from the start at which iteration `k` (0-based) is due. */
  timeOf(k: number): number {
    if (k < 0 || k >= this.totalArrivals) throw new RangeError(`arrival ${k} is outside 0..${this.totalArrivals - 1}`);
    let i = this.startCount[this.cursor] <= k ? this.cursor : 0;
    while (i < this.stages.length - 1 && this.startCount[i + 1] <= k) i++;
    this.cursor = i;
    const s = this.stages[i];
    const n = k - this.startCount[i];
    if (n <= 0) return this.startMs[i];
    const a0 = s.fromRate / 1000; // per ms
    const a1 = s.toRate / 1000;
    // N(t) = a0 t + c t^2 with c = (a1 - a0) / (2 D); the root in the stable form 2n / (a0 + sqrt(a0^2 + 4cn)).
    const c = (a1 - a0) / (2 * s.durationMs);
    const t = Math.abs(c) < 1e-15 ? n / a0 : (2 * n) / (a0 + Math.sqrt(Math.max(0, a0 * a0 + 4 * c * n)));
    return this.startMs[i] + Math.min(t, s.durationMs);
  }

  /** Arrivals due in [fromMs, toMs). */
  arrivalsBetween(fromMs: number, toMs: number): number {
    return Math.max(0, Math.ceil(this.countAt(toMs) - 1e-9) - Math.ceil(this.countAt(fromMs) - 1e-9));
  }

  private countAt(ms: number): number {
    let i = 0;
    while (i < this.stages.length - 1 && this.startMs[i + 1] <= ms) i++;
    const s = this.stages[i];
    const t = Math.min(Math.max(0, ms - this.startMs[i]), s.durationMs);
    const a0 = s.fromRate / 1000;
    const c = (s.toRate / 1000 - a0) / (2 * s.durationMs);
    return this.startCount[i] + a0 * t + c * t * t;
  }
}

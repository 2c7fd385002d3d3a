import { UsageError } from '../errors.js';
import { parseStages, type Stage } from '../load/patterns.js';

/** One named part of the load plan: a stage of the arrival schedule. */
export interface Phase extends Stage {
  name: string;
}

export interface StandardPlanOptions {
  /** Length of the measured load, all phases together. */
  durationMs: number;
  /** Arrivals per second in the steady phase. */
  rate: number;
  /** Arrivals per second at the spike. */
  spikeRate: number;
}

/**
 * The standard plan: a ramp from a tenth of the rate up to it (25% of the time), a steady
 * phase (45%; the CPU profile is taken here), a spike (15%), and a recovery at the rate (15%)
 * that shows whether latency comes back down.
 */
export function standardPlan({ durationMs, rate, spikeRate }: StandardPlanOptions): Phase[] {
  const part = (share: number) => Math.max(1000, Math.round((durationMs * share) / 1000) * 1000);
  return [
    { name: 'ramp', durationMs: part(0.25), fromRate: rate / 10, toRate: rate },
    { name: 'steady', durationMs: part(0.45), fromRate: rate, toRate: rate },
    { name: 'spike', durationMs: part(0.15), fromRate: spikeRate, toRate: spikeRate },
    { name: 'recovery', durationMs: part(0.15), fromRate: rate, toRate: rate },
  ];
}

/**
 * `--plan 'ramp=20->200:5s,steady=200:10s,spike=800:3s'`: named stages, in the `load --stages`
 * syntax after each `NAME=`. One of them must be called `steady` (the profile is taken there).
 */
export function parsePlan(field: string, text: string): Phase[] {
  const parts = text.split(',').map((p) => p.trim());
  const phases = parts.map((part, i) => {
    const match = /^([a-z][a-z0-9-]{0,31})=(.+)$/.exec(part);
    if (!match)
      throw new UsageError(
        field,
        `${field} phase ${i + 1} must be NAME=RATE:DURATION or NAME=FROM->TO:DURATION (e.g. steady=200:10s), got ${JSON.stringify(part)}`,
      );
    const [stage] = parseStages(field, match[2]);
    return { name: match[1], ...stage };
  });
  if (!phases.some((p) => p.name === 'steady'))
    throw new UsageError(field, `${field} must have a phase named steady (the CPU profile is taken there), got ${phases.map((p) => p.name).join(', ')}`);
  return phases;
}

/** Where each phase starts and ends, in seconds of measurement. */
export function phaseWindows(phases: readonly Phase[]): Array<{ name: string; startS: number; endS: number; fromRate: number; toRate: number }> {
  let at = 0;
  return phases.map((p) => {
    const window = { name: p.name, startS: at / 1000, endS: (at + p.durationMs) / 1000, fromRate: p.fromRate, toRate: p.toRate };
    at += p.durationMs;
    return window;
  });
}

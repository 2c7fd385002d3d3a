import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readJsonFile } from '../config/read.js';
import { AgentperfError, ErrorCode } from '../errors.js';
import { writeFileAtomic } from '../files/atomic.js';
import type { FunctionCost } from '../profiling/analyze.js';
import type { BlockResult, BlockSpec } from '../measure/block.js';
import type { Calibration } from '../measure/calibration.js';
import { fingerprintDifferences, fingerprintId, type Fingerprint } from './fingerprint.js';

/** v2: blocks carry CPU per iteration, and the baseline the machine's calibration. */
export const BASELINE_SCHEMA = 'agentperf.baseline/v2';

/** One scenario's stored distribution of block results, on one class of machine. */
export interface Baseline {
  schema: typeof BASELINE_SCHEMA;
  scenario: string;
  fingerprint: Fingerprint;
  /** The machine's speed on the reference workload when the blocks were run. */
  calibration: Calibration;
  createdAt: string;
  spec: BlockSpec;
  blocks: BlockResult[];
  /** The observability overhead measured with it (throughput lost, in %), for the record. */
  overhead?: { lostPct: number; lowPct: number; highPct: number };
  /** The top functions by self time, to say which grew when the gate fails. */
  profile?: FunctionCost[];
}

export function baselineFile(dir: string, scenario: string, fingerprint: Fingerprint): string {
  return join(dir, `${scenario.replace(/[^a-zA-Z0-9_-]/g, '_')}.${fingerprintId(fingerprint)}.json`);
}

export async function writeBaseline(dir: string, baseline: Baseline): Promise<string> {
  const file = baselineFile(dir, baseline.scenario, baseline.fingerprint);
  await writeFileAtomic(file, `${JSON.stringify(baseline, null, 2)}\n`);
  return file;
}

/** Every baseline of the current format in `dir`; `older` counts the files of an older format it passed over. */
export async function listBaselines(dir: string): Promise<Baseline[] & { older?: number }> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: Baseline[] & { older?: number } = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const parsed = (await readJsonFile(join(dir, name), 'baseline')) as { schema?: unknown } | null;
    if (parsed?.schema === BASELINE_SCHEMA) out.push(parsed as Baseline);
    else if (typeof parsed?.schema === 'string' && parsed.schema.startsWith('agentperf.baseline/')) out.older = (out.older ?? 0) + 1;
  }
  return out;
}

export class FingerprintMismatchError extends AgentperfError {
  constructor(scenario: string, differences: string[]) {
    super(
      ErrorCode.BASELINE_FINGERPRINT,
      `no baseline for scenario ${scenario} on this class of machine; the stored one's class differs in ${differences.join('; ')}. Baselines are never compared across classes: run \`agentperf baseline update\` on a runner of this class, or use the paired mode, \`agentperf gate --against <git-ref>\`, which measures both sides on this machine`,
      { exitCode: 2 },
    );
  }
}

export class NoBaselineError extends AgentperfError {
  constructor(scenario: string, dir: string, older = 0) {
    const why = older > 0 ? ` (${older} stored in an older format, without CPU per iteration or the machine's calibration, so they cannot be compared)` : '';
    super(ErrorCode.NO_BASELINE, `no baseline for scenario ${scenario} in ${dir}${why}: run \`agentperf baseline update --scenario ${scenario}\` first, or use \`agentperf gate --against <git-ref>\``, { exitCode: 2 });
  }
}

/** The baseline for this scenario and fingerprint; a clear error when only others exist. */
export async function findBaseline(dir: string, scenario: string, fingerprint: Fingerprint): Promise<Baseline> {
  const stored = await listBaselines(dir);
  const all = stored.filter((b) => b.scenario === scenario);
  const match = all.find((b) => fingerprintId(b.fingerprint) === fingerprintId(fingerprint));
  if (match) return match;
  if (all.length > 0) throw new FingerprintMismatchError(scenario, fingerprintDifferences(all[0]!.fingerprint, fingerprint));
  throw new NoBaselineError(scenario, dir, stored.older);
}

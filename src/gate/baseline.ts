import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AgentperfError, ErrorCode } from '../errors.js';
import { writeFileAtomic } from '../files/atomic.js';
import type { FunctionCost } from '../profiling/analyze.js';
import type { BlockResult, BlockSpec } from './block.js';
import { fingerprintDifferences, fingerprintId, type Fingerprint } from './fingerprint.js';

export const BASELINE_SCHEMA = 'agentperf.baseline/v1';

/** One scenario's stored distribution of block results, on one machine and software stack. */
export interface Baseline {
  schema: typeof BASELINE_SCHEMA;
  scenario: string;
  fingerprint: Fingerprint;
  createdAt: string;
  spec: Omit<BlockSpec, 'instrumented'>;
  blocks: BlockResult[];
  /** Observability overhead blocks: plain and instrumented throughput, interleaved. */
  overhead?: { plain: number[]; instrumented: number[] };
  /** The top functions by self time, to say which grew when the gate fails. */
  profile?: FunctionCost[];
}

export const DEFAULT_BASELINE_DIR = resolve('baselines');

export function baselineFile(dir: string, scenario: string, fingerprint: Fingerprint): string {
  return join(dir, `${scenario.replace(/[^a-zA-Z0-9_-]/g, '_')}.${fingerprintId(fingerprint)}.json`);
}

export async function writeBaseline(dir: string, baseline: Baseline): Promise<string> {
  const file = baselineFile(dir, baseline.scenario, baseline.fingerprint);
  await writeFileAtomic(file, `${JSON.stringify(baseline, null, 2)}\n`);
  return file;
}

export async function listBaselines(dir: string): Promise<Baseline[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: Baseline[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const parsed = JSON.parse(await readFile(join(dir, name), 'utf8')) as Baseline;
    if (parsed.schema === BASELINE_SCHEMA) out.push(parsed);
  }
  return out;
}

export class FingerprintMismatchError extends AgentperfError {
  constructor(scenario: string, differences: string[]) {
    super(
      ErrorCode.BASELINE_FINGERPRINT,
      `no baseline for scenario ${scenario} on this machine and software; the stored one differs in ${differences.join('; ')}. Baselines are never compared across fingerprints: run \`agentperf baseline update\` here, or use the paired mode, \`agentperf gate --against <git-ref>\`, which measures both sides on this machine`,
      { exitCode: 2 },
    );
  }
}

export class NoBaselineError extends AgentperfError {
  constructor(scenario: string, dir: string) {
    super(ErrorCode.NO_BASELINE, `no baseline for scenario ${scenario} in ${dir}: run \`agentperf baseline update --scenario ${scenario}\` first, or use \`agentperf gate --against <git-ref>\``, { exitCode: 2 });
  }
}

/** The baseline for this scenario and fingerprint; a clear error when only others exist. */
export async function findBaseline(dir: string, scenario: string, fingerprint: Fingerprint): Promise<Baseline> {
  const all = (await listBaselines(dir)).filter((b) => b.scenario === scenario);
  const match = all.find((b) => fingerprintId(b.fingerprint) === fingerprintId(fingerprint));
  if (match) return match;
  if (all.length > 0) throw new FingerprintMismatchError(scenario, fingerprintDifferences(all[0]!.fingerprint, fingerprint));
  throw new NoBaselineError(scenario, dir);
}

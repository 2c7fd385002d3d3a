/**
 * Stored baselines: one file per scenario and class of machine, `<scenario>.<class-id>.json`, in
 * the project's `baselines/` (or the default branch's artifact). Read as untrusted input: the
 * size is checked before reading, the nesting before parsing, prototype keys are refused, and
 * the content against the schema with bounds (src/config/baseline.ts). A malformed baseline is
 * `AP_ERR_BASELINE` (exit 2) naming the file and the field; a file that is not a baseline is
 * passed over with a note.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BASELINE_SCHEMA, BaselineSchema, MAX_BASELINE_BYTES, type Baseline } from '../config/baseline.js';
import { jsonDepth, MAX_JSON_DEPTH } from '../config/json-depth.js';
import { describeIssue } from '../config/read.js';
import { AgentperfError, ErrorCode, ValidationError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic.js';
import { fingerprintDifferences, fingerprintId, type Fingerprint } from './fingerprint.js';

export { BASELINE_SCHEMA, type Baseline } from '../config/baseline.js';

/** A baseline as read from its file: what the report names it by. */
export interface StoredBaseline {
  baseline: Baseline;
  file: string;
  /** SHA-256 of the file's bytes, hex: which baseline judged the candidate, exactly. */
  sha256: string;
}

// Scenario names are letters, digits, _ . and - (config/project.ts), so this only guards.
const safeName = (scenario: string) => scenario.replace(/[^a-zA-Z0-9_.-]/g, '_');

export function baselineFile(dir: string, scenario: string, fingerprint: Fingerprint): string {
  return join(dir, `${safeName(scenario)}.${fingerprintId(fingerprint)}.json`);
}

/**
 * Writes a baseline, checked first against the schema every reader holds it to: a baseline
 * agentperf would refuse to read is never written (a block that completed no iteration, say).
 */
export async function writeBaseline(dir: string, baseline: Baseline): Promise<string> {
  const file = baselineFile(dir, baseline.scenario, baseline.fingerprint);
  const checked = BaselineSchema.safeParse(baseline);
  if (!checked.success) {
    const issue = describeIssue(checked.error, baseline, 'the baseline');
    throw invalid(
      file,
      issue.field,
      `the measured baseline is not one the gate could read, so it was not written: ${issue.message} (a block that completed no iteration needs a longer durationMs)`,
    );
  }
  await writeFileAtomic(file, `${JSON.stringify(baseline, null, 2)}\n`);
  return file;
}

const invalid = (file: string, field: string, message: string) => new ValidationError(ErrorCode.BASELINE, field, `${file}: ${message}`);

/** Keys that would reach an object's prototype if anything ever assigned them. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Reads and checks one baseline file; every problem is `AP_ERR_BASELINE` naming the file and
 * the field. Refused before parsing: a file over `MAX_BASELINE_BYTES`, or nested deeper than
 * JSON input may be.
 */
export async function readBaselineFile(file: string): Promise<StoredBaseline> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (error) {
    throw invalid(file, 'baseline', `cannot read the baseline (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (size > MAX_BASELINE_BYTES)
    throw invalid(file, 'baseline', `a baseline must be at most ${MAX_BASELINE_BYTES / 2 ** 20} MiB, got ${(size / 2 ** 20).toFixed(1)} MiB: not read`);
  const bytes = await readFile(file);
  const text = bytes.toString('utf8');
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) throw invalid(file, 'baseline', `a baseline must be nested at most ${MAX_JSON_DEPTH} deep`);
  let raw: unknown;
  let prototypeKey: string | undefined;
  try {
    raw = JSON.parse(text, (key, value: unknown) => {
      if (PROTOTYPE_KEYS.has(key)) prototypeKey ??= key;
      return value;
    });
  } catch (error) {
    throw invalid(file, 'baseline', `a baseline must be valid JSON (${(error as Error).message})`);
  }
  if (prototypeKey) throw invalid(file, prototypeKey, `${prototypeKey} is not allowed as a key anywhere in a baseline`);
  const schema = (raw as { schema?: unknown } | null)?.schema;
  if (typeof schema === 'string' && schema.startsWith('agentperf.baseline/') && schema !== BASELINE_SCHEMA) {
    throw invalid(
      file,
      'schema',
      `recorded in an older format (${schema}; this agentperf reads ${BASELINE_SCHEMA}): record it again with \`agentperf baseline update\``,
    );
  }
  const parsed = BaselineSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = describeIssue(parsed.error, raw, 'the baseline');
    throw invalid(file, issue.field, issue.message);
  }
  return { baseline: parsed.data, file, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** The baseline files in a directory, by what their names say, and notes on the files passed over. */
interface Listing {
  /** `<scenario>.<class-id>.json`: the scenario part (as in the file name) and the class id. */
  files: Array<{ name: string; scenarioPart: string; classId: string }>;
  notes: string[];
}

async function listDirectory(dir: string): Promise<Listing> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return { files: [], notes: [] };
  }
  const files: Listing['files'] = [];
  const notes: string[] = [];
  for (const name of names.sort()) {
    const match = /^(.+)\.([0-9a-f]{12})\.json$/.exec(name);
    if (match) files.push({ name, scenarioPart: match[1], classId: match[2] });
    else if (name.endsWith('.json')) notes.push(`${name} is not named like a baseline (<scenario>.<class-id>.json): passed over`);
  }
  return { files, notes };
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
  constructor(scenario: string, dir: string) {
    super(
      ErrorCode.NO_BASELINE,
      `no baseline for scenario ${scenario} in ${dir}: run \`agentperf baseline update --scenario ${scenario}\` first, or use \`agentperf gate --against <git-ref>\``,
      { exitCode: 2 },
    );
  }
}

/** What a stored gate reads from a baselines directory: this class's baselines, checked, and notes on what it passed over. */
export interface BaselineSet {
  dir: string;
  baselines: StoredBaseline[];
  notes: string[];
}

/**
 * Every baseline of this class of machine in `dir`, each read and checked in full (a malformed
 * one is an error, exit 2); files of other classes are not read, files not named like
 * baselines are passed over with a note.
 */
export async function readBaselineSet(dir: string, fingerprint: Fingerprint): Promise<BaselineSet> {
  const { files, notes } = await listDirectory(dir);
  const id = fingerprintId(fingerprint);
  const baselines: StoredBaseline[] = [];
  for (const f of files.filter((x) => x.classId === id)) baselines.push(await readNamedBaseline(join(dir, f.name), f.scenarioPart, id));
  return { dir, baselines, notes };
}

/** A baseline file whose content must agree with its name: the scenario and the class. */
async function readNamedBaseline(file: string, scenarioPart: string, classId: string): Promise<StoredBaseline> {
  const stored = await readBaselineFile(file);
  if (safeName(stored.baseline.scenario) !== scenarioPart)
    throw invalid(file, 'scenario', `the file is named for scenario ${scenarioPart} but its scenario field says ${JSON.stringify(stored.baseline.scenario)}`);
  if (fingerprintId(stored.baseline.fingerprint) !== classId)
    throw invalid(file, 'fingerprint', `the file is named for class ${classId} but its fingerprint is of class ${fingerprintId(stored.baseline.fingerprint)}`);
  return stored;
}

/**
 * The error for a scenario with no baseline of this class: the differences from another
 * class's baseline of the scenario when there is one (read only for its fingerprint), else
 * "no baseline".
 */
export async function missingBaselineError(dir: string, scenario: string, fingerprint: Fingerprint): Promise<AgentperfError> {
  const { files } = await listDirectory(dir);
  for (const f of files.filter((x) => x.scenarioPart === safeName(scenario))) {
    try {
      const other = await readBaselineFile(join(dir, f.name));
      return new FingerprintMismatchError(scenario, fingerprintDifferences(other.baseline.fingerprint, fingerprint));
    } catch (error) {
      if ((error as { code?: string }).code === ErrorCode.BASELINE) return error as AgentperfError;
      throw error;
    }
  }
  return new NoBaselineError(scenario, dir);
}

/** Every baseline in `dir` that reads cleanly, of any class (for `baseline show`), and notes on the rest. */
export async function listBaselines(dir: string): Promise<{ baselines: StoredBaseline[]; notes: string[] }> {
  const { files, notes } = await listDirectory(dir);
  const baselines: StoredBaseline[] = [];
  for (const f of files) {
    try {
      baselines.push(await readNamedBaseline(join(dir, f.name), f.scenarioPart, f.classId));
    } catch (error) {
      if ((error as { code?: string }).code !== ErrorCode.BASELINE) throw error;
      notes.push((error as Error).message);
    }
  }
  return { baselines, notes };
}

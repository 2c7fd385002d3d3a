/**
 * Where the gate's policy comes from. A pull request must not set its own gate: the tolerances,
 * `inconclusive`, the gated scenarios and their blocks come from the trusted side, which is
 * - in paired mode, the base ref's tree (its project config, and the policy file at the same
 *   path in it);
 * - in stored mode, the baseline itself (recorded with the policy in effect on the branch that
 *   owns it: the default branch's artifact in the shipped workflow).
 * A pull request that changes the policy is told so, field by field, and the change takes
 * effect once it is merged. `--policy-from working-copy` uses the working copy's policy instead
 * (for trying a policy locally), and the report says so.
 */
import { isAbsolute, relative, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { DEFAULT_POLICY, loadPolicy, type GatePolicy } from '../config/policy.js';
import type { Project } from '../config/project.js';

export type PolicyOrigin = 'base-ref' | 'baseline' | 'defaults' | 'working-copy';

export interface PolicyChange {
  /** The field's path, as written in a policy (`tolerances.p50`, `scenarios[0].vus`). */
  field: string;
  /** Its value in the policy the gate used (the trusted side's), and in the working copy's; absent: not set. */
  trusted?: unknown;
  workingCopy?: unknown;
}

export interface PolicyProvenance {
  origin: PolicyOrigin;
  /** Where exactly: `origin/main (1a2b3c4d5e6f)`, a baseline file, or the working copy's config. */
  where: string;
  /** What the working copy's policy changes against the trusted one (empty: nothing). */
  changes: PolicyChange[];
  /** Files the working copy has that the trusted side does not, and so did not use. */
  notes: string[];
}

/** The differences between two policies, field by field (arrays by index). */
export function policyChanges(trusted: GatePolicy, workingCopy: GatePolicy): PolicyChange[] {
  const out: PolicyChange[] = [];
  const walk = (a: unknown, b: unknown, path: string) => {
    const objectLike = (v: unknown) => v !== null && typeof v === 'object';
    if (objectLike(a) && objectLike(b) && Array.isArray(a) === Array.isArray(b)) {
      const keys = Array.isArray(a)
        ? Array.from({ length: Math.max(a.length, (b as unknown[]).length) }, (_, i) => i)
        : [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
      for (const key of keys) {
        const at = typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;
        walk((a as Record<string | number, unknown>)[key], (b as Record<string | number, unknown>)[key], at);
      }
      return;
    }
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push({ field: path, trusted: a, workingCopy: b });
  };
  walk(trusted, workingCopy, '');
  return out;
}

/** The working copy's policy: its project's (config defaults and `gate` section), then `--policy FILE` over it. */
export function workingCopyPolicy(project: Project, policyFile?: string): Promise<GatePolicy> {
  return loadPolicy(policyFile, project.policy);
}

/**
 * The base ref's policy, in paired mode: the base project's (read from its worktree), and the
 * policy file at the same path in the base's tree when `--policy` names a file of the
 * repository. A policy file outside the repository is not part of any pull request (the CI's
 * own, say): it applies on both sides as given.
 */
export async function baseRefPolicy(
  base: Project,
  repoRoot: string,
  worktreeRoot: string,
  policyFile: string | undefined,
): Promise<{ policy: GatePolicy; notes: string[] }> {
  if (!policyFile) return { policy: base.policy, notes: [] };
  const absolute = resolve(policyFile);
  const inRepo = relative(repoRoot, absolute);
  if (inRepo.startsWith('..') || isAbsolute(inRepo)) return { policy: await loadPolicy(absolute, base.policy), notes: [] };
  const there = resolve(worktreeRoot, inRepo);
  if (!existsSync(there)) return { policy: base.policy, notes: [`${inRepo} does not exist on the base: the policy file takes effect once it is merged`] };
  return { policy: await loadPolicy(there, base.policy), notes: [] };
}

/**
 * The stored mode's trusted policy: the one the baseline was recorded under, its calibration
 * band never wider than the default (the stored file cannot widen it), then a `--policy` file
 * from outside the repository (the CI's own) over it; a policy file inside the repository is
 * the pull request's, and waits for the next baseline.
 */
export async function storedPolicy(
  recorded: GatePolicy,
  repoRoot: string | undefined,
  policyFile: string | undefined,
): Promise<{ policy: GatePolicy; notes: string[] }> {
  const notes: string[] = [];
  let policy = recorded;
  if (recorded.calibration.bandPct > DEFAULT_POLICY.calibration.bandPct) {
    policy = { ...recorded, calibration: { bandPct: DEFAULT_POLICY.calibration.bandPct } };
    notes.push(
      `the baseline's policy asks for a calibration band of ${recorded.calibration.bandPct}%: a stored file cannot widen it past ${DEFAULT_POLICY.calibration.bandPct}% (a --policy file of the CI's own, outside the repository, can)`,
    );
  }
  if (!policyFile) return { policy, notes };
  const absolute = resolve(policyFile);
  const inRepo = repoRoot === undefined ? undefined : relative(repoRoot, absolute);
  if (inRepo !== undefined && !inRepo.startsWith('..') && !isAbsolute(inRepo)) {
    notes.push(`${inRepo} is in the repository: its policy takes effect with the next baseline recorded on the default branch`);
    return { policy, notes };
  }
  return { policy: await loadPolicy(absolute, policy), notes };
}

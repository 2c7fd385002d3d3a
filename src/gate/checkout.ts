/**
 * The other side of a paired gate: a git ref of the user's repository, checked out into a
 * temporary worktree with its dependencies installed, so that its own scenario modules and code
 * can be measured beside the working copy's. Git runs in the user's repository (the project's),
 * never in agentperf's install directory.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { configuredInstall } from '../config/project.js';
import { AgentperfError, ErrorCode, ValidationError } from '../errors.js';

const git = promisify(execFile);

export interface Checkout {
  /** The project's directory inside the worktree (the same place relative to the repository's root). */
  root: string;
  /** The commit checked out. */
  commit: string;
  remove(): Promise<void>;
}

/** The install command a project's lockfile names, and the directory it runs in. */
export interface InstallPlan {
  command: string;
  cwd: string;
  /** The lockfile that chose it, or `--install` / the config. */
  reason: string;
}

/**
 * What installs the project's dependencies: an explicit command, else the package manager whose
 * lockfile is nearest (from the project up to the repository's root): npm ci, pnpm or yarn
 * with a frozen lockfile. Without any lockfile, npm install.
 */
export function installPlan(projectRoot: string, repoRoot: string, explicit?: string): InstallPlan {
  if (explicit) return { command: explicit, cwd: projectRoot, reason: '--install' };
  for (let dir = projectRoot; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'pnpm-lock.yaml'))) return { command: 'pnpm install --frozen-lockfile', cwd: dir, reason: 'pnpm-lock.yaml' };
    if (existsSync(join(dir, 'yarn.lock'))) {
      // Yarn 2+ (a .yarnrc.yml beside the lockfile) says --immutable; Yarn 1 --frozen-lockfile.
      const berry = existsSync(join(dir, '.yarnrc.yml'));
      return { command: berry ? 'yarn install --immutable' : 'yarn install --frozen-lockfile', cwd: dir, reason: 'yarn.lock' };
    }
    if (existsSync(join(dir, 'package-lock.json')) || existsSync(join(dir, 'npm-shrinkwrap.json')))
      return { command: 'npm ci --no-audit --no-fund', cwd: dir, reason: 'package-lock.json' };
    if (dir === repoRoot || dirname(dir) === dir) break;
  }
  return { command: 'npm install --no-audit --no-fund', cwd: projectRoot, reason: 'no lockfile' };
}

/** Runs a shell command to its end; rejects with its whole output when it fails. */
function runShell(command: string, cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, { cwd, shell: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-64 * 1024));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`\`${command}\` in ${cwd} exited with ${code ?? signal}:\n${output.trim()}`)),
    );
  });
}

/** The repository the project lives in: its top-level directory. */
export async function repositoryRoot(projectRoot: string): Promise<string> {
  try {
    return (await git('git', ['rev-parse', '--show-toplevel'], { cwd: projectRoot })).stdout.trim();
  } catch {
    throw new ValidationError(ErrorCode.GIT_REF, 'against', `--against needs a git repository, and ${projectRoot} is not inside one`);
  }
}

/**
 * Checks `ref` of the project's repository out into a temporary worktree and installs its
 * dependencies there. `remove` deletes the worktree; a failure on the way removes it too.
 */
export async function checkoutRef(
  ref: string,
  projectRoot: string,
  options: { install?: string; progress: (line: string) => void },
): Promise<Checkout & { repoRoot: string; worktree: string }> {
  const repoRoot = await repositoryRoot(projectRoot);
  let commit: string;
  try {
    commit = (await git('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd: repoRoot })).stdout.trim();
  } catch {
    throw new ValidationError(ErrorCode.GIT_REF, 'against', `--against ${JSON.stringify(ref)} is not a commit in the repository at ${repoRoot}`);
  }
  const parent = await mkdtemp(join(tmpdir(), 'agentperf-gate-'));
  const worktree = join(parent, 'baseline');
  // Ctrl-C or a CI cancel while the gate runs still removes the worktree, then ends the process
  // as the signal would have (128 + its number).
  const onSignal = (signal: NodeJS.Signals) => {
    void remove().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const remove = async () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await git('git', ['worktree', 'remove', '--force', worktree], { cwd: repoRoot }).catch(() => undefined);
    await rm(parent, { recursive: true, force: true });
    await git('git', ['worktree', 'prune'], { cwd: repoRoot }).catch(() => undefined);
  };
  try {
    await git('git', ['worktree', 'add', '--detach', worktree, commit], { cwd: repoRoot }).catch((error: Error) => {
      throw new AgentperfError(ErrorCode.GIT_REF, `could not check ${ref} out into a worktree: ${error.message.trim()}`, { cause: error, exitCode: 4 });
    });
    const root = join(worktree, relative(repoRoot, projectRoot));
    if (!existsSync(root))
      throw new ValidationError(ErrorCode.GIT_REF, 'against', `${ref} has no ${relative(repoRoot, projectRoot) || '.'} directory to measure`);
    // The ref's own config says how to install it (the trusted side's), never the working copy's.
    const plan = installPlan(root, worktree, options.install ?? (await configuredInstall(root, options.progress)));
    options.progress(`  installing ${ref}'s dependencies in ${plan.cwd}: ${plan.command} (${plan.reason})`);
    try {
      await runShell(plan.command, plan.cwd);
    } catch (error) {
      // The environment failed (a registry, a network, a lockfile out of date): never a regression.
      throw new AgentperfError(ErrorCode.GIT_REF, `could not install ${ref}'s dependencies: ${(error as Error).message}`, { exitCode: 4 });
    }
    return { root, commit, remove, repoRoot, worktree };
  } catch (error) {
    await remove();
    throw error;
  }
}
